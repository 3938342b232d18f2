-- Roles. Tables belong to hubgate_owner, which cannot log in: nobody works as the owner by
-- accident. The gateway connects as a login role that is a member of hubgate_gateway (INSERT
-- and SELECT on the audit tables, nothing more); auditors' tools as members of
-- hubgate_auditor (SELECT only). Roles are cluster-wide, so they are created only if missing.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'hubgate_owner') THEN
        CREATE ROLE hubgate_owner NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'hubgate_gateway') THEN
        CREATE ROLE hubgate_gateway NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'hubgate_auditor') THEN
        CREATE ROLE hubgate_auditor NOLOGIN;
    END IF;
    -- A non-superuser running the migrations must be able to hand tables to the owner role.
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        EXECUTE format('GRANT hubgate_owner TO %I', current_user);
    END IF;
END
$$;

ALTER TABLE schema_migration OWNER TO hubgate_owner;
GRANT SELECT ON schema_migration TO hubgate_gateway, hubgate_auditor;
