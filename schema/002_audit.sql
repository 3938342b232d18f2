-- The append-only audit log (DESIGN.md "Audit log"). One stream per gateway instance; each
-- stream is a hash chain: hash = SHA-256(prev_hash || canonical), seq without gaps. The
-- canonical event text is stored exactly as it was hashed; the other columns are extracted
-- from it for queries and reports.
CREATE TABLE audit_stream (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9._-]{1,64}$'),
    public_key  text NOT NULL,
    key_id      text NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE audit_event (
    stream_id   bigint NOT NULL REFERENCES audit_stream (id),
    seq         bigint NOT NULL CHECK (seq >= 1),
    ts          timestamptz NOT NULL,
    prev_hash   bytea NOT NULL CHECK (length(prev_hash) = 32),
    hash        bytea NOT NULL CHECK (length(hash) = 32),
    canonical   text NOT NULL,
    kind        text NOT NULL,
    request_id  text,
    actor       text,
    org         text,
    repo        text,
    action      text,
    decision    text,
    rule        text,
    status      integer,
    bytes_in    bigint,
    bytes_out   bigint,
    client_ip   inet,
    PRIMARY KEY (stream_id, seq)
);
CREATE INDEX audit_event_ts ON audit_event (ts);
CREATE INDEX audit_event_org_ts ON audit_event (org, ts);
CREATE INDEX audit_event_actor_ts ON audit_event (actor, ts);
CREATE INDEX audit_event_request_id ON audit_event (request_id);

CREATE TABLE audit_checkpoint (
    stream_id   bigint NOT NULL REFERENCES audit_stream (id),
    seq         bigint NOT NULL,
    hash        bytea NOT NULL CHECK (length(hash) = 32),
    ts          timestamptz NOT NULL,
    key_id      text NOT NULL,
    signature   bytea NOT NULL CHECK (length(signature) = 64),
    PRIMARY KEY (stream_id, seq)
);

CREATE TABLE policy_version (
    sha256        text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    content       text NOT NULL,
    first_loaded  timestamptz NOT NULL DEFAULT now()
);

-- Append-only, enforced by PostgreSQL itself. ENABLE ALWAYS keeps the triggers firing under
-- session_replication_role = replica. What an owner or superuser can still do (disable or
-- drop a trigger, edit files) the hash chain and the exported checkpoints detect.
CREATE FUNCTION hubgate_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only (% %)', TG_TABLE_NAME, TG_OP, TG_LEVEL;
END
$$;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['audit_stream', 'audit_event', 'audit_checkpoint', 'policy_version']
    LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON %I
                        FOR EACH ROW EXECUTE FUNCTION hubgate_append_only()', t || '_no_change', t);
        EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I
                        FOR EACH STATEMENT EXECUTE FUNCTION hubgate_append_only()', t || '_no_truncate', t);
        EXECUTE format('ALTER TABLE %I ENABLE ALWAYS TRIGGER %I', t, t || '_no_change');
        EXECUTE format('ALTER TABLE %I ENABLE ALWAYS TRIGGER %I', t, t || '_no_truncate');
        EXECUTE format('ALTER TABLE %I OWNER TO hubgate_owner', t);
        EXECUTE format('GRANT SELECT, INSERT ON %I TO hubgate_gateway', t);
        EXECUTE format('GRANT SELECT ON %I TO hubgate_auditor', t);
    END LOOP;
END
$$;
ALTER FUNCTION hubgate_append_only() OWNER TO hubgate_owner;
