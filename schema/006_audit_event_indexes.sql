-- audit_event keeps only the indexes that writing, the evidence report and finding an event by
-- its request id need (issue 12). Every index is maintained on every inserted row, inside the
-- writer's commit: measured on the project's 2-core machine, one COPY of 200,000 of the
-- gateway's ~830-byte events took PostgreSQL 306k rows/s into the bare table, 260k with the
-- primary key, and 120k-140k with the five indexes 002_audit.sql made. Apart (with the key):
-- a B-tree on ts costs 15 %, on (org, ts) 20-25 %, on (actor, ts) 30-45 %, on request_id 15 %
-- (with the gateway's request ids, which grow within a process), a BRIN on ts 4 %.
--
-- What reads audit_event, and the index each read uses afterwards:
--   the writer's chain head, verify, report passes  (stream_id, seq)      the primary key
--   the report's period (stream_id, ts range)       BRIN on ts (rows are appended in ts order)
--   the policy in force at a period's start         the partial index on policy loads below
--   an event by its request id                      audit_event_request_id (kept)
-- Nothing in hubgate queries by (org, ts) or (actor, ts): reports read a stream's period once
-- and filter as they go. An operator who needs such queries often can add an index, knowing it
-- costs every write.
DROP INDEX audit_event_ts;
DROP INDEX audit_event_org_ts;
DROP INDEX audit_event_actor_ts;

-- One summary (min and max ts) per 128 pages (~900 events); autosummarize has autovacuum
-- summarize each range once it is full, so that a period query skips it. A range not yet
-- summarized is simply read: the answer stays right, only slower.
CREATE INDEX audit_event_ts_brin ON audit_event USING brin (ts) WITH (autosummarize = on);

-- Policy loads are a handful per stream, so this index costs the writer nothing but evaluating
-- its predicate, and finds each stream's last load before a period without reading the stream.
CREATE INDEX audit_event_policy_loaded ON audit_event (stream_id, ts, seq)
    WHERE kind = 'policy.loaded';
