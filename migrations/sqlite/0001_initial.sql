-- identity-backend schema, SQLite twin of migrations/postgres/0001_initial.sql.
-- Times are BIGINT unix seconds; ids are TEXT; secrets are stored only as hashes.

CREATE TABLE users (
    id                 TEXT PRIMARY KEY,            -- stable opaque subject, never reassigned
    username           TEXT NOT NULL,               -- as entered; preferred_username
    username_canonical TEXT NOT NULL UNIQUE,        -- lowercased, for lookups
    password_hash      TEXT NOT NULL,               -- argon2id PHC string
    email              TEXT,
    email_verified     BOOLEAN NOT NULL DEFAULT FALSE,
    name               TEXT,
    disabled           BOOLEAN NOT NULL DEFAULT FALSE,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);

CREATE TABLE clients (
    client_id                  TEXT PRIMARY KEY,
    name                       TEXT NOT NULL,
    client_type                TEXT NOT NULL,       -- confidential | public
    secret_hash                TEXT,                -- SHA-256 of a high-entropy secret; NULL for public clients
    token_endpoint_auth_method TEXT NOT NULL,
    grant_types                TEXT NOT NULL,       -- JSON array
    scopes                     TEXT NOT NULL,       -- space-separated scopes the client may request
    audiences                  TEXT NOT NULL,       -- JSON array of audiences it may request
    default_audience           TEXT,
    created_at                 BIGINT NOT NULL,
    updated_at                 BIGINT NOT NULL
);

CREATE TABLE client_redirect_uris (
    client_id TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    uri       TEXT NOT NULL,                        -- verbatim; matched by exact string comparison
    PRIMARY KEY (client_id, uri)
);

-- The Flask version's `codes` table, grown up: the code itself is never stored.
CREATE TABLE authorization_codes (
    code_hash             TEXT PRIMARY KEY,
    client_id             TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    user_id               TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    redirect_uri          TEXT NOT NULL,
    scope                 TEXT NOT NULL,
    nonce                 TEXT,
    code_challenge        TEXT,
    code_challenge_method TEXT,
    session_id            TEXT,                 -- the browser session's public `sid`
    auth_time             BIGINT NOT NULL,
    created_at            BIGINT NOT NULL,
    expires_at            BIGINT NOT NULL,
    consumed_at           BIGINT,               -- set once, atomically, when redeemed
    access_token_jti      TEXT                  -- what to revoke if the code is replayed
);
CREATE INDEX authorization_codes_expires_at ON authorization_codes (expires_at);

CREATE TABLE signing_keys (
    kid         TEXT PRIMARY KEY,                   -- RFC 7638 thumbprint
    alg         TEXT NOT NULL,
    private_key BLOB NOT NULL,                      -- PKCS#8 DER
    created_at  BIGINT NOT NULL,
    retired_at  BIGINT                              -- NULL while it signs
);
-- At most one signing key per algorithm: two instances starting at once cannot both add one.
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (alg) WHERE retired_at IS NULL;

CREATE TABLE sessions (
    id_hash    TEXT PRIMARY KEY,                    -- hash of the cookie's session id
    sid        TEXT UNIQUE,                         -- public id, the ID token's `sid` (once signed in)
    user_id    TEXT REFERENCES users (id) ON DELETE CASCADE,
    data       TEXT NOT NULL,
    auth_time  BIGINT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- Tokens revoked before their expiry (RFC 7009, code replay): kept until they would have expired.
CREATE TABLE revoked_tokens (
    jti        TEXT PRIMARY KEY,
    revoked_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX revoked_tokens_expires_at ON revoked_tokens (expires_at);
