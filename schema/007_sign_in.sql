-- Sign-in for people (issue 15; docs/sign-in.md).
--
-- login_session: a person's browser session at hubgate, server-side so that it can be ended from
-- anywhere (sign-out, an admin, deprovisioning). The cookie holds a random secret; only its
-- SHA-256 is stored. `id` is the session's public name (listed, revoked, audited), never the
-- secret. The gateway may insert a session and update only when it was last seen and how it
-- ended.
CREATE TABLE login_session (
    id           text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{8,64}$'),
    hash         bytea NOT NULL UNIQUE CHECK (length(hash) = 32),
    owner_iss    text NOT NULL,
    owner_sub    text NOT NULL,
    owner        jsonb NOT NULL,
    client_ip    text NOT NULL CHECK (length(client_ip) <= 64),
    user_agent   text NOT NULL CHECK (length(user_agent) <= 512),
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    ended_at     timestamptz,
    ended_reason text CHECK (ended_reason IN ('logout', 'revoked', 'deprovisioned')),
    CHECK (expires_at > created_at),
    CHECK ((ended_at IS NULL) = (ended_reason IS NULL))
);
CREATE INDEX login_session_owner ON login_session (owner_iss, owner_sub);
ALTER TABLE login_session OWNER TO hubgate_owner;
GRANT SELECT, INSERT ON login_session TO hubgate_gateway;
GRANT UPDATE (last_seen_at, ended_at, ended_reason) ON login_session TO hubgate_gateway;
GRANT SELECT ON login_session TO hubgate_auditor;

-- When each hubgate token was last used (recorded at most once a minute per token), for the
-- token page and access reviews.
ALTER TABLE access_token ADD COLUMN last_used_at timestamptz;
GRANT UPDATE (last_used_at) ON access_token TO hubgate_gateway;

-- `hf auth login` (the OAuth device grant, RFC 8628): one row per device that asked. The
-- device code is shown to the device once; only its SHA-256 is stored. The user code is what
-- the person types or confirms; unique among live grants. The gateway records each poll, the
-- person's decision, and the token it issued once.
CREATE TABLE device_grant (
    id           text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{8,64}$'),
    device_hash  bytea NOT NULL UNIQUE CHECK (length(device_hash) = 32),
    user_code    text NOT NULL CHECK (user_code ~ '^[BCDFGHJKLMNPQRSTVWXZ]{8}$'),
    client_id    text NOT NULL CHECK (length(client_id) BETWEEN 1 AND 128),
    client_ip    text NOT NULL CHECK (length(client_ip) <= 64),
    user_agent   text NOT NULL CHECK (length(user_agent) <= 512),
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    last_poll_at timestamptz,
    status       text NOT NULL DEFAULT 'pending'
                 CHECK (status IN ('pending', 'approved', 'denied', 'issued')),
    decided_at   timestamptz,
    owner_iss    text,
    owner_sub    text,
    owner        jsonb,
    scope        text CHECK (scope IN ('read', 'write')),
    CHECK (expires_at > created_at),
    CHECK ((status = 'pending') = (decided_at IS NULL)),
    CHECK (status NOT IN ('approved', 'issued') OR (owner IS NOT NULL AND scope IS NOT NULL))
);
CREATE UNIQUE INDEX device_grant_live_code ON device_grant (user_code) WHERE status = 'pending';
ALTER TABLE device_grant OWNER TO hubgate_owner;
GRANT SELECT, INSERT ON device_grant TO hubgate_gateway;
GRANT UPDATE (last_poll_at, status, decided_at, owner_iss, owner_sub, owner, scope)
    ON device_grant TO hubgate_gateway;
GRANT SELECT ON device_grant TO hubgate_auditor;

-- The refresh tokens of a device sign-in, rotated at each use: `grant_id` ties every rotation
-- (and every access token they minted, access_token.grant_id) to the sign-in that started
-- them, which bounds them all: nothing outlives signed_in_at + identity.tokens.max_days.
CREATE TABLE refresh_token (
    id           text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{8,64}$'),
    hash         bytea NOT NULL UNIQUE CHECK (length(hash) = 32),
    grant_id     text NOT NULL REFERENCES device_grant (id),
    owner_iss    text NOT NULL,
    owner_sub    text NOT NULL,
    owner        jsonb NOT NULL,
    scope        text NOT NULL CHECK (scope IN ('read', 'write')),
    signed_in_at timestamptz NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz,
    revoked_at   timestamptz,
    CHECK (expires_at > created_at)
);
CREATE INDEX refresh_token_grant ON refresh_token (grant_id);
CREATE INDEX refresh_token_owner ON refresh_token (owner_iss, owner_sub);
ALTER TABLE refresh_token OWNER TO hubgate_owner;
GRANT SELECT, INSERT ON refresh_token TO hubgate_gateway;
GRANT UPDATE (used_at, revoked_at) ON refresh_token TO hubgate_gateway;
GRANT SELECT ON refresh_token TO hubgate_auditor;

ALTER TABLE access_token ADD COLUMN grant_id text REFERENCES device_grant (id);
CREATE INDEX access_token_grant ON access_token (grant_id) WHERE grant_id IS NOT NULL;

-- SCIM 2.0 provisioning (docs/sign-in.md, "Deprovisioning"): the directory's people and groups
-- as Okta or Entra push them. A person is tied to an identity by externalId = the IdP's `sub`
-- when the directory sends it, else by userName = a verified email. `version` grows with every
-- change (a sequence), so every gateway notices a change within a second by polling one number.
-- Rows are never deleted: a deleted user or group keeps its row with deleted_at (the evidence
-- names it; a directory id is never reused).
CREATE SEQUENCE directory_version;
CREATE TABLE directory_user (
    id           text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{8,64}$'),
    user_name    text NOT NULL CHECK (length(user_name) BETWEEN 1 AND 256),
    external_id  text CHECK (length(external_id) BETWEEN 1 AND 256),
    display_name text CHECK (length(display_name) <= 256),
    email        text CHECK (length(email) <= 256),
    active       boolean NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    deleted_at   timestamptz,
    version      bigint NOT NULL DEFAULT nextval('directory_version')
);
CREATE UNIQUE INDEX directory_user_name ON directory_user (lower(user_name)) WHERE deleted_at IS NULL;
CREATE INDEX directory_user_external ON directory_user (external_id) WHERE deleted_at IS NULL;
CREATE TABLE directory_group (
    id           text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{8,64}$'),
    display_name text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 256),
    external_id  text CHECK (length(external_id) BETWEEN 1 AND 256),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    deleted_at   timestamptz,
    version      bigint NOT NULL DEFAULT nextval('directory_version')
);
CREATE UNIQUE INDEX directory_group_name ON directory_group (lower(display_name)) WHERE deleted_at IS NULL;
CREATE TABLE directory_member (
    group_id text NOT NULL REFERENCES directory_group (id),
    user_id  text NOT NULL REFERENCES directory_user (id),
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX directory_member_user ON directory_member (user_id);
ALTER SEQUENCE directory_version OWNER TO hubgate_owner;
ALTER TABLE directory_user OWNER TO hubgate_owner;
ALTER TABLE directory_group OWNER TO hubgate_owner;
ALTER TABLE directory_member OWNER TO hubgate_owner;
GRANT USAGE, SELECT ON SEQUENCE directory_version TO hubgate_gateway;
GRANT SELECT, INSERT ON directory_user, directory_group, directory_member TO hubgate_gateway;
GRANT UPDATE (user_name, external_id, display_name, email, active, updated_at, deleted_at, version)
    ON directory_user TO hubgate_gateway;
GRANT UPDATE (display_name, external_id, updated_at, deleted_at, version)
    ON directory_group TO hubgate_gateway;
GRANT DELETE ON directory_member TO hubgate_gateway;
GRANT SELECT ON directory_user, directory_group, directory_member TO hubgate_auditor;
