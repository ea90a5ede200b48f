-- One round of one mailer session as Kuvert's PostgreSQL store sends it, for
-- pgbench (Benchmarks/pg_ceiling.sh): the lease of a batch of 32 with its
-- recipients, subscriptions and lists (PostgresStore+Delivery.swift,
-- leaseDue: the same UPDATE and joins; every column read into one text per
-- row here, where Kuvert decodes them), the campaign they belong to, then
-- the records of the batch as sent in one call of kuvert_record_deliveries
-- (RecordManyCall), each its own transaction as Kuvert commits them. Kuvert
-- records a message as it is sent, several sessions' records in one call when
-- they arrive together; here the whole batch goes in one, so this ceiling is
-- if anything high. -D campaign=ID names the campaign queued for the run.
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
SELECT kuvert_record_deliveries(
    :ids::bigint[], array_fill('sent'::text, ARRAY[:leased::int]),
    array_fill('250 2.0.0 Ok: queued as 4dZ1pQ0sKz'::text, ARRAY[:leased::int]), array_fill(250, ARRAY[:leased::int]),
    array_fill(now(), ARRAY[:leased::int]), array_fill(1, ARRAY[:leased::int]), array_fill('reset'::text, ARRAY[:leased::int]),
    array_fill(3, ARRAY[:leased::int]), array_fill(now(), ARRAY[:leased::int]));
