-- Back-Channel Logout 1.0: where a client wants to hear that a session ended, which clients
-- each session signed in to, and the logout tokens still to deliver. The deliveries are an
-- outbox: they survive a restart, and whichever instance is free sends them.
ALTER TABLE clients ADD COLUMN backchannel_logout_uri TEXT;

CREATE TABLE session_clients (
    sid        TEXT NOT NULL,
    client_id  TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,                     -- the session's absolute end
    PRIMARY KEY (sid, client_id)
);
CREATE INDEX session_clients_expires_at ON session_clients (expires_at);

CREATE TABLE logout_deliveries (
    id              TEXT PRIMARY KEY,               -- the logout token's jti
    client_id       TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    user_id         TEXT NOT NULL,                  -- no reference: the user may be deleted
    sid             TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX logout_deliveries_next_attempt_at ON logout_deliveries (next_attempt_at);
