import Foundation

/// The request and delivery functions (pg7, pg8), in the order they run.
extension PostgresSchema {
    /// The two statements every request and every message runs, as functions:
    /// one round trip each instead of one per statement, and the server keeps
    /// their plans (a PL/pgSQL function's statements are prepared once per
    /// connection) instead of parsing and planning them on every call. Each is
    /// what `subscribe` and `store(_:_:bounceLimit:now:)` did in Swift before,
    /// statement for statement; a later change replaces them in a migration of its own.
    ///
    /// Rules repeated here for speed (700 → 1,900 requests a second): the
    /// intake's, as `SQLiteStore.subscribe` applies them, and the bounce step
    /// of `kuvert_record_delivery`, which is `BouncePolicy.step`. The store
    /// scenarios (`StoreScenarioTests`) run both stores through the same cases.
    static let requestFunctions = """
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
    static let durableDeliveryRecords: String = {
        let start = requestFunctions.range(of: "CREATE FUNCTION kuvert_record_delivery(")!
        let end = requestFunctions.range(of: "END $$;", range: start.upperBound..<requestFunctions.endIndex)!
        return String(requestFunctions[start.lowerBound..<end.upperBound])
            .replacingOccurrences(of: "CREATE FUNCTION", with: "CREATE OR REPLACE FUNCTION")
            .replacingOccurrences(of: "PERFORM set_config('synchronous_commit', 'off', true);\n", with: "")
    }()
}
