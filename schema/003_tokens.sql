-- hubgate's own tokens (hf_gw_…). Only the SHA-256 of a token is stored; the token itself is
-- shown once, at minting. Revocation sets revoked_at, the one column the gateway may update.
CREATE TABLE access_token (
    id          text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{8,64}$'),
    hash        bytea NOT NULL UNIQUE CHECK (length(hash) = 32),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
    owner_iss   text NOT NULL,
    owner_sub   text NOT NULL,
    owner       jsonb NOT NULL,
    scope       text NOT NULL CHECK (scope IN ('read', 'write')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz,
    CHECK (expires_at > created_at)
);
CREATE INDEX access_token_owner ON access_token (owner_iss, owner_sub);

ALTER TABLE access_token OWNER TO hubgate_owner;
GRANT SELECT, INSERT ON access_token TO hubgate_gateway;
GRANT UPDATE (revoked_at) ON access_token TO hubgate_gateway;
GRANT SELECT ON access_token TO hubgate_auditor;
