-- One message's record as sent (Benchmarks/pgbench/delivery.sql): POSITION
-- is the message's place in the batch the lease returned in :ids.
\if :leased >= POSITION
SELECT kuvert_record_deliveries(
    ARRAY[(:ids::bigint[])[POSITION]], ARRAY['sent'], ARRAY['250 2.0.0 Ok: queued as 4dZ1pQ0sKz'], ARRAY[250],
    ARRAY[now()], ARRAY[1], ARRAY['reset'], ARRAY[3], ARRAY[now()]);
\endif
