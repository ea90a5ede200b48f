import Foundation
import GRDB
import KuvertCore

extension SQLiteStore {
    /// The newest schema this binary knows (`kuvert --version`).
    public static var schemaVersion: String { migrator.migrations.last ?? "none" }

    /// The schema, one migration per shipped change. A shipped migration is never edited.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-foundation") { db in
            try db.execute(sql: foundationSchema)
        }
        migrator.registerMigration("v2-campaigns") { db in
            try db.execute(sql: campaignSchema)
        }
        migrator.registerMigration("v3-privacy") { db in
            try db.execute(sql: privacySchema)
        }
        migrator.registerMigration("v4-lease-holder-and-refusal-streak") { db in
            try db.execute(sql: leaseHolderAndStreakSchema)
        }
        migrator.registerMigration("v5-message-retention") { db in
            try db.execute(sql: messageRetentionSchema)
        }
        migrator.registerMigration("v6-bounces") { db in
            try db.execute(sql: bounceSchema)
        }
        migrator.registerMigration("v7-api-tokens") { db in
            try db.execute(sql: apiTokenSchema)
        }
        migrator.registerMigration("v8-webhooks") { db in
            try db.execute(sql: webhookSchema)
        }
        migrator.registerMigration("v9-finished-index-without-in-list") { db in
            try db.execute(sql: finishedIndexSchema)
        }
        migrator.registerMigration("v10-checks-without-in-lists") { db in
            try rewriteCheckInLists(db)
        }
        migrator.registerMigration("v11-terms-translations") { db in
            try db.execute(sql: termsTranslationSchema)
        }
        migrator.registerMigration("v12-descriptions-and-restriction") { db in
            try db.execute(sql: descriptionAndRestrictionSchema)
            try rewriteTables(
                db,
                [
                    (
                        "webhookEvent", "event = 'subscriber.erased')",
                        "event = 'subscriber.erased' OR event = 'subscriber.updated'"
                            + " OR event = 'subscriber.restricted' OR event = 'subscriber.unrestricted')"
                    )
                ]
            )
        }
        migrator.registerMigration("v13-welcome-mail") { db in
            try rewriteTables(db, [("outboxMessage", "kind = 'privacy')", "kind = 'privacy' OR kind = 'welcome')")])
        }
        migrator.registerMigration("v14-address-change") { db in
            try db.execute(sql: addressChangeSchema)
            try rewriteTables(
                db,
                [
                    ("outboxMessage", "kind = 'welcome')", "kind = 'welcome' OR kind = 'address' OR kind = 'address-notice')"),
                    ("consentEvent", "kind = 'withdrawn')", "kind = 'withdrawn' OR kind = 'rectified')"),
                ]
            )
        }
        migrator.registerMigration("v15-terms-changes") { db in
            try db.execute(sql: termsChangeSchema)
            try rewriteTables(
                db,
                [
                    (
                        "outboxMessage", "kind = 'address-notice')",
                        "kind = 'address-notice' OR kind = 'notice' OR kind = 'reconsent' OR kind = 'reconsent-reminder')"
                    ),
                    ("consentEvent", "kind = 'rectified')", "kind = 'rectified' OR kind = 'notified' OR kind = 'lapsed')"),
                    ("subscription", "status = 'bounced')", "status = 'bounced' OR status = 'lapsed')"),
                    ("webhookEvent", "event = 'subscriber.unrestricted')", "event = 'subscriber.unrestricted' OR event = 'subscription.lapsed')"),
                ]
            )
        }
        migrator.registerMigration("v16-provider-events") { db in
            try db.execute(sql: providerEventsSchema)
        }
        return migrator
    }

    // Each migration's text follows, in the order they run.

    private static let foundationSchema = """
        CREATE TABLE mailingList (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            slug TEXT NOT NULL UNIQUE
                CHECK (length(slug) BETWEEN 1 AND 64 AND slug NOT GLOB '*[^a-z0-9-]*' AND slug NOT GLOB '-*'),
            name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
            fromAddress TEXT,
            thanksURL TEXT,
            language TEXT NOT NULL CHECK (language IN ('sv', 'en')),
            createdAt TEXT NOT NULL
        ) STRICT;

        CREATE TABLE termsVersion (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            listId INTEGER NOT NULL REFERENCES mailingList(id) ON DELETE RESTRICT,
            version INTEGER NOT NULL CHECK (version >= 1),
            body TEXT NOT NULL,
            sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
            publishedAt TEXT NOT NULL,
            UNIQUE (listId, version)
        ) STRICT;
        CREATE TRIGGER termsVersion_immutable BEFORE UPDATE ON termsVersion
        BEGIN SELECT RAISE(ABORT, 'terms versions are never changed'); END;
        CREATE TRIGGER termsVersion_kept BEFORE DELETE ON termsVersion
        BEGIN SELECT RAISE(ABORT, 'terms versions are kept'); END;

        CREATE TABLE subscriber (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            address TEXT NOT NULL,
            addressKey TEXT NOT NULL UNIQUE,
            createdAt TEXT NOT NULL
        ) STRICT;

        -- AUTOINCREMENT keeps ids from being reused, so a link to a deleted
        -- subscription can never point at a newer one.
        CREATE TABLE subscription (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            subscriberId INTEGER NOT NULL REFERENCES subscriber(id) ON DELETE CASCADE,
            listId INTEGER NOT NULL REFERENCES mailingList(id) ON DELETE CASCADE,
            status TEXT NOT NULL CHECK (status IN ('pending', 'active', 'unsubscribed', 'bounced')),
            name TEXT CHECK (name IS NULL OR length(name) <= 200),
            language TEXT NOT NULL CHECK (language IN ('sv', 'en')),
            confirmNonce TEXT NOT NULL CHECK (length(confirmNonce) >= 16),
            requestedAt TEXT NOT NULL,
            confirmedAt TEXT,
            endedAt TEXT,
            updatedAt TEXT NOT NULL,
            UNIQUE (subscriberId, listId),
            CHECK (status != 'active' OR confirmedAt IS NOT NULL)
        ) STRICT;
        CREATE INDEX subscription_list_status ON subscription(listId, status);

        -- The consent ledger is append-only: a row may only lose its network data
        -- (erasure), and rows go only with their subscription.
        CREATE TABLE consentEvent (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            subscriptionId INTEGER NOT NULL REFERENCES subscription(id) ON DELETE CASCADE,
            kind TEXT NOT NULL CHECK (kind IN ('requested', 'confirmed', 'withdrawn')),
            occurredAt TEXT NOT NULL,
            ip TEXT,
            userAgent TEXT,
            source TEXT NOT NULL,
            termsVersionId INTEGER REFERENCES termsVersion(id),
            termsSHA256 TEXT,
            CHECK (kind != 'confirmed' OR (termsVersionId IS NOT NULL AND termsSHA256 IS NOT NULL))
        ) STRICT;
        CREATE INDEX consentEvent_subscription ON consentEvent(subscriptionId);
        CREATE TRIGGER consentEvent_append_only BEFORE UPDATE ON consentEvent
        WHEN NEW.id IS NOT OLD.id OR NEW.subscriptionId IS NOT OLD.subscriptionId OR NEW.kind IS NOT OLD.kind
            OR NEW.occurredAt IS NOT OLD.occurredAt OR NEW.source IS NOT OLD.source
            OR NEW.termsVersionId IS NOT OLD.termsVersionId OR NEW.termsSHA256 IS NOT OLD.termsSHA256
            OR (NEW.ip IS NOT OLD.ip AND NEW.ip IS NOT NULL)
            OR (NEW.userAgent IS NOT OLD.userAgent AND NEW.userAgent IS NOT NULL)
        BEGIN SELECT RAISE(ABORT, 'the consent ledger is append-only'); END;
        CREATE TRIGGER consentEvent_kept BEFORE DELETE ON consentEvent
        WHEN EXISTS (SELECT 1 FROM subscription WHERE id = OLD.subscriptionId)
        BEGIN SELECT RAISE(ABORT, 'the consent ledger is append-only'); END;

        CREATE TABLE outboxMessage (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL CHECK (kind IN ('confirmation', 'newsletter', 'test', 'privacy')),
            subscriptionId INTEGER REFERENCES subscription(id) ON DELETE CASCADE,
            status TEXT NOT NULL CHECK (status IN ('queued', 'leased', 'sent', 'failed', 'skipped')),
            dueAt TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
            leaseExpiresAt TEXT,
            lastReply TEXT,
            lastReplyCode INTEGER,
            createdAt TEXT NOT NULL,
            sentAt TEXT,
            CHECK (kind = 'test' OR subscriptionId IS NOT NULL),
            CHECK (status != 'leased' OR leaseExpiresAt IS NOT NULL)
        ) STRICT;
        CREATE INDEX outboxMessage_due ON outboxMessage(status, dueAt);
        CREATE INDEX outboxMessage_subscription ON outboxMessage(subscriptionId);

        -- The audit log is append-only; references may only be cleared when the
        -- subscriber or list they point at is erased.
        CREATE TABLE auditEvent (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            occurredAt TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            subscriberId INTEGER REFERENCES subscriber(id) ON DELETE SET NULL,
            listId INTEGER REFERENCES mailingList(id) ON DELETE SET NULL,
            detail TEXT
        ) STRICT;
        CREATE INDEX auditEvent_subscriber ON auditEvent(subscriberId);
        CREATE TRIGGER auditEvent_append_only BEFORE UPDATE ON auditEvent
        WHEN NEW.id IS NOT OLD.id OR NEW.occurredAt IS NOT OLD.occurredAt OR NEW.actor IS NOT OLD.actor
            OR NEW.action IS NOT OLD.action OR NEW.detail IS NOT OLD.detail
            OR (NEW.subscriberId IS NOT OLD.subscriberId AND NEW.subscriberId IS NOT NULL)
            OR (NEW.listId IS NOT OLD.listId AND NEW.listId IS NOT NULL)
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        CREATE TRIGGER auditEvent_kept BEFORE DELETE ON auditEvent
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        """

    private static let campaignSchema = """
        CREATE TABLE campaign (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            listId INTEGER NOT NULL REFERENCES mailingList(id) ON DELETE RESTRICT,
            subject TEXT NOT NULL CHECK (length(subject) BETWEEN 1 AND 300),
            bodyMarkdown TEXT NOT NULL,
            bodyHTML TEXT NOT NULL,
            bodyText TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('draft', 'sending', 'paused', 'cancelled')),
            createdAt TEXT NOT NULL,
            sendAt TEXT,
            queuedAt TEXT
        ) STRICT;

        ALTER TABLE outboxMessage ADD COLUMN campaignId INTEGER REFERENCES campaign(id);
        ALTER TABLE outboxMessage ADD COLUMN testRecipient TEXT;
        -- One message per campaign and subscriber, however often it is sent.
        CREATE UNIQUE INDEX outboxMessage_campaign_subscription
            ON outboxMessage(campaignId, subscriptionId) WHERE campaignId IS NOT NULL;
        """

    private static let privacySchema = """
        -- Keyed hashes of erased addresses: an import cannot bring them back.
        CREATE TABLE suppression (
            keyHash TEXT PRIMARY KEY CHECK (length(keyHash) = 64),
            createdAt TEXT NOT NULL
        ) STRICT;
        ALTER TABLE subscriber ADD COLUMN erasedAt TEXT;
        """

    private static let leaseHolderAndStreakSchema = """
        -- Who holds a lease (LeaseHolder: host, boot, pid, start time), so a
        -- process starting on the same host takes back a dead holder's claims at once.
        ALTER TABLE outboxMessage ADD COLUMN leaseHolder TEXT;
        -- Mailbox refusals in a row (BouncePolicy); a delivery resets it.
        ALTER TABLE subscription ADD COLUMN refusalStreak INTEGER NOT NULL DEFAULT 0 CHECK (refusalStreak >= 0);
        """

    private static let messageRetentionSchema = """
        -- A campaign keeps its totals when its per-message records go (KUVERT_MESSAGE_RETENTION).
        ALTER TABLE campaign ADD COLUMN purgedSent INTEGER NOT NULL DEFAULT 0 CHECK (purgedSent >= 0);
        ALTER TABLE campaign ADD COLUMN purgedFailed INTEGER NOT NULL DEFAULT 0 CHECK (purgedFailed >= 0);
        ALTER TABLE campaign ADD COLUMN purgedSkipped INTEGER NOT NULL DEFAULT 0 CHECK (purgedSkipped >= 0);
        -- The audit log stays append-only, except for the per-message rows of
        -- earlier versions ('message.sent'), which message retention removes with
        -- their messages; what proves processing (per subscription, campaign, person) stays.
        DROP TRIGGER auditEvent_kept;
        CREATE TRIGGER auditEvent_kept BEFORE DELETE ON auditEvent
        WHEN OLD.action != 'message.sent'
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        CREATE INDEX outboxMessage_finished ON outboxMessage(coalesce(sentAt, dueAt)) WHERE status IN ('sent', 'failed', 'skipped');
        """

    private static let bounceSchema = """
        -- What came back to the bounce addresses (BounceEvent), kept as long as
        -- the message records (KUVERT_MESSAGE_RETENTION).
        CREATE TABLE bounceEvent (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            receivedAt TEXT NOT NULL,
            outboxMessageId INTEGER REFERENCES outboxMessage(id) ON DELETE SET NULL,
            subscriptionId INTEGER REFERENCES subscription(id) ON DELETE CASCADE,
            kind TEXT NOT NULL CHECK (kind IN ('hard', 'soft', 'policy', 'transient', 'complaint', 'auto-reply', 'ignored')),
            status TEXT CHECK (length(status) <= 12),
            action TEXT CHECK (length(action) <= 32),
            diagnostic TEXT CHECK (length(diagnostic) <= 300),
            outcome TEXT NOT NULL CHECK (outcome IN ('bounced', 'counted', 'unsubscribed', 'unchanged'))
        ) STRICT;
        CREATE INDEX bounceEvent_message ON bounceEvent(outboxMessageId);
        CREATE INDEX bounceEvent_subscription ON bounceEvent(subscriptionId);
        CREATE INDEX bounceEvent_received ON bounceEvent(receivedAt);
        """

    private static let apiTokenSchema = """
        -- Bearer tokens of /api/v1/, kept as SHA-256 hashes (APIToken); a name
        -- is free again once its token is revoked.
        CREATE TABLE apiToken (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
            tokenHash TEXT NOT NULL UNIQUE CHECK (length(tokenHash) = 64),
            createdAt TEXT NOT NULL,
            revokedAt TEXT
        ) STRICT;
        CREATE UNIQUE INDEX apiToken_active_name ON apiToken(name) WHERE revokedAt IS NULL;
        """

    private static let webhookSchema = """
        -- Whether changes are reported to a webhook. kuvert serve and worker set
        -- it at start from KUVERT_WEBHOOK_URL: nothing queues where nobody listens.
        CREATE TABLE webhookSetting (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            enabled INTEGER NOT NULL CHECK (enabled IN (0, 1))
        ) STRICT;
        INSERT INTO webhookSetting (id, enabled) VALUES (1, 0);

        -- The webhook outbox: one row per reported change, queued by the triggers
        -- below in the transaction of the change, rendered when sent (so an
        -- event of a person erased meanwhile carries no address). The
        -- subscription is a plain number: its events outlive it.
        CREATE TABLE webhookEvent (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            event TEXT NOT NULL CHECK (event IN (
                'subscription.confirmed', 'subscription.unsubscribed', 'subscription.bounced', 'subscriber.erased')),
            subscriptionId INTEGER NOT NULL,
            listId INTEGER NOT NULL REFERENCES mailingList(id) ON DELETE CASCADE,
            occurredAt TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('queued', 'leased', 'sent', 'failed')),
            dueAt TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
            leaseExpiresAt TEXT,
            leaseHolder TEXT,
            lastReply TEXT,
            sentAt TEXT,
            CHECK (status != 'leased' OR leaseExpiresAt IS NOT NULL)
        ) STRICT;
        CREATE INDEX webhookEvent_due ON webhookEvent(status, dueAt);
        CREATE INDEX webhookEvent_subscription ON webhookEvent(subscriptionId, id);

        -- A confirmation, and the end of an active subscription.
        CREATE TRIGGER subscription_webhook AFTER UPDATE OF status ON subscription
        WHEN NEW.status IS NOT OLD.status
            AND (NEW.status = 'active' OR (OLD.status = 'active' AND NEW.status IN ('unsubscribed', 'bounced')))
            AND (SELECT enabled FROM webhookSetting WHERE id = 1) = 1
        BEGIN
            INSERT INTO webhookEvent (event, subscriptionId, listId, occurredAt, status, dueAt)
            VALUES ('subscription.' || CASE NEW.status WHEN 'active' THEN 'confirmed' ELSE NEW.status END,
                    NEW.id, NEW.listId, NEW.updatedAt, 'queued', NEW.updatedAt);
        END;

        -- An erasure, once per subscription the person had.
        CREATE TRIGGER subscriber_erased_webhook AFTER UPDATE OF erasedAt ON subscriber
        WHEN OLD.erasedAt IS NULL AND NEW.erasedAt IS NOT NULL
            AND (SELECT enabled FROM webhookSetting WHERE id = 1) = 1
        BEGIN
            INSERT INTO webhookEvent (event, subscriptionId, listId, occurredAt, status, dueAt)
            SELECT 'subscriber.erased', id, listId, NEW.erasedAt, 'queued', NEW.erasedAt
            FROM subscription WHERE subscriberId = NEW.id;
        END;
        """

    /// The finished messages, as `outboxMessage_finished` and the queries it
    /// serves say it (a query uses a partial index only when it names the
    /// index's condition exactly).
    static let finishedCondition = "(status = 'sent' OR status = 'failed' OR status = 'skipped')"

    private static let finishedIndexSchema = """
        -- SQLite 3.40 evaluates an IN list of three or more by building a
        -- temporary b-tree, every time: a delivery record evaluated this index's
        -- condition for the old row and the new, and the b-trees were a quarter
        -- of its cost. The same condition with OR compares in place.
        DROP INDEX outboxMessage_finished;
        CREATE INDEX outboxMessage_finished ON outboxMessage(coalesce(sentAt, dueAt)) WHERE \(finishedCondition);
        """

    /// The tables' CHECK constraints with each `column IN ('a', 'b', …)` written
    /// as `(column = 'a' OR column = 'b' …)`, which means the same (NULL
    /// included) and which SQLite 3.40 compares in place, where an IN list of
    /// three or more builds a temporary b-tree every time a row is checked: four
    /// for every new subscription, one for every claimed and every recorded
    /// message. A CHECK constraint changes nothing on disk, so the table's SQL is
    /// rewritten in place, as SQLite's documentation describes for such changes
    /// ("Making Other Kinds Of Table Schema Changes"), and the store checked after.
    static func rewriteCheckInLists(_ db: Database) throws {
        let tables = try Row.fetchAll(db, sql: "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND sql LIKE '%IN (%'")
        let rewritten = tables.compactMap { row -> (name: String, sql: String)? in
            let sql: String = row["sql"]
            let changed = withoutInLists(sql)
            return changed == sql ? nil : (row["name"], changed)
        }
        try writeTableSQL(db, rewritten)
    }

    /// Widens CHECK constraints in place, as `rewriteCheckInLists` does: in
    /// each table's SQL, the one occurrence of `old` becomes `new`.
    /// - Throws: `KuvertError.configuration` when `old` is not there exactly once.
    static func rewriteTables(_ db: Database, _ changes: [(table: String, old: String, new: String)]) throws {
        let rewritten = try changes.map { change -> (name: String, sql: String) in
            let sql = try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", arguments: [change.table]) ?? ""
            guard sql.ranges(of: change.old).count == 1 else {
                throw KuvertError.configuration("The store's table \(change.table) is not as this migration expects.")
            }
            return (change.table, sql.replacing(change.old, with: change.new))
        }
        try writeTableSQL(db, rewritten)
    }

    private static func writeTableSQL(_ db: Database, _ rewritten: [(name: String, sql: String)]) throws {
        guard !rewritten.isEmpty else { return }
        let version = try Int.fetchOne(db, sql: "PRAGMA schema_version") ?? 0
        try db.execute(sql: "PRAGMA writable_schema = ON")
        for table in rewritten {
            try db.execute(sql: "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?", arguments: [table.sql, table.name])
        }
        try db.execute(sql: "PRAGMA schema_version = \(version + 1)")
        try db.execute(sql: "PRAGMA writable_schema = OFF")
        let problems = try String.fetchAll(db, sql: "PRAGMA quick_check")
        guard problems == ["ok"] else {
            throw KuvertError.configuration("The store's check after rewriting its constraints failed: \(problems.joined(separator: "; "))")
        }
    }

    /// `column IN ('a', 'b')` as `(column = 'a' OR column = 'b')`, for lists of
    /// quoted words and of integers.
    static func withoutInLists(_ sql: String) -> String {
        let pattern = #/(?<column>[A-Za-z_]+) IN \(\s*(?<items>(?:'[a-z.-]*'|[0-9]+)(?:,\s*(?:'[a-z.-]*'|[0-9]+))*)\s*\)/#
        return sql.replacing(pattern) { match in
            let column = String(match.output.column)
            // `x NOT IN (…)` names no column here: left as it is.
            guard column.uppercased() != "NOT" else { return String(match.output.0) }
            let items = match.output.items.split(separator: ",").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            return "(" + items.map { "\(column) = \($0)" }.joined(separator: " OR ") + ")"
        }
    }

    /// One text per language under one terms version: the list's own language
    /// is the version's body; others are here, kept as the versions are.
    static let termsTranslationSchema = """
        CREATE TABLE termsTranslation (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            termsVersionId INTEGER NOT NULL REFERENCES termsVersion(id) ON DELETE RESTRICT,
            language TEXT NOT NULL CHECK (language = 'sv' OR language = 'en'),
            body TEXT NOT NULL,
            sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
            UNIQUE (termsVersionId, language)
        ) STRICT;
        CREATE TRIGGER termsTranslation_immutable BEFORE UPDATE ON termsTranslation
        BEGIN SELECT RAISE(ABORT, 'terms versions are never changed'); END;
        CREATE TRIGGER termsTranslation_kept BEFORE DELETE ON termsTranslation
        BEGIN SELECT RAISE(ABORT, 'terms versions are kept'); END;
        """

    /// A description per list for the manage page, and restriction of
    /// processing per person (Art. 18): while `restrictedAt` is set nothing is
    /// mailed to them. Webhook events may name the fields a change touched; the
    /// store queues the subscriber's events itself, at the time of the change.
    static let descriptionAndRestrictionSchema = """
        ALTER TABLE mailingList ADD COLUMN description TEXT CHECK (description IS NULL OR length(description) <= 500);
        ALTER TABLE subscriber ADD COLUMN restrictedAt TEXT;
        ALTER TABLE subscriber ADD COLUMN restrictionReason TEXT CHECK (restrictionReason IS NULL OR length(restrictionReason) <= 200);
        ALTER TABLE webhookEvent ADD COLUMN fields TEXT;
        -- Campaigns leave the restricted out: usually nobody, so the set is read from this index.
        CREATE INDEX subscriber_restricted ON subscriber(id) WHERE restrictedAt IS NOT NULL;
        """

    /// A new address waits beside the old one until its owner confirms it.
    static let addressChangeSchema = """
        ALTER TABLE subscriber ADD COLUMN newAddress TEXT;
        ALTER TABLE subscriber ADD COLUMN newAddressKey TEXT;
        ALTER TABLE subscriber ADD COLUMN newAddressNonce TEXT CHECK (newAddressNonce IS NULL OR length(newAddressNonce) >= 16);
        ALTER TABLE subscriber ADD COLUMN newAddressRequestedAt TEXT;
        -- Retention forgets a new address nobody confirmed: usually none wait, so they are read from this index.
        CREATE INDEX subscriber_new_address ON subscriber(newAddressRequestedAt) WHERE newAddressRequestedAt IS NOT NULL;
        """

    /// A list's new terms told (a notice) or asked again (a re-consent): one
    /// open per list; its mail names it. A lapse is a subscription's end, so
    /// the webhook hears it as it hears the others.
    static let termsChangeSchema = """
        CREATE TABLE termsChange (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            listId INTEGER NOT NULL REFERENCES mailingList(id) ON DELETE CASCADE,
            kind TEXT NOT NULL CHECK (kind = 'notice' OR kind = 'reconsent'),
            termsVersionId INTEGER NOT NULL REFERENCES termsVersion(id),
            previousVersion INTEGER NOT NULL CHECK (previousVersion >= 1),
            summary TEXT CHECK (summary IS NULL OR length(summary) <= 20000),
            lastSubscriptionId INTEGER NOT NULL,
            createdAt TEXT NOT NULL,
            deadline TEXT,
            queuedAt TEXT,
            remindedAt TEXT,
            closedAt TEXT,
            CHECK (kind = 'notice' OR deadline IS NOT NULL)
        ) STRICT;
        CREATE UNIQUE INDEX termsChange_open ON termsChange(listId) WHERE closedAt IS NULL;
        ALTER TABLE outboxMessage ADD COLUMN termsChangeId INTEGER REFERENCES termsChange(id);
        CREATE UNIQUE INDEX outboxMessage_terms_change ON outboxMessage(termsChangeId, subscriptionId, kind) WHERE termsChangeId IS NOT NULL;
        CREATE INDEX consentEvent_terms ON consentEvent(termsVersionId, kind) WHERE termsVersionId IS NOT NULL;

        DROP TRIGGER subscription_webhook;
        CREATE TRIGGER subscription_webhook AFTER UPDATE OF status ON subscription
        WHEN NEW.status IS NOT OLD.status
            AND (NEW.status = 'active' OR (OLD.status = 'active' AND (NEW.status = 'unsubscribed' OR NEW.status = 'bounced' OR NEW.status = 'lapsed')))
            AND (SELECT enabled FROM webhookSetting WHERE id = 1) = 1
        BEGIN
            INSERT INTO webhookEvent (event, subscriptionId, listId, occurredAt, status, dueAt)
            VALUES ('subscription.' || CASE NEW.status WHEN 'active' THEN 'confirmed' ELSE NEW.status END,
                    NEW.id, NEW.listId, NEW.updatedAt, 'queued', NEW.updatedAt);
        END;
        """

    /// Events from sending services' webhooks name themselves, so that the same
    /// event delivered twice is stored once.
    static let providerEventsSchema = """
        ALTER TABLE bounceEvent ADD COLUMN providerEvent TEXT CHECK (length(providerEvent) BETWEEN 3 AND 300);
        CREATE UNIQUE INDEX bounceEvent_providerEvent ON bounceEvent(providerEvent) WHERE providerEvent IS NOT NULL;
        """
}
