/// The PostgreSQL schema: the same tables, checks and append-only rules as the
/// SQLite store's (`AppDatabase+Migrations.swift`), one migration per shipped
/// change, never edited once shipped. Unquoted names fold to lower case in
/// PostgreSQL, so the store's SQL uses the same camelCase names as SQLite's.
import Foundation

enum PostgresSchema {
    /// Identifiers and SQL, in order. Each runs in the transaction that holds the migration lock.
    static let migrations: [(identifier: String, sql: String)] = [
        ("pg1-foundation", foundation),
        ("pg2-rate-limits", rateLimits),
        ("pg3-signing-keys", signingKeys),
        ("pg4-bounces", bounces),
        ("pg5-api-tokens", apiTokens),
        ("pg6-webhooks", webhooks),
        ("pg7-request-functions", requestFunctions),
        ("pg8-durable-delivery-records", durableDeliveryRecords),
        ("pg9-terms-translations", termsTranslations),
    ]

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

    /// The two statements every request and every message runs, as functions:
    /// one round trip each instead of one per statement, and the server keeps
    /// their plans (a PL/pgSQL function's statements are prepared once per
    /// connection) instead of parsing and planning them on every call. Each is
    /// what `subscribe` and `store(_:_:bounceLimit:now:)` did in Swift before,
    /// statement for statement; a later change replaces them in a migration of its own.
    private static let requestFunctions = """
        -- A subscription request (`SubscriptionStore.subscribe`). The person's
        -- row is inserted or locked first: two nodes taking the same address at
        -- once go one after the other, and each later statement (a snapshot of
        -- its own) sees what the one before committed.
        CREATE FUNCTION kuvert_subscribe(
            p_slug TEXT, p_address TEXT, p_key TEXT, p_name TEXT, p_language TEXT, p_nonce TEXT,
            p_now TIMESTAMPTZ, p_due TIMESTAMPTZ, p_resend_seconds DOUBLE PRECISION,
            p_actor TEXT, p_ip TEXT, p_user_agent TEXT, p_source TEXT,
            OUT outcome TEXT, OUT subscription_id BIGINT
        ) LANGUAGE plpgsql AS $$
        DECLARE
            v_list BIGINT;
            v_list_language TEXT;
            v_subscriber BIGINT;
            v_status TEXT;
            v_requested TIMESTAMPTZ;
            v_language TEXT;
            v_underway BOOLEAN;
        BEGIN
            SELECT id, language INTO v_list, v_list_language FROM mailingList
            WHERE p_slug IS NULL OR slug = p_slug ORDER BY id LIMIT 1;
            IF NOT FOUND THEN
                outcome := 'no-list';
                RETURN;
            END IF;
            INSERT INTO subscriber (address, addressKey, createdAt) VALUES (p_address, p_key, p_now)
            ON CONFLICT (addressKey) DO UPDATE SET addressKey = EXCLUDED.addressKey
            RETURNING id INTO v_subscriber;
            SELECT s.status, s.requestedAt, s.language,
                   EXISTS (SELECT 1 FROM outboxMessage m WHERE m.subscriptionId = s.id AND m.kind = 'confirmation'
                           AND m.status IN ('queued', 'leased', 'sent'))
            INTO v_status, v_requested, v_language, v_underway
            FROM subscription s WHERE s.subscriberId = v_subscriber AND s.listId = v_list;
            IF v_status = 'active'
               OR (v_status = 'pending' AND extract(epoch FROM p_now - v_requested) < p_resend_seconds AND v_underway) THEN
                -- Active, or a confirmation on its way or gone within the window: nothing more.
                INSERT INTO auditEvent (occurredAt, actor, action, subscriberId, listId, detail)
                VALUES (p_now, p_actor, 'subscription.repeated', v_subscriber, v_list, v_status);
                outcome := v_status;
                RETURN;
            END IF;
            -- New; pending again after the resend window with the same link; or a
            -- new double opt-in after it ended, whose new nonce retires older links.
            INSERT INTO subscription (subscriberId, listId, status, name, language, confirmNonce, requestedAt, updatedAt)
            VALUES (v_subscriber, v_list, 'pending', p_name, coalesce(p_language, v_language, v_list_language),
                    p_nonce, p_now, p_now)
            ON CONFLICT (subscriberId, listId) DO UPDATE SET
                confirmNonce = CASE WHEN subscription.status = 'pending' THEN subscription.confirmNonce
                                    ELSE EXCLUDED.confirmNonce END,
                status = 'pending', requestedAt = EXCLUDED.requestedAt, confirmedAt = NULL, endedAt = NULL,
                name = EXCLUDED.name, language = EXCLUDED.language, updatedAt = EXCLUDED.updatedAt
            RETURNING id INTO subscription_id;
            INSERT INTO consentEvent (subscriptionId, kind, occurredAt, ip, userAgent, source)
            VALUES (subscription_id, 'requested', p_now, p_ip, p_user_agent, p_source);
            INSERT INTO outboxMessage (kind, subscriptionId, status, dueAt, attempts, createdAt)
            VALUES ('confirmation', subscription_id, 'queued', p_due, 0, p_now);
            INSERT INTO auditEvent (occurredAt, actor, action, subscriberId, listId, detail)
            VALUES (p_now, p_actor, 'subscription.requested', v_subscriber, v_list, p_source);
            outcome := 'queued';
        END $$;

        -- Requests that arrived together, or one alone (`PostgresStore.intake`,
        -- a `Coalescer`), one after the other in one transaction, answered in
        -- order: the only way the store calls `kuvert_subscribe`. An empty
        -- text stands for no value (a request's list, name, language, address
        -- or user agent): arrays carry no NULLs from the client.
        CREATE FUNCTION kuvert_subscribe_many(
            p_slug TEXT[], p_address TEXT[], p_key TEXT[], p_name TEXT[], p_language TEXT[], p_nonce TEXT[],
            p_now TIMESTAMPTZ[], p_due TIMESTAMPTZ[], p_resend_seconds DOUBLE PRECISION[],
            p_actor TEXT[], p_ip TEXT[], p_user_agent TEXT[], p_source TEXT[],
            OUT outcome TEXT, OUT subscription_id BIGINT
        ) RETURNS SETOF record LANGUAGE plpgsql AS $$
        BEGIN
            FOR i IN 1 .. coalesce(array_length(p_key, 1), 0) LOOP
                SELECT k.outcome, k.subscription_id INTO outcome, subscription_id
                FROM kuvert_subscribe(
                    nullif(p_slug[i], ''), p_address[i], p_key[i], nullif(p_name[i], ''), nullif(p_language[i], ''),
                    p_nonce[i], p_now[i], p_due[i], p_resend_seconds[i], p_actor[i], nullif(p_ip[i], ''),
                    nullif(p_user_agent[i], ''), p_source[i]) k;
                RETURN NEXT;
            END LOOP;
        END $$;

        -- What became of a leased message (`DeliveryStore.recordDelivery`), and
        -- the bounce policy's effect on its subscription: 'reset' (a delivery:
        -- the count of refusals in a row goes back to 0), 'count' (a refusal: one
        -- more, bounced at p_bounce_limit), 'bounce' (bounced now) or 'none'.
        -- Bookkeeping for at-least-once delivery, committed without waiting for
        -- the disk, as on SQLite (`synchronous = NORMAL`): a crash of the server
        -- can undo the last fraction of a second of them, and their messages then
        -- go again. What a person was told is never committed so.
        CREATE FUNCTION kuvert_record_delivery(
            p_id BIGINT, p_status TEXT, p_reply TEXT, p_code INTEGER, p_due TIMESTAMPTZ, p_sent TIMESTAMPTZ,
            p_attempts INTEGER, p_effect TEXT, p_bounce_limit INTEGER, p_now TIMESTAMPTZ
        ) RETURNS VOID LANGUAGE plpgsql AS $$
        DECLARE
            v_kind TEXT;
            v_subscription BIGINT;
            v_subscriber BIGINT;
            v_list BIGINT;
            v_status TEXT;
            v_streak INTEGER;
            v_bounces BOOLEAN;
        BEGIN
            PERFORM set_config('synchronous_commit', 'off', true);
            UPDATE outboxMessage
            SET status = p_status, leaseExpiresAt = NULL, leaseHolder = NULL, lastReply = p_reply, lastReplyCode = p_code,
                dueAt = coalesce(p_due, dueAt), sentAt = p_sent, attempts = attempts + p_attempts
            WHERE id = p_id
            RETURNING kind, subscriptionId INTO v_kind, v_subscription;
            IF NOT FOUND THEN
                RETURN;
            END IF;
            -- A send that concerns one person's subscription stays in the audit
            -- log; a newsletter is proven by its campaign's events and totals.
            IF p_status = 'sent' AND v_kind IN ('confirmation', 'privacy') THEN
                SELECT subscriberId, listId INTO v_subscriber, v_list FROM subscription WHERE id = v_subscription;
                INSERT INTO auditEvent (occurredAt, actor, action, subscriberId, listId, detail)
                VALUES (p_now, 'worker', v_kind || '.sent', v_subscriber, v_list, v_kind || ' #' || p_id);
            END IF;
            IF v_subscription IS NULL OR p_effect = 'none' THEN
                RETURN;
            ELSIF p_effect = 'reset' THEN
                -- Most deliveries find the count at 0 already: nothing is written then.
                UPDATE subscription SET refusalStreak = 0 WHERE id = v_subscription AND refusalStreak != 0;
                RETURN;
            END IF;
            SELECT status, refusalStreak INTO v_status, v_streak FROM subscription WHERE id = v_subscription FOR UPDATE;
            IF NOT FOUND THEN
                RETURN;
            END IF;
            v_bounces := v_status IN ('pending', 'active') AND (p_effect = 'bounce' OR v_streak + 1 >= p_bounce_limit);
            UPDATE subscription
            SET refusalStreak = refusalStreak + 1,
                status = CASE WHEN v_bounces THEN 'bounced' ELSE status END,
                endedAt = CASE WHEN v_bounces THEN p_now ELSE endedAt END,
                updatedAt = CASE WHEN v_bounces THEN p_now ELSE updatedAt END
            WHERE id = v_subscription
            RETURNING subscriberId, listId INTO v_subscriber, v_list;
            IF v_bounces THEN
                INSERT INTO auditEvent (occurredAt, actor, action, subscriberId, listId, detail)
                VALUES (p_now, 'worker', 'subscription.bounced', v_subscriber, v_list,
                        CASE WHEN p_effect = 'bounce' THEN 'the mailbox does not exist'
                             ELSE p_bounce_limit || ' permanent failures in a row' END);
            END IF;
        END $$;

        -- Records that arrived together, or one alone (`PostgresStore.records`),
        -- in order, in one transaction. A retry's time and a reply's code are read only where
        -- they apply (arrays carry no NULLs from the client: -1 is no code).
        CREATE FUNCTION kuvert_record_deliveries(
            p_id BIGINT[], p_status TEXT[], p_reply TEXT[], p_code INTEGER[], p_due TIMESTAMPTZ[],
            p_attempts INTEGER[], p_effect TEXT[], p_bounce_limit INTEGER[], p_now TIMESTAMPTZ[]
        ) RETURNS VOID LANGUAGE plpgsql AS $$
        BEGIN
            FOR i IN 1 .. coalesce(array_length(p_id, 1), 0) LOOP
                PERFORM kuvert_record_delivery(
                    p_id[i], p_status[i], p_reply[i], nullif(p_code[i], -1),
                    CASE WHEN p_status[i] = 'queued' THEN p_due[i] END, CASE WHEN p_status[i] = 'sent' THEN p_now[i] END,
                    p_attempts[i], p_effect[i], p_bounce_limit[i], p_now[i]);
            END LOOP;
        END $$;
        """

    /// `kuvert_record_delivery` as pg7 made it, committed as everything else is
    /// (`synchronous_commit = on`). With `off`, a `kill -9` of the server undid
    /// records it had confirmed (up to three WAL-writer rounds, 600 ms): 3, 10
    /// and 6 messages went twice over three crashes with two workers of four
    /// sessions each, past the window of one message per session. SQLite's
    /// `synchronous = NORMAL` loses nothing when a process dies; PostgreSQL's
    /// `off` does, so records there wait for the WAL like the rest. The
    /// function's text is pg7's without its first statement.
    private static let durableDeliveryRecords: String = {
        let start = requestFunctions.range(of: "CREATE FUNCTION kuvert_record_delivery(")!
        let end = requestFunctions.range(of: "END $$;", range: start.upperBound..<requestFunctions.endIndex)!
        return String(requestFunctions[start.lowerBound..<end.upperBound])
            .replacingOccurrences(of: "CREATE FUNCTION", with: "CREATE OR REPLACE FUNCTION")
            .replacingOccurrences(of: "PERFORM set_config('synchronous_commit', 'off', true);\n", with: "")
    }()

    /// SQLite's v7: the API's bearer tokens, kept as hashes.
    /// SQLite's v8: the webhook outbox, filled by triggers in the transaction of each change.
    private static let webhooks = """
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

    private static let apiTokens = """
        CREATE TABLE apiToken (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            name TEXT NOT NULL CHECK (char_length(name) BETWEEN 1 AND 64),
            tokenHash TEXT NOT NULL UNIQUE CHECK (char_length(tokenHash) = 64),
            createdAt TIMESTAMPTZ NOT NULL,
            revokedAt TIMESTAMPTZ
        );
        CREATE UNIQUE INDEX apiToken_active_name ON apiToken(name) WHERE revokedAt IS NULL;
        """

    /// SQLite's v6: what came back to the bounce addresses.
    private static let bounces = """
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

    /// The schema of SQLite's v1 to v5 in one step: PostgreSQL support began there.
    private static let foundation = """
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
    private static let rateLimits = """
        CREATE UNLOGGED TABLE rateWindow (
            keyHash TEXT PRIMARY KEY CHECK (length(keyHash) = 64),
            windowStart TIMESTAMPTZ NOT NULL,
            count INTEGER NOT NULL CHECK (count >= 1)
        );
        CREATE INDEX rateWindow_start ON rateWindow(windowStart);
        """

    /// Fingerprints of the keys nodes sign links with (`SharedKeys`), never the keys.
    private static let signingKeys = """
        CREATE TABLE signingKey (
            fingerprint TEXT PRIMARY KEY CHECK (length(fingerprint) = 64),
            lastSeenAt TIMESTAMPTZ NOT NULL
        );
        """
}

extension PostgresStore {
    /// The newest schema this binary knows (`kuvert --version`).
    public static var schemaVersion: String { PostgresSchema.migrations.last?.identifier ?? "none" }
}
