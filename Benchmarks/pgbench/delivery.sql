-- One round of one mailer session as Kuvert's PostgreSQL store sends it, for
-- pgbench (Benchmarks/pg_ceiling.sh): the lease of a batch of 32 with its
-- recipients, subscriptions and lists (PostgresStore+Delivery.swift,
-- leaseDue: the same UPDATE and joins; every column read into one text per
-- row here, where Kuvert decodes them), the campaign they belong to, then one
-- record per message as it is sent (RecordManyCall: kuvert_record_deliveries
-- with one record), each its own transaction as Kuvert commits them. Kuvert
-- puts the records of several sessions in one call when they arrive together;
-- a session alone sends them one at a time, as here. pg_ceiling.sh appends
-- the 32 records (pgbench has no loop): record.sql, once per position, for
-- the positions the lease filled. -D campaign=ID names the campaign queued
-- for the run.
WITH claimed AS (
    UPDATE outboxMessage SET status = 'leased', leaseExpiresAt = now() + interval '300 seconds',
        leaseHolder = 'pgbench-' || :client_id::text
    WHERE id IN (
        SELECT id FROM outboxMessage
        WHERE (status = 'queued' AND dueAt <= now()
               AND (campaignId IS NULL OR kind = 'test'
                    OR campaignId IN (SELECT id FROM campaign WHERE status = 'sending')))
           OR (status = 'leased' AND leaseExpiresAt <= now())
        ORDER BY dueAt, id LIMIT 32 FOR UPDATE SKIP LOCKED)
    RETURNING *
), delivery AS (
    SELECT m.id, (m, s, p.address, p.restrictedAt IS NOT NULL, l)::text AS fields
    FROM claimed m
    LEFT JOIN subscription s ON s.id = m.subscriptionId
    LEFT JOIN subscriber p ON p.id = s.subscriberId
    LEFT JOIN campaign c ON c.id = m.campaignId
    LEFT JOIN mailingList l ON l.id = coalesce(s.listId, c.listId)
    ORDER BY m.id
)
SELECT coalesce(array_agg(id ORDER BY id), '{}') AS ids, count(*) AS leased, coalesce(sum(length(fields)), 0) AS bytes FROM delivery
\gset
SELECT c.* FROM campaign c WHERE c.id = ANY(ARRAY[:campaign::bigint]);
