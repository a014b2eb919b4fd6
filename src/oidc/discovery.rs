//! Provider metadata (OIDC Discovery 1.0 §3, RFC 8414 §2), derived from the issuer alone.

use serde::Serialize;

use super::Issuer;
use super::client::AuthMethod;
use super::scope::KNOWN_SCOPES;

/// The discovery document. Every URL is built from the configured issuer; the document lists
/// what the service does and nothing else, because certified client libraries believe it.
#[derive(Clone, Debug, Serialize)]
pub struct ProviderMetadata {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    userinfo_endpoint: String,
    jwks_uri: String,
    end_session_endpoint: String,
    introspection_endpoint: String,
    revocation_endpoint: String,
    introspection_endpoint_auth_methods_supported: Vec<&'static str>,
    revocation_endpoint_auth_methods_supported: Vec<&'static str>,
    scopes_supported: &'static [&'static str],
    response_types_supported: &'static [&'static str],
    response_modes_supported: &'static [&'static str],
    grant_types_supported: &'static [&'static str],
    subject_types_supported: &'static [&'static str],
    id_token_signing_alg_values_supported: &'static [&'static str],
    token_endpoint_auth_methods_supported: Vec<&'static str>,
    token_endpoint_auth_signing_alg_values_supported: &'static [&'static str],
    code_challenge_methods_supported: &'static [&'static str],
    claims_supported: &'static [&'static str],
    /// RFC 9207: the authorization response carries `iss`.
    authorization_response_iss_parameter_supported: bool,
    /// Back-Channel Logout 1.0 §2.1: logout tokens carry `sid` as well as `sub`.
    backchannel_logout_supported: bool,
    backchannel_logout_session_supported: bool,
    claims_parameter_supported: bool,
    request_parameter_supported: bool,
    request_uri_parameter_supported: bool,
}

impl ProviderMetadata {
    /// The metadata for `issuer`.
    pub fn new(issuer: &Issuer) -> Self {
        Self {
            issuer: issuer.as_str().to_owned(),
            authorization_endpoint: issuer.endpoint("/authorize"),
            token_endpoint: issuer.endpoint("/token"),
            userinfo_endpoint: issuer.endpoint("/userinfo"),
            end_session_endpoint: issuer.endpoint("/logout"),
            introspection_endpoint: issuer.endpoint("/introspect"),
            revocation_endpoint: issuer.endpoint("/revoke"),
            introspection_endpoint_auth_methods_supported: secret_methods(),
            revocation_endpoint_auth_methods_supported: secret_methods(),
            jwks_uri: issuer.endpoint("/jwks.json"),
            scopes_supported: KNOWN_SCOPES,
            response_types_supported: &["code"],
            response_modes_supported: &["query"],
            grant_types_supported: &["authorization_code", "refresh_token", "client_credentials"],
            subject_types_supported: &["public"],
            // RS256 unless a client registered another (id_token_signed_response_alg).
            id_token_signing_alg_values_supported: &["RS256", "ES256", "EdDSA"],
            token_endpoint_auth_methods_supported: AuthMethod::ALL
                .iter()
                .map(|m| m.as_str())
                .collect(),
            // client_secret_jwt (HMAC) and private_key_jwt (the registered key's algorithm).
            token_endpoint_auth_signing_alg_values_supported: &[
                "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
                "ES256", "ES384", "EdDSA",
            ],
            // RFC 9700 §2.1.1: `plain` offers no protection against a leaked request.
            code_challenge_methods_supported: &["S256"],
            claims_supported: &[
                "iss",
                "sub",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "nonce",
                "sid",
                "name",
                "preferred_username",
                "email",
                "email_verified",
            ],
            authorization_response_iss_parameter_supported: true,
            backchannel_logout_supported: true,
            backchannel_logout_session_supported: true,
            claims_parameter_supported: false,
            request_parameter_supported: false,
            request_uri_parameter_supported: false,
        }
    }
}

/// The client authentication methods of the endpoints only confidential clients use.
fn secret_methods() -> Vec<&'static str> {
    AuthMethod::ALL
        .iter()
        .filter(|m| **m != AuthMethod::None)
        .map(|m| m.as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_follow_the_issuer_path() -> Result<(), Box<dyn std::error::Error>> {
        let issuer = Issuer::parse("https://example.com/identity-backend")?;
        let doc = serde_json::to_value(ProviderMetadata::new(&issuer))?;
        assert_eq!(doc["issuer"], "https://example.com/identity-backend");
        assert_eq!(
            doc["jwks_uri"],
            "https://example.com/identity-backend/jwks.json"
        );
        assert_eq!(
            doc["token_endpoint"],
            "https://example.com/identity-backend/token"
        );
        assert_eq!(
            doc["code_challenge_methods_supported"],
            serde_json::json!(["S256"])
        );
        Ok(())
    }
}
