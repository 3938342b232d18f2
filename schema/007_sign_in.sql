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
