-- RP-Initiated Logout 1.0 §3: where a client may send the browser after sign-out, matched
-- exactly like redirect URIs (JSON list).
ALTER TABLE clients ADD COLUMN post_logout_redirect_uris TEXT NOT NULL DEFAULT '[]';
