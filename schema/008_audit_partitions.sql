-- audit_event partitioned by calendar month, UTC (issue 16; docs/database.md "Partitions and
-- retention"), so that a month of events can be exported with its proof, detached and dropped
-- (`hubgate audit archive`) without ever deleting a row from the append-only log.
--
-- The upgrade copies no event. The existing table is renamed audit_event_before_008 and
-- attached as the first partition, FOR VALUES FROM (MINVALUE) TO (b), where b is the instant of
-- this migration rounded up to the next second (later than every stored ts, should a gateway's
-- clock have run ahead). Why there and not at the first of next month: the partition is then
-- complete the moment the migration ends — a writer with a correct clock never adds to it — so
-- it can be archived at once, as a whole, like any past month; the rest of the migration's
-- month goes to that month's partition, which starts at b instead of the first. A fresh
-- database takes the same path with an empty table, so every database has the same shape.
-- What the upgrade costs on a large table: it reads it twice (its latest ts, and ATTACH's check
-- of the bound) and builds one index (the new primary key); run it with the gateways stopped,
-- as every migration.
--
-- Keys. A partitioned table's unique key must include the partition key, so the primary key
-- becomes (stream_id, seq, ts): the database no longer refuses the same (stream, seq) twice
-- when the two rows fall in different months. Nothing hubgate writes can do that (one writer
-- per stream under its advisory lock, seq from its chain head), and `hubgate audit verify`
-- reports such a row (a seq seen twice is "inserted" or "chain_break"). The indexes 006 kept
-- are partitioned indexes; the old table's own are attached to them, not rebuilt.
--
-- Append-only on every partition: the row trigger on the parent is cloned to each partition
-- (present and future) with its ENABLE ALWAYS state, so an UPDATE or DELETE through the parent
-- or on a partition directly raises, also under session_replication_role = replica. TRUNCATE
-- triggers are statement-level and not cloned: the parent has its own and every partition is
-- given one when it is created (hubgate_audit_partitions below).
LOCK TABLE audit_event IN ACCESS EXCLUSIVE MODE;

ALTER TABLE audit_event RENAME TO audit_event_before_008;
ALTER INDEX audit_event_request_id RENAME TO audit_event_before_008_request_id;
ALTER INDEX audit_event_ts_brin RENAME TO audit_event_before_008_ts_brin;
ALTER INDEX audit_event_policy_loaded RENAME TO audit_event_before_008_policy_loaded;
-- The key (stream_id, seq) cannot serve the parent's (stream_id, seq, ts); ATTACH builds that.
ALTER TABLE audit_event_before_008 DROP CONSTRAINT audit_event_pkey;
-- The parent's row trigger is cloned onto the partition when it is attached, under this name.
DROP TRIGGER audit_event_no_change ON audit_event_before_008;
ALTER TRIGGER audit_event_no_truncate ON audit_event_before_008
    RENAME TO audit_event_before_008_no_truncate;

-- Same columns, NOT NULLs, CHECK constraints (by name, as ATTACH requires) and comments.
CREATE TABLE audit_event (LIKE audit_event_before_008 INCLUDING CONSTRAINTS INCLUDING COMMENTS)
    PARTITION BY RANGE (ts);
ALTER TABLE audit_event ADD CONSTRAINT audit_event_pkey PRIMARY KEY (stream_id, seq, ts);
CREATE INDEX audit_event_request_id ON audit_event (request_id);
CREATE INDEX audit_event_ts_brin ON audit_event USING brin (ts) WITH (autosummarize = on);
CREATE INDEX audit_event_policy_loaded ON audit_event (stream_id, ts, seq)
    WHERE kind = 'policy.loaded';
ALTER TABLE audit_event OWNER TO hubgate_owner;

CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION hubgate_append_only();
CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
    FOR EACH STATEMENT EXECUTE FUNCTION hubgate_append_only();
ALTER TABLE audit_event ENABLE ALWAYS TRIGGER audit_event_no_change;
ALTER TABLE audit_event ENABLE ALWAYS TRIGGER audit_event_no_truncate;

DO $$
DECLARE
    b timestamptz;
BEGIN
    SELECT date_trunc('second', greatest(now(), max(ts))) + interval '1 second' INTO b
      FROM audit_event_before_008;
    EXECUTE format('ALTER TABLE audit_event ATTACH PARTITION audit_event_before_008 '
                   'FOR VALUES FROM (MINVALUE) TO (%L)', b);
END
$$;
-- The clone took ENABLE ALWAYS from the parent; said again so that it never depends on it.
ALTER TABLE audit_event_before_008 ENABLE ALWAYS TRIGGER audit_event_no_change;

-- The archive record (`hubgate audit archive`): one row per stream of each partition exported,
-- verified and detached — the stream's first and last seq in it and the hash of the last, the
-- anchor from which `audit verify` and `report soc2` take up the chain — plus the export's
-- manifest SHA-256 (what the auditor's stored copy must match), when and by which login role.
-- A partition that held no event gets one row without a stream. Append-only like the log.
CREATE TABLE audit_archive (
    partition       text NOT NULL CHECK (partition ~ '^audit_event_[a-z0-9_]{1,40}$'),
    detached_as     text NOT NULL,
    range_from      timestamptz,            -- NULL: MINVALUE
    range_to        timestamptz NOT NULL,
    stream_id       bigint REFERENCES audit_stream (id),
    first_seq       bigint CHECK (first_seq >= 1),
    last_seq        bigint,
    last_hash       bytea CHECK (length(last_hash) = 32),
    events          bigint NOT NULL CHECK (events >= 0),
    manifest_sha256 text NOT NULL CHECK (manifest_sha256 ~ '^[0-9a-f]{64}$'),
    archived_at     timestamptz NOT NULL DEFAULT now(),
    archived_by     text NOT NULL DEFAULT session_user,
    CHECK ((stream_id IS NULL) = (first_seq IS NULL) AND (stream_id IS NULL) = (last_seq IS NULL)
           AND (stream_id IS NULL) = (last_hash IS NULL)),
    CHECK (last_seq >= first_seq AND events = last_seq - first_seq + 1),
    UNIQUE (partition, stream_id)
);
CREATE INDEX audit_archive_stream ON audit_archive (stream_id, last_seq);
CREATE TRIGGER audit_archive_no_change BEFORE UPDATE OR DELETE ON audit_archive
    FOR EACH ROW EXECUTE FUNCTION hubgate_append_only();
CREATE TRIGGER audit_archive_no_truncate BEFORE TRUNCATE ON audit_archive
    FOR EACH STATEMENT EXECUTE FUNCTION hubgate_append_only();
ALTER TABLE audit_archive ENABLE ALWAYS TRIGGER audit_archive_no_change;
ALTER TABLE audit_archive ENABLE ALWAYS TRIGGER audit_archive_no_truncate;
ALTER TABLE audit_archive OWNER TO hubgate_owner;

-- The monthly partitions: from the current month (UTC) through months_ahead months ahead, the
-- missing ones are created (with their TRUNCATE trigger) and their names returned. A month
-- already covered in part (the migration's month, after audit_event_before_008) starts where
-- the partition before it ends. `hubgate db migrate` calls it (3 months ahead); each gateway's
-- writer when it connects and then every hour, so that an insert always finds its partition.
-- SECURITY DEFINER so that the gateway, which may not create anything, can: it does nothing
-- else, its search_path is pinned (below) and months_ahead is bounded. Concurrent callers
-- serialise on a transaction advisory lock. Attaching a partition takes a lock on audit_event
-- that inserts do not wait for; it waits at most 5 s (lock_timeout) for what does conflict (a
-- migration, an archival), then the call fails and is tried again at the writer's next
-- connection or hour. When nothing is missing it takes no lock on the table at all.
CREATE FUNCTION hubgate_audit_partitions(months_ahead integer) RETURNS SETOF text
    LANGUAGE plpgsql SECURITY DEFINER SET TimeZone = 'UTC' SET lock_timeout = '5s' AS $$
DECLARE
    m timestamptz := date_trunc('month', now());
    m_end timestamptz;
    lo timestamptz;
    skip boolean;
    name text;
    p record;
    -- new tables go where audit_event is (pg_catalog leads the search_path)
    nsp text := (SELECT relnamespace::regnamespace::text FROM pg_class
                  WHERE oid = 'audit_event'::regclass);
BEGIN
    IF months_ahead IS NULL OR months_ahead < 0 OR months_ahead > 24 THEN
        RAISE EXCEPTION 'hubgate_audit_partitions: months_ahead must be 0 to 24, not %',
            months_ahead;
    END IF;
    PERFORM pg_advisory_xact_lock(7526366049938091058);
    FOR i IN 0..months_ahead LOOP
        m_end := m + interval '1 month';
        name := 'audit_event_' || to_char(m, 'YYYY_MM');
        IF to_regclass(name) IS NULL THEN
            lo := m;
            skip := false;
            FOR p IN
                SELECT CASE WHEN b[1] = 'MINVALUE' THEN '-infinity'::timestamptz
                            ELSE btrim(b[1], '''')::timestamptz END AS lo,
                       CASE WHEN b[2] = 'MAXVALUE' THEN 'infinity'::timestamptz
                            ELSE btrim(b[2], '''')::timestamptz END AS hi
                  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid,
                       regexp_match(pg_get_expr(c.relpartbound, c.oid),
                                    '^FOR VALUES FROM \((.*)\) TO \((.*)\)$') b
                 WHERE i.inhparent = 'audit_event'::regclass
                 ORDER BY 1
            LOOP
                IF p.hi > lo AND p.lo < m_end THEN
                    IF p.lo <= lo THEN
                        lo := p.hi;
                    ELSE
                        skip := true; -- another partition sits inside the month: leave it be
                    END IF;
                END IF;
            END LOOP;
            IF NOT skip AND lo < m_end THEN
                -- Made apart and then attached, rather than CREATE TABLE … PARTITION OF: ATTACH
                -- locks audit_event in SHARE UPDATE EXCLUSIVE mode, which lets the writers'
                -- inserts go on, and the indexes get names that say what they are (ATTACH
                -- takes them as the partitioned indexes' own).
                -- (An index name still held by a table that once had this name, detached by
                -- hand, is left to PostgreSQL to choose instead.)
                EXECUTE format('CREATE TABLE %s.%I (LIKE audit_event INCLUDING CONSTRAINTS)',
                               nsp, name);
                EXECUTE format('ALTER TABLE %I ADD %s PRIMARY KEY (stream_id, seq, ts)', name,
                               CASE WHEN to_regclass(name || '_pkey') IS NULL
                                    THEN format('CONSTRAINT %I', name || '_pkey') ELSE '' END);
                EXECUTE format('CREATE INDEX %s ON %I (request_id)',
                               CASE WHEN to_regclass(name || '_request_id') IS NULL
                                    THEN quote_ident(name || '_request_id') ELSE '' END, name);
                EXECUTE format('CREATE INDEX %s ON %I USING brin (ts) WITH (autosummarize = on)',
                               CASE WHEN to_regclass(name || '_ts_brin') IS NULL
                                    THEN quote_ident(name || '_ts_brin') ELSE '' END, name);
                EXECUTE format('CREATE INDEX %s ON %I (stream_id, ts, seq) WHERE kind = %L',
                               CASE WHEN to_regclass(name || '_policy_loaded') IS NULL
                                    THEN quote_ident(name || '_policy_loaded') ELSE '' END,
                               name, 'policy.loaded');
                EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT '
                               'EXECUTE FUNCTION hubgate_append_only()', name || '_no_truncate', name);
                EXECUTE format('ALTER TABLE %I ENABLE ALWAYS TRIGGER %I', name, name || '_no_truncate');
                EXECUTE format('ALTER TABLE audit_event ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                               name, lo, m_end);
                -- the row trigger, cloned from audit_event by ATTACH
                EXECUTE format('ALTER TABLE %I ENABLE ALWAYS TRIGGER audit_event_no_change', name);
                RETURN NEXT name;
            END IF;
        END IF;
        m := m_end;
    END LOOP;
END
$$;
ALTER FUNCTION hubgate_audit_partitions(integer) OWNER TO hubgate_owner;
-- pg_catalog first (nothing in the schema shadows a built-in), pg_temp last (a caller's
-- temporary table cannot stand in for audit_event).
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION hubgate_audit_partitions(integer) SET search_path = pg_catalog, %I, pg_temp',
                   current_schema());
END
$$;
REVOKE ALL ON FUNCTION hubgate_audit_partitions(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION hubgate_audit_partitions(integer) TO hubgate_gateway;

-- Grants, as 005_least_privilege.sql does for its tables: every privilege anyone holds on the
-- old table (now a partition) goes, since partitions are read and written through the parent
-- only; the parent and audit_archive get exactly their set.
DO $$
DECLARE
    t text;
    g record;
BEGIN
    FOREACH t IN ARRAY ARRAY['audit_event_before_008', 'audit_archive']
    LOOP
        EXECUTE format('ALTER TABLE %I OWNER TO hubgate_owner', t);
        FOR g IN SELECT DISTINCT a.grantee
                   FROM pg_class r, aclexplode(r.relacl) a
                  WHERE r.oid = t::regclass AND a.grantee <> r.relowner
        LOOP
            EXECUTE format('REVOKE ALL ON %I FROM %s', t,
                           CASE WHEN g.grantee = 0 THEN 'PUBLIC'
                                ELSE quote_ident(pg_get_userbyid(g.grantee)) END);
        END LOOP;
    END LOOP;
END
$$;
GRANT SELECT, INSERT ON audit_event TO hubgate_gateway;
GRANT SELECT ON audit_event TO hubgate_auditor;
-- The gateway reads the archive record for the reports it serves; only an archival run (the
-- owner, lent) adds to it.
GRANT SELECT ON audit_archive TO hubgate_gateway, hubgate_auditor;
