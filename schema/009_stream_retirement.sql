-- Retiring an audit stream (`hubgate audit retire`; docs/database.md "Retiring a stream"),
-- and the policy in force recorded with each archive (below).
--
-- A stream whose instance is gone for good never signs another checkpoint, so an evidence
-- report over any later period could not prove it complete. Its retirement is its last word:
-- a `stream.retired` event chained onto its head and a checkpoint signed over it, both in the
-- log; this row records it for the gateways, which refuse to write to a retired stream, and for
-- the reports, which close the stream there. The chain and the signature are the evidence; the
-- row only says where to look (an edited row is caught by `audit verify`).
CREATE TABLE audit_stream_retired (
    stream_id   bigint PRIMARY KEY REFERENCES audit_stream (id),
    seq         bigint NOT NULL CHECK (seq >= 1),         -- the stream.retired event's seq
    hash        bytea NOT NULL CHECK (length(hash) = 32), -- its hash: the stream's last
    retired_at  timestamptz NOT NULL DEFAULT now(),
    retired_by  text NOT NULL DEFAULT session_user
);
CREATE TRIGGER audit_stream_retired_no_change BEFORE UPDATE OR DELETE ON audit_stream_retired
    FOR EACH ROW EXECUTE FUNCTION hubgate_append_only();
CREATE TRIGGER audit_stream_retired_no_truncate BEFORE TRUNCATE ON audit_stream_retired
    FOR EACH STATEMENT EXECUTE FUNCTION hubgate_append_only();
ALTER TABLE audit_stream_retired ENABLE ALWAYS TRIGGER audit_stream_retired_no_change;
ALTER TABLE audit_stream_retired ENABLE ALWAYS TRIGGER audit_stream_retired_no_truncate;
ALTER TABLE audit_stream_retired OWNER TO hubgate_owner;
-- Retiring is the migrator's (through hubgate_owner, lent for the run as `audit archive` does):
-- a gateway may read the row, never write one.
GRANT SELECT ON audit_stream_retired TO hubgate_gateway, hubgate_auditor;

-- The policy in force when a partition is archived: per stream, the last policy.loaded up to
-- the archive's end (its details.sha256 and ts), else what the stream's previous archive
-- recorded. A gateway that runs for months loaded its policy in a month that may be archived
-- since; a later report still names the policy it had in force at the period's start from here
-- (`hubgate report soc2`, "loads_before_period" with "archived": true). NULL: none known (an
-- archive made before 009, or a stream that never loaded a policy).
ALTER TABLE audit_archive
    ADD COLUMN policy_sha256 text CHECK (policy_sha256 ~ '^[0-9a-f]{64}$'),
    ADD COLUMN policy_loaded_at timestamptz;
