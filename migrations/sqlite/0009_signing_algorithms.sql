-- Per-client signing algorithms (OIDC Dynamic Client Registration's id_token_signed_response_alg,
-- and the same for JWT access tokens); NULL: the server's default (RS256 / ACCESS_TOKEN_ALG).
ALTER TABLE clients ADD COLUMN id_token_signed_response_alg TEXT;
ALTER TABLE clients ADD COLUMN access_token_signed_response_alg TEXT;
