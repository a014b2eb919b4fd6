-- Machine clients: their public keys for private_key_jwt (RFC 7523), the other services they
-- may request tokens on behalf of (JSON list), and the assertion ids already used, kept until
-- the assertion expires so none is accepted twice.
ALTER TABLE clients ADD COLUMN jwks TEXT;
ALTER TABLE clients ADD COLUMN may_act_for TEXT NOT NULL DEFAULT '[]';
-- client_secret_jwt: the secret sealed with AES-256-GCM under KEY_ENCRYPTION_KEY, since HS256
-- assertions can only be checked with the secret itself (secret_hash still serves Basic/post).
ALTER TABLE clients ADD COLUMN sealed_secret TEXT;

CREATE TABLE used_client_assertions (
    client_id  TEXT NOT NULL,
    jti        TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE INDEX used_client_assertions_expires_at ON used_client_assertions (expires_at);
