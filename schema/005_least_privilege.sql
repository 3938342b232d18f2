-- Least privilege, whoever migrates (issue 9). The roles:
--   hubgate_owner     NOLOGIN; owns every table and function below. It has no members: `hubgate
--                     db migrate` lends it to hubgate_migrator for the length of a migration and
--                     takes it back at the end (audit/migrate.c), so no login role keeps the
--                     power to disable a trigger, drop a table or rewrite a row.
--   hubgate_migrator  NOLOGIN; its members are the login roles that run migrations without
--                     being superusers. Outside a migration it holds nothing but CREATE on the
--                     schema.
--   hubgate_gateway   NOLOGIN; what a gateway's login role inherits: SELECT and INSERT on the
--                     audit tables, SELECT and INSERT on access_token plus UPDATE of its one
--                     column revoked_at, SELECT on schema_migration. Nothing else.
--   hubgate_auditor   NOLOGIN; what an auditor's login role inherits: SELECT.
-- Login roles are created with `hubgate db role create` (or the SQL in its --help).
--
-- Databases migrated before this file may hold other grants (to PUBLIC, to login roles, to
-- these roles): every privilege on hubgate's tables is revoked from everyone but the owner, and
-- the exact set above is granted again.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'hubgate_migrator') THEN
        CREATE ROLE hubgate_migrator NOLOGIN;
    END IF;
END
$$;

DO $$
DECLARE
    t text;
    g record;
    c record;
BEGIN
    FOREACH t IN ARRAY ARRAY['schema_migration', 'audit_stream', 'audit_event', 'audit_checkpoint',
                             'policy_version', 'audit_stream_key', 'access_token']
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
        -- Column grants (UPDATE (revoked_at) and any other) go with the table's, except those
        -- made by a role other than the owner; catch them one by one.
        FOR c IN SELECT DISTINCT att.attname, a.grantee
                   FROM pg_attribute att, aclexplode(att.attacl) a
                  WHERE att.attrelid = t::regclass AND att.attacl IS NOT NULL
        LOOP
            EXECUTE format('REVOKE ALL (%I) ON %I FROM %s', c.attname, t,
                           CASE WHEN c.grantee = 0 THEN 'PUBLIC'
                                ELSE quote_ident(pg_get_userbyid(c.grantee)) END);
        END LOOP;
    END LOOP;
END
$$;
ALTER FUNCTION hubgate_append_only() OWNER TO hubgate_owner;

GRANT SELECT ON schema_migration TO hubgate_gateway, hubgate_auditor;
GRANT SELECT, INSERT ON audit_stream, audit_event, audit_checkpoint, policy_version,
    audit_stream_key TO hubgate_gateway;
GRANT SELECT, INSERT ON access_token TO hubgate_gateway;
GRANT UPDATE (revoked_at) ON access_token TO hubgate_gateway;
GRANT SELECT ON audit_stream, audit_event, audit_checkpoint, policy_version, audit_stream_key,
    access_token TO hubgate_auditor;
