-- Pre-publication: a rotated-in key is published at once but signs only from activates_at, so
-- every instance and every verifier's JWKS cache knows it before the first token it signs.
-- The key it replaces gets retired_at = that same time. Existing keys have always been active.
ALTER TABLE signing_keys ADD COLUMN activates_at BIGINT NOT NULL DEFAULT 0;
UPDATE signing_keys SET activates_at = created_at;
