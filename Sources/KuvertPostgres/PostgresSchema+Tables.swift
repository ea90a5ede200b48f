import Foundation

/// The tables, one migration each, in the order they run (pg1-pg6, pg9).
extension PostgresSchema {
    /// The schema of SQLite's v1 to v5 in one step: PostgreSQL support began there.
    static let foundation = """
        CREATE TABLE mailingList (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            slug TEXT NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,63}$'),
            name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
            fromAddress TEXT,
            thanksURL TEXT,
            language TEXT NOT NULL CHECK (language IN ('sv', 'en')),
            createdAt TIMESTAMPTZ NOT NULL
        );

        CREATE TABLE termsVersion (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            listId BIGINT NOT NULL REFERENCES mailingList(id) ON DELETE RESTRICT,
            version INTEGER NOT NULL CHECK (version >= 1),
            body TEXT NOT NULL,
            sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
            publishedAt TIMESTAMPTZ NOT NULL,
            UNIQUE (listId, version)
        );
        CREATE FUNCTION kuvert_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'integrity_constraint_violation';
        END $$;
        CREATE TRIGGER termsVersion_immutable BEFORE UPDATE ON termsVersion
            FOR EACH ROW EXECUTE FUNCTION kuvert_refuse('terms versions are never changed');
        CREATE TRIGGER termsVersion_kept BEFORE DELETE ON termsVersion
            FOR EACH ROW EXECUTE FUNCTION kuvert_refuse('terms versions are kept');

        CREATE TABLE subscriber (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            address TEXT NOT NULL,
            addressKey TEXT NOT NULL UNIQUE,
            createdAt TIMESTAMPTZ NOT NULL,
            erasedAt TIMESTAMPTZ
        );

        -- Identity columns never reuse an id, so a link to a deleted
        -- subscription can never point at a newer one.
        CREATE TABLE subscription (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            subscriberId BIGINT NOT NULL REFERENCES subscriber(id) ON DELETE CASCADE,
            listId BIGINT NOT NULL REFERENCES mailingList(id) ON DELETE CASCADE,
            status TEXT NOT NULL CHECK (status IN ('pending', 'active', 'unsubscribed', 'bounced')),
            name TEXT CHECK (name IS NULL OR length(name) <= 200),
            language TEXT NOT NULL CHECK (language IN ('sv', 'en')),
            confirmNonce TEXT NOT NULL CHECK (length(confirmNonce) >= 16),
            requestedAt TIMESTAMPTZ NOT NULL,
            confirmedAt TIMESTAMPTZ,
            endedAt TIMESTAMPTZ,
            updatedAt TIMESTAMPTZ NOT NULL,
            refusalStreak INTEGER NOT NULL DEFAULT 0 CHECK (refusalStreak >= 0),
            UNIQUE (subscriberId, listId),
            CHECK (status != 'active' OR confirmedAt IS NOT NULL)
        );
        CREATE INDEX subscription_list_status ON subscription(listId, status);

        -- The consent ledger is append-only: a row may only lose its network data
        -- (erasure), and rows go only with their subscription.
        CREATE TABLE consentEvent (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            subscriptionId BIGINT NOT NULL REFERENCES subscription(id) ON DELETE CASCADE,
            kind TEXT NOT NULL CHECK (kind IN ('requested', 'confirmed', 'withdrawn')),
            occurredAt TIMESTAMPTZ NOT NULL,
            ip TEXT,
            userAgent TEXT,
            source TEXT NOT NULL,
            termsVersionId BIGINT REFERENCES termsVersion(id),
            termsSHA256 TEXT,
            CHECK (kind != 'confirmed' OR (termsVersionId IS NOT NULL AND termsSHA256 IS NOT NULL))
        );
        CREATE INDEX consentEvent_subscription ON consentEvent(subscriptionId);
        CREATE FUNCTION consentEvent_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.id IS DISTINCT FROM OLD.id OR NEW.subscriptionId IS DISTINCT FROM OLD.subscriptionId
                OR NEW.kind IS DISTINCT FROM OLD.kind OR NEW.occurredAt IS DISTINCT FROM OLD.occurredAt
                OR NEW.source IS DISTINCT FROM OLD.source OR NEW.termsVersionId IS DISTINCT FROM OLD.termsVersionId
                OR NEW.termsSHA256 IS DISTINCT FROM OLD.termsSHA256
                OR (NEW.ip IS DISTINCT FROM OLD.ip AND NEW.ip IS NOT NULL)
                OR (NEW.userAgent IS DISTINCT FROM OLD.userAgent AND NEW.userAgent IS NOT NULL) THEN
                RAISE EXCEPTION 'the consent ledger is append-only' USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER consentEvent_append_only BEFORE UPDATE ON consentEvent
            FOR EACH ROW EXECUTE FUNCTION consentEvent_append_only();
        -- A row goes only with its subscription: in a cascade, the subscription
        -- is already gone when the row's trigger runs.
        CREATE FUNCTION consentEvent_kept() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF EXISTS (SELECT 1 FROM subscription WHERE id = OLD.subscriptionId) THEN
                RAISE EXCEPTION 'the consent ledger is append-only' USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN OLD;
        END $$;
        CREATE TRIGGER consentEvent_kept BEFORE DELETE ON consentEvent
            FOR EACH ROW EXECUTE FUNCTION consentEvent_kept();

        CREATE TABLE campaign (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            listId BIGINT NOT NULL REFERENCES mailingList(id) ON DELETE RESTRICT,
            subject TEXT NOT NULL CHECK (length(subject) BETWEEN 1 AND 300),
            bodyMarkdown TEXT NOT NULL,
            bodyHTML TEXT NOT NULL,
            bodyText TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('draft', 'sending', 'paused', 'cancelled')),
            createdAt TIMESTAMPTZ NOT NULL,
            sendAt TIMESTAMPTZ,
            queuedAt TIMESTAMPTZ,
            -- A campaign keeps its totals when its per-message records go (KUVERT_MESSAGE_RETENTION).
            purgedSent INTEGER NOT NULL DEFAULT 0 CHECK (purgedSent >= 0),
            purgedFailed INTEGER NOT NULL DEFAULT 0 CHECK (purgedFailed >= 0),
            purgedSkipped INTEGER NOT NULL DEFAULT 0 CHECK (purgedSkipped >= 0)
        );

        CREATE TABLE outboxMessage (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('confirmation', 'newsletter', 'test', 'privacy')),
            subscriptionId BIGINT REFERENCES subscription(id) ON DELETE CASCADE,
            status TEXT NOT NULL CHECK (status IN ('queued', 'leased', 'sent', 'failed', 'skipped')),
            dueAt TIMESTAMPTZ NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
            leaseExpiresAt TIMESTAMPTZ,
            -- Who holds a lease (LeaseHolder: host, boot, pid, start time).
            leaseHolder TEXT,
            lastReply TEXT,
            lastReplyCode INTEGER,
            createdAt TIMESTAMPTZ NOT NULL,
            sentAt TIMESTAMPTZ,
            campaignId BIGINT REFERENCES campaign(id),
            testRecipient TEXT,
            CHECK (kind = 'test' OR subscriptionId IS NOT NULL),
            CHECK (status != 'leased' OR leaseExpiresAt IS NOT NULL)
        );
        CREATE INDEX outboxMessage_due ON outboxMessage(status, dueAt);
        CREATE INDEX outboxMessage_subscription ON outboxMessage(subscriptionId);
        -- One message per campaign and subscriber, however often it is sent.
        CREATE UNIQUE INDEX outboxMessage_campaign_subscription
            ON outboxMessage(campaignId, subscriptionId) WHERE campaignId IS NOT NULL;
        CREATE INDEX outboxMessage_finished ON outboxMessage(coalesce(sentAt, dueAt))
            WHERE status IN ('sent', 'failed', 'skipped');

        -- The audit log is append-only; references may only be cleared when the
        -- subscriber or list they point at is erased, and only the per-message
        -- rows of earlier versions ('message.sent') go with message retention.
        CREATE TABLE auditEvent (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            occurredAt TIMESTAMPTZ NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            subscriberId BIGINT REFERENCES subscriber(id) ON DELETE SET NULL,
            listId BIGINT REFERENCES mailingList(id) ON DELETE SET NULL,
            detail TEXT
        );
        CREATE INDEX auditEvent_subscriber ON auditEvent(subscriberId);
        CREATE FUNCTION auditEvent_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.id IS DISTINCT FROM OLD.id OR NEW.occurredAt IS DISTINCT FROM OLD.occurredAt
                OR NEW.actor IS DISTINCT FROM OLD.actor OR NEW.action IS DISTINCT FROM OLD.action
                OR NEW.detail IS DISTINCT FROM OLD.detail
                OR (NEW.subscriberId IS DISTINCT FROM OLD.subscriberId AND NEW.subscriberId IS NOT NULL)
                OR (NEW.listId IS DISTINCT FROM OLD.listId AND NEW.listId IS NOT NULL) THEN
                RAISE EXCEPTION 'the audit log is append-only' USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER auditEvent_append_only BEFORE UPDATE ON auditEvent
            FOR EACH ROW EXECUTE FUNCTION auditEvent_append_only();
        CREATE TRIGGER auditEvent_kept BEFORE DELETE ON auditEvent
            FOR EACH ROW WHEN (OLD.action != 'message.sent')
            EXECUTE FUNCTION kuvert_refuse('the audit log is append-only');

        -- Keyed hashes of erased addresses: an import cannot bring them back.
        CREATE TABLE suppression (
            keyHash TEXT PRIMARY KEY CHECK (length(keyHash) = 64),
            createdAt TIMESTAMPTZ NOT NULL
        );
        """

    /// Request counts that every node shares (`SharedRateLimits`): one row per
    /// keyed hash of a client address or target address, in a fixed window.
    /// Unlogged: counting writes no WAL and waits for no disk, and a crash of
    /// the server, which empties the table, only forgets some counts.
    static let rateLimits = """
        CREATE UNLOGGED TABLE rateWindow (
            keyHash TEXT PRIMARY KEY CHECK (length(keyHash) = 64),
            windowStart TIMESTAMPTZ NOT NULL,
            count INTEGER NOT NULL CHECK (count >= 1)
        );
        CREATE INDEX rateWindow_start ON rateWindow(windowStart);
        """

    /// Fingerprints of the keys nodes sign links with (`SharedKeys`), never the keys.
    static let signingKeys = """
        CREATE TABLE signingKey (
            fingerprint TEXT PRIMARY KEY CHECK (length(fingerprint) = 64),
            lastSeenAt TIMESTAMPTZ NOT NULL
        );
        """

    /// SQLite's v6: what came back to the bounce addresses.
    static let bounces = """
        CREATE TABLE bounceEvent (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            receivedAt TIMESTAMPTZ NOT NULL,
            outboxMessageId BIGINT REFERENCES outboxMessage(id) ON DELETE SET NULL,
            subscriptionId BIGINT REFERENCES subscription(id) ON DELETE CASCADE,
            kind TEXT NOT NULL CHECK (kind IN ('hard', 'soft', 'policy', 'transient', 'complaint', 'auto-reply', 'ignored')),
            status TEXT CHECK (char_length(status) <= 12),
            action TEXT CHECK (char_length(action) <= 32),
            diagnostic TEXT CHECK (char_length(diagnostic) <= 300),
            outcome TEXT NOT NULL CHECK (outcome IN ('bounced', 'counted', 'unsubscribed', 'unchanged'))
        );
        CREATE INDEX bounceEvent_message ON bounceEvent(outboxMessageId);
        CREATE INDEX bounceEvent_subscription ON bounceEvent(subscriptionId);
        CREATE INDEX bounceEvent_received ON bounceEvent(receivedAt);
        """

    static let apiTokens = """
        CREATE TABLE apiToken (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            name TEXT NOT NULL CHECK (char_length(name) BETWEEN 1 AND 64),
            tokenHash TEXT NOT NULL UNIQUE CHECK (char_length(tokenHash) = 64),
            createdAt TIMESTAMPTZ NOT NULL,
            revokedAt TIMESTAMPTZ
        );
        CREATE UNIQUE INDEX apiToken_active_name ON apiToken(name) WHERE revokedAt IS NULL;
        """

    /// SQLite's v7: the API's bearer tokens, kept as hashes.
    /// SQLite's v8: the webhook outbox, filled by triggers in the transaction of each change.
    static let webhooks = """
        CREATE TABLE webhookSetting (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            enabled BOOLEAN NOT NULL
        );
        INSERT INTO webhookSetting (id, enabled) VALUES (1, false);

        CREATE TABLE webhookEvent (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            event TEXT NOT NULL CHECK (event IN (
                'subscription.confirmed', 'subscription.unsubscribed', 'subscription.bounced', 'subscriber.erased')),
            subscriptionId BIGINT NOT NULL,
            listId BIGINT NOT NULL REFERENCES mailingList(id) ON DELETE CASCADE,
            occurredAt TIMESTAMPTZ NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('queued', 'leased', 'sent', 'failed')),
            dueAt TIMESTAMPTZ NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
            leaseExpiresAt TIMESTAMPTZ,
            leaseHolder TEXT,
            lastReply TEXT,
            sentAt TIMESTAMPTZ,
            CHECK (status != 'leased' OR leaseExpiresAt IS NOT NULL)
        );
        CREATE INDEX webhookEvent_due ON webhookEvent(status, dueAt);
        CREATE INDEX webhookEvent_subscription ON webhookEvent(subscriptionId, id);

        -- A confirmation, and the end of an active subscription.
        CREATE FUNCTION subscription_webhook() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF (SELECT enabled FROM webhookSetting WHERE id = 1) THEN
                INSERT INTO webhookEvent (event, subscriptionId, listId, occurredAt, status, dueAt)
                VALUES ('subscription.' || CASE NEW.status WHEN 'active' THEN 'confirmed' ELSE NEW.status END,
                        NEW.id, NEW.listId, NEW.updatedAt, 'queued', NEW.updatedAt);
            END IF;
            RETURN NULL;
        END $$;
        CREATE TRIGGER subscription_webhook AFTER UPDATE OF status ON subscription FOR EACH ROW
        WHEN (NEW.status IS DISTINCT FROM OLD.status
              AND (NEW.status = 'active' OR (OLD.status = 'active' AND NEW.status IN ('unsubscribed', 'bounced'))))
        EXECUTE FUNCTION subscription_webhook();

        -- An erasure, once per subscription the person had.
        CREATE FUNCTION subscriber_erased_webhook() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF (SELECT enabled FROM webhookSetting WHERE id = 1) THEN
                INSERT INTO webhookEvent (event, subscriptionId, listId, occurredAt, status, dueAt)
                SELECT 'subscriber.erased', id, listId, NEW.erasedAt, 'queued', NEW.erasedAt
                FROM subscription WHERE subscriberId = NEW.id;
            END IF;
            RETURN NULL;
        END $$;
        CREATE TRIGGER subscriber_erased_webhook AFTER UPDATE OF erasedAt ON subscriber FOR EACH ROW
        WHEN (OLD.erasedAt IS NULL AND NEW.erasedAt IS NOT NULL)
        EXECUTE FUNCTION subscriber_erased_webhook();
        """

    /// One text per language under one terms version, as SQLite's v11.
    static let termsTranslations = """
        CREATE TABLE termsTranslation (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            termsVersionId BIGINT NOT NULL REFERENCES termsVersion(id) ON DELETE RESTRICT,
            language TEXT NOT NULL CHECK (language IN ('sv', 'en')),
            body TEXT NOT NULL,
            sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
            UNIQUE (termsVersionId, language)
        );
        CREATE TRIGGER termsTranslation_immutable BEFORE UPDATE ON termsTranslation
            FOR EACH ROW EXECUTE FUNCTION kuvert_refuse('terms versions are never changed');
        CREATE TRIGGER termsTranslation_kept BEFORE DELETE ON termsTranslation
            FOR EACH ROW EXECUTE FUNCTION kuvert_refuse('terms versions are kept');
        """

    /// `sql` as single statements (the extended protocol takes one at a time):
    /// split at a semicolon that ends a line, except inside a `$$` function body.
    static func statements(_ sql: String) -> [String] {
        var statements: [String] = []
        var current = ""
        var inBody = false
        for line in sql.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.trimmingCharacters(in: .whitespaces).hasPrefix("--") && current.isEmpty { continue }
            current += line + "\n"
            if line.components(separatedBy: "$$").count % 2 == 0 { inBody.toggle() }
            if !inBody && line.hasSuffix(";") {
                statements.append(current.trimmingCharacters(in: .whitespacesAndNewlines))
                current = ""
            }
        }
        let rest = current.trimmingCharacters(in: .whitespacesAndNewlines)
        if !rest.isEmpty { statements.append(rest) }
        return statements
    }

    /// SQLite's v12: list descriptions, restriction of processing, and the
    /// fields a webhook event names.
    static let descriptionsAndRestriction = """
        ALTER TABLE mailingList ADD COLUMN description TEXT CHECK (description IS NULL OR length(description) <= 500);
        ALTER TABLE subscriber ADD COLUMN restrictedAt TIMESTAMPTZ;
        ALTER TABLE subscriber ADD COLUMN restrictionReason TEXT CHECK (restrictionReason IS NULL OR length(restrictionReason) <= 200);
        ALTER TABLE webhookEvent ADD COLUMN fields TEXT;
        -- Campaigns leave the restricted out: usually nobody, so the set is read from this index.
        CREATE INDEX subscriber_restricted ON subscriber(id) WHERE restrictedAt IS NOT NULL;
        ALTER TABLE webhookEvent DROP CONSTRAINT webhookevent_event_check;
        ALTER TABLE webhookEvent ADD CONSTRAINT webhookevent_event_check CHECK (event IN (
            'subscription.confirmed', 'subscription.unsubscribed', 'subscription.bounced', 'subscriber.erased',
            'subscriber.updated', 'subscriber.restricted', 'subscriber.unrestricted'));
        """

    /// SQLite's v13: the welcome mail, a consent receipt, is an outbox kind.
    static let welcomeMail = """
        ALTER TABLE outboxMessage DROP CONSTRAINT outboxmessage_kind_check;
        ALTER TABLE outboxMessage ADD CONSTRAINT outboxmessage_kind_check
            CHECK (kind IN ('confirmation', 'newsletter', 'test', 'privacy', 'welcome'));
        """

    /// SQLite's v14: a new address waits beside the old one until its owner confirms it.
    static let addressChange = """
        ALTER TABLE subscriber ADD COLUMN newAddress TEXT;
        ALTER TABLE subscriber ADD COLUMN newAddressKey TEXT;
        ALTER TABLE subscriber ADD COLUMN newAddressNonce TEXT CHECK (newAddressNonce IS NULL OR length(newAddressNonce) >= 16);
        ALTER TABLE subscriber ADD COLUMN newAddressRequestedAt TIMESTAMPTZ;
        CREATE INDEX subscriber_new_address ON subscriber(newAddressRequestedAt) WHERE newAddressRequestedAt IS NOT NULL;
        ALTER TABLE outboxMessage DROP CONSTRAINT outboxmessage_kind_check;
        ALTER TABLE outboxMessage ADD CONSTRAINT outboxmessage_kind_check
            CHECK (kind IN ('confirmation', 'newsletter', 'test', 'privacy', 'welcome', 'address', 'address-notice'));
        ALTER TABLE consentEvent DROP CONSTRAINT consentevent_kind_check;
        ALTER TABLE consentEvent ADD CONSTRAINT consentevent_kind_check CHECK (kind IN ('requested', 'confirmed', 'withdrawn', 'rectified'));
        """

    /// SQLite's v15: a list's new terms told or asked again, one open per
    /// list; its mail names it; a lapse is a subscription's end, heard by the webhook.
    static let termsChanges = """
        CREATE TABLE termsChange (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            listId BIGINT NOT NULL REFERENCES mailingList(id) ON DELETE CASCADE,
            kind TEXT NOT NULL CHECK (kind IN ('notice', 'reconsent')),
            termsVersionId BIGINT NOT NULL REFERENCES termsVersion(id),
            previousVersion INTEGER NOT NULL CHECK (previousVersion >= 1),
            summary TEXT CHECK (summary IS NULL OR length(summary) <= 20000),
            lastSubscriptionId BIGINT NOT NULL,
            createdAt TIMESTAMPTZ NOT NULL,
            deadline TIMESTAMPTZ,
            queuedAt TIMESTAMPTZ,
            remindedAt TIMESTAMPTZ,
            closedAt TIMESTAMPTZ,
            CHECK (kind = 'notice' OR deadline IS NOT NULL)
        );
        CREATE UNIQUE INDEX termsChange_open ON termsChange(listId) WHERE closedAt IS NULL;
        ALTER TABLE outboxMessage ADD COLUMN termsChangeId BIGINT REFERENCES termsChange(id);
        CREATE UNIQUE INDEX outboxMessage_terms_change ON outboxMessage(termsChangeId, subscriptionId, kind) WHERE termsChangeId IS NOT NULL;
        CREATE INDEX consentEvent_terms ON consentEvent(termsVersionId, kind) WHERE termsVersionId IS NOT NULL;
        ALTER TABLE outboxMessage DROP CONSTRAINT outboxmessage_kind_check;
        ALTER TABLE outboxMessage ADD CONSTRAINT outboxmessage_kind_check
            CHECK (kind IN ('confirmation', 'newsletter', 'test', 'privacy', 'welcome', 'address', 'address-notice',
                            'notice', 'reconsent', 'reconsent-reminder'));
        ALTER TABLE consentEvent DROP CONSTRAINT consentevent_kind_check;
        ALTER TABLE consentEvent ADD CONSTRAINT consentevent_kind_check
            CHECK (kind IN ('requested', 'confirmed', 'withdrawn', 'rectified', 'notified', 'lapsed'));
        ALTER TABLE subscription DROP CONSTRAINT subscription_status_check;
        ALTER TABLE subscription ADD CONSTRAINT subscription_status_check
            CHECK (status IN ('pending', 'active', 'unsubscribed', 'bounced', 'lapsed'));
        ALTER TABLE webhookEvent DROP CONSTRAINT webhookevent_event_check;
        ALTER TABLE webhookEvent ADD CONSTRAINT webhookevent_event_check CHECK (event IN (
            'subscription.confirmed', 'subscription.unsubscribed', 'subscription.bounced', 'subscriber.erased',
            'subscriber.updated', 'subscriber.restricted', 'subscriber.unrestricted', 'subscription.lapsed'));
        DROP TRIGGER subscription_webhook ON subscription;
        CREATE TRIGGER subscription_webhook AFTER UPDATE OF status ON subscription FOR EACH ROW
        WHEN (NEW.status IS DISTINCT FROM OLD.status
              AND (NEW.status = 'active' OR (OLD.status = 'active' AND NEW.status IN ('unsubscribed', 'bounced', 'lapsed'))))
        EXECUTE FUNCTION subscription_webhook();
        """

    /// Events from sending services' webhooks name themselves (`SQLiteStore`'s v16).
    static let providerEvents = """
        ALTER TABLE bounceEvent ADD COLUMN providerEvent TEXT CHECK (length(providerEvent) BETWEEN 3 AND 300);
        CREATE UNIQUE INDEX bounceEvent_providerEvent ON bounceEvent(providerEvent) WHERE providerEvent IS NOT NULL;
        """
}
