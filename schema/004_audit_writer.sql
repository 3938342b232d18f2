-- The audit writer's needs (issue 6), on top of 002_audit.sql.
--
-- Idle heartbeats: the writer signs a checkpoint every checkpoint_seconds even when no event
-- arrived, so that a quiet stream still proves, at a known cadence, where its head was. Several
-- checkpoints can then name the same seq: the key becomes (stream, seq, ts).
ALTER TABLE audit_checkpoint DROP CONSTRAINT audit_checkpoint_pkey;
ALTER TABLE audit_checkpoint ADD PRIMARY KEY (stream_id, seq, ts);

-- The foreign key from audit_event to audit_stream costs a lookup per inserted row (an RI
-- trigger running a query): measured here it halves the rate of a 1,000-row COPY. Events are
-- only written by a writer that holds its stream (it read the stream's id under the stream's
-- lock), and `hubgate audit verify` reports any event that belongs to no registered stream;
-- so the check moves out of the hot path. (A superuser could disable it anyway.)
ALTER TABLE audit_event DROP CONSTRAINT audit_event_stream_id_fkey;

-- Signing key rotation: audit_stream keeps the key its stream was created with; a gateway
-- started with another key registers it here before it signs anything with it. `hubgate audit
-- verify` accepts checkpoints signed by a key registered for their stream, or, given --pubkey,
-- only by the keys the auditor pinned (a key someone added to this table proves nothing then).
CREATE TABLE audit_stream_key (
    stream_id   bigint NOT NULL REFERENCES audit_stream (id),
    key_id      text NOT NULL CHECK (key_id ~ '^[0-9a-f]{16}$'),
    public_key  text NOT NULL,
    added_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (stream_id, key_id)
);
CREATE TRIGGER audit_stream_key_no_change BEFORE UPDATE OR DELETE ON audit_stream_key
    FOR EACH ROW EXECUTE FUNCTION hubgate_append_only();
CREATE TRIGGER audit_stream_key_no_truncate BEFORE TRUNCATE ON audit_stream_key
    FOR EACH STATEMENT EXECUTE FUNCTION hubgate_append_only();
ALTER TABLE audit_stream_key ENABLE ALWAYS TRIGGER audit_stream_key_no_change;
ALTER TABLE audit_stream_key ENABLE ALWAYS TRIGGER audit_stream_key_no_truncate;
ALTER TABLE audit_stream_key OWNER TO hubgate_owner;
GRANT SELECT, INSERT ON audit_stream_key TO hubgate_gateway;
GRANT SELECT ON audit_stream_key TO hubgate_auditor;

COMMENT ON COLUMN audit_event.canonical IS
    'The event exactly as hashed: hash = SHA-256(prev_hash || canonical). See audit/event.h.';
COMMENT ON COLUMN audit_event.actor IS 'actor.email of the canonical event, else actor.sub';
COMMENT ON COLUMN audit_event.repo IS 'request.repo of the canonical event';
COMMENT ON COLUMN audit_event.decision IS 'decision.effect of the canonical event: allow | deny';
COMMENT ON COLUMN audit_event.client_ip IS 'client.ip of the canonical event when it is an IP literal';
COMMENT ON TABLE audit_checkpoint IS
    'Ed25519 signatures over (stream, seq, hash, ts); message format in audit/checkpoint.h';
