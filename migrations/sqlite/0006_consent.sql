-- Consent: first-party clients (the platform's own apps, the default) never ask; third-party
-- clients ask once per user for the scopes they request. One row per allowed scope, so two
-- consents given at once both count (inserts only, never a read-modify-write).
ALTER TABLE clients ADD COLUMN first_party BOOLEAN NOT NULL DEFAULT TRUE;

CREATE TABLE consents (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    scope      TEXT NOT NULL,                       -- one scope token
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_id, scope)
);
