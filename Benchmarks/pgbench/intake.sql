-- One POST /subscribe as Kuvert's PostgreSQL store sends it, for pgbench
-- (Benchmarks/pg_ceiling.sh): the client's count and the address's count
-- (PostgresStore+RateLimits.swift, CountCall), then the subscription
-- (PostgresStore+Subscriptions.swift, SubscribeManyCall), each statement its
-- own transaction as Kuvert commits them, for one request at a time where
-- Kuvert's coalescer may put several in one. Every transaction names a new
-- address: `seq` counts per client (pgbench keeps a client's variables from
-- one transaction to the next; -D seq=0 starts it), and `run` tells one run
-- from the next (-D run=a new number).
\set seq :seq + 1
INSERT INTO rateWindow AS w (keyHash, windowStart, count)
SELECT key, now(), n FROM unnest(ARRAY['1f3870be274f6c49b3e31a0c6728957f1f3870be274f6c49b3e31a0c6728957f']::text[], ARRAY[1]::integer[])
    AS request(key, n) ORDER BY key
ON CONFLICT (keyHash) DO UPDATE SET
    windowStart = CASE WHEN w.windowStart <= now() - interval '1 minute' THEN EXCLUDED.windowStart ELSE w.windowStart END,
    count = CASE WHEN w.windowStart <= now() - interval '1 minute' THEN EXCLUDED.count ELSE w.count + EXCLUDED.count END
RETURNING keyHash, windowStart, count;
INSERT INTO rateWindow AS w (keyHash, windowStart, count)
SELECT key, now(), n FROM unnest(ARRAY[encode(sha256(convert_to('address ' || :run::text || '-' || :client_id::text || '-' || :seq::text, 'UTF8')), 'hex')]::text[], ARRAY[1]::integer[])
    AS request(key, n) ORDER BY key
ON CONFLICT (keyHash) DO UPDATE SET
    windowStart = CASE WHEN w.windowStart <= now() - interval '1 hour' THEN EXCLUDED.windowStart ELSE w.windowStart END,
    count = CASE WHEN w.windowStart <= now() - interval '1 hour' THEN EXCLUDED.count ELSE w.count + EXCLUDED.count END
RETURNING keyHash, windowStart, count;
SELECT outcome, subscription_id FROM kuvert_subscribe_many(
    ARRAY['bench'], ARRAY['pgbench-' || :run::text || '-' || :client_id::text || '-' || :seq::text || '@example.se'],
    ARRAY['pgbench-' || :run::text || '-' || :client_id::text || '-' || :seq::text || '@example.se'], ARRAY[''], ARRAY['en'],
    ARRAY[md5(random()::text)], ARRAY[now()], ARRAY[now()], ARRAY[300::float8], ARRAY['web'], ARRAY['127.0.0.1'],
    ARRAY['wrk/4.1.0'], ARRAY['form']);
