-- Failed sign-ins per account ("user:<name>", whether or not it exists, so a lock tells
-- nothing) and per client IP ("ip:<address>"), shared by every instance. A row is forgotten
-- (expires_at) 15 minutes after its last failure or the end of its lock, whichever is later.
CREATE TABLE login_failures (
    subject      TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL,
    locked_until BIGINT NOT NULL DEFAULT 0,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX login_failures_expires_at ON login_failures (expires_at);
