-- Consent: first-party clients (the platform's own apps, the default) never ask; third-party
-- clients ask once per user for the scopes they request, and the answer is kept here.
ALTER TABLE clients ADD COLUMN first_party BOOLEAN NOT NULL DEFAULT TRUE;

CREATE TABLE consents (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    scope      TEXT NOT NULL,                       -- every scope granted so far, space-separated
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_id)
);
