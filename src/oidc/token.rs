//! The token request (RFC 6749 §3.2): who the client says it is, and what grant it presents.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::params::Params;
use super::{ErrorCode, OAuthError};

/// Client credentials as presented (RFC 6749 §2.3.1), before they are checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PresentedClient {
    /// HTTP Basic.
    Basic {
        /// Client id.
        id: String,
        /// Client secret.
        secret: String,
    },
    /// `client_id` and `client_secret` in the body.
    Post {
        /// Client id.
        id: String,
        /// Client secret.
        secret: String,
    },
    /// Only `client_id`: a public client.
    Public {
        /// Client id.
        id: String,
    },
    /// An RFC 7523 JWT assertion (`private_key_jwt`).
    Assertion {
        /// The client id it claims.
        id: String,
        /// The assertion.
        assertion: String,
    },
}

impl PresentedClient {
    /// The claimed client id.
    pub fn id(&self) -> &str {
        match self {
            Self::Basic { id, .. }
            | Self::Post { id, .. }
            | Self::Public { id }
            | Self::Assertion { id, .. } => id,
        }
    }

    /// Whether HTTP Basic was used (a failure then answers with `WWW-Authenticate`).
    pub fn used_basic(&self) -> bool {
        matches!(self, Self::Basic { .. })
    }
}

fn invalid_client(description: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidClient, description)
}

/// Reads the client's credentials from the `Authorization` header and the body.
///
/// RFC 6749 §2.3: a client uses one authentication method per request, so Basic together with
/// a `client_secret` in the body is refused.
pub fn presented_client(
    authorization: Option<&str>,
    params: &Params,
) -> Result<PresentedClient, OAuthError> {
    match (
        params.get("client_assertion_type"),
        params.get("client_assertion"),
    ) {
        (None, None) => {}
        (Some(super::assertion::JWT_BEARER), Some(assertion)) => {
            if authorization
                .is_some_and(|h| h.trim_start().to_ascii_lowercase().starts_with("basic "))
                || params.has("client_secret")
            {
                return Err(OAuthError::invalid_request(
                    "use one client authentication method, not two",
                ));
            }
            let claimed = super::assertion::claimed_client(assertion)
                .ok_or_else(|| invalid_client("the client assertion is malformed"))?;
            if params.get("client_id").is_some_and(|id| id != claimed) {
                return Err(invalid_client(
                    "client_id differs from the assertion's subject",
                ));
            }
            return Ok(PresentedClient::Assertion {
                id: claimed,
                assertion: assertion.to_owned(),
            });
        }
        _ => {
            return Err(OAuthError::invalid_request(
                "client_assertion_type must be jwt-bearer, with client_assertion",
            ));
        }
    }
    let basic = authorization
        .and_then(|h| {
            h.split_once(' ')
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        })
        .map(|(_, value)| decode_basic(value.trim()))
        .transpose()?;
    match (basic, params.get("client_id"), params.get("client_secret")) {
        (Some(_), _, Some(_)) => Err(OAuthError::invalid_request(
            "use one client authentication method, not two",
        )),
        (Some((id, _)), Some(body_id), None) if body_id != id => Err(OAuthError::invalid_request(
            "client_id differs from the authenticated client",
        )),
        (Some((id, secret)), _, None) => Ok(PresentedClient::Basic { id, secret }),
        (None, Some(id), Some(secret)) => Ok(PresentedClient::Post {
            id: id.to_owned(),
            secret: secret.to_owned(),
        }),
        (None, Some(id), None) => Ok(PresentedClient::Public { id: id.to_owned() }),
        (None, None, _) => Err(invalid_client("client authentication is required")),
    }
}

/// `base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1).
fn decode_basic(value: &str) -> Result<(String, String), OAuthError> {
    let malformed = || invalid_client("malformed Basic credentials");
    let bytes = STANDARD.decode(value).map_err(|_| malformed())?;
    let text = String::from_utf8(bytes).map_err(|_| malformed())?;
    let (id, secret) = text.split_once(':').ok_or_else(malformed)?;
    // Each part is one form-urlencoded value: `+` is a space, `%XX` a byte. A raw `&` or `=`
    // is kept as it is (escaped before parsing), never taken as a separator.
    let decode = |s: &str| -> String {
        let one_value = format!("x={}", s.replace('&', "%26").replace('=', "%3D"));
        form_urlencoded::parse(one_value.as_bytes())
            .map(|(_, v)| v.into_owned())
            .collect()
    };
    let (id, secret) = (decode(id), decode(secret));
    if id.is_empty() {
        return Err(malformed());
    }
    Ok((id, secret))
}

/// The grant presented to the token endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Grant {
    /// RFC 6749 §4.1.3.
    AuthorizationCode {
        /// The code.
        code: String,
        /// Must equal the authorization request's.
        redirect_uri: Option<String>,
        /// PKCE verifier.
        code_verifier: Option<String>,
    },
    /// RFC 6749 §6: a new access token for a refresh token.
    RefreshToken {
        /// The refresh token.
        refresh_token: String,
        /// A narrower scope, if asked for.
        scope: Option<String>,
    },
    /// RFC 6749 §4.4: a client's token for itself.
    ClientCredentials {
        /// Requested scopes.
        scope: Option<String>,
        /// Requested audience (`audience`, or RFC 8707 `resource`).
        audience: Option<String>,
    },
}

/// Parses `grant_type` and its parameters.
pub fn parse_grant(params: &Params) -> Result<Grant, OAuthError> {
    match params.get("grant_type") {
        None => Err(OAuthError::invalid_request("grant_type is required")),
        Some("authorization_code") => Ok(Grant::AuthorizationCode {
            code: params
                .get("code")
                .ok_or_else(|| OAuthError::invalid_request("code is required"))?
                .to_owned(),
            redirect_uri: params.get("redirect_uri").map(str::to_owned),
            code_verifier: params.get("code_verifier").map(str::to_owned),
        }),
        Some("refresh_token") => Ok(Grant::RefreshToken {
            refresh_token: params
                .get("refresh_token")
                .ok_or_else(|| OAuthError::invalid_request("refresh_token is required"))?
                .to_owned(),
            scope: params.get("scope").map(str::to_owned),
        }),
        Some("client_credentials") => Ok(Grant::ClientCredentials {
            scope: params.get("scope").map(str::to_owned),
            audience: requested_audience(params)?,
        }),
        Some(_) => Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            "this grant_type is not supported",
        )),
    }
}

/// The audience asked for: `audience` (the common extension) or `resource` (RFC 8707), which
/// must agree when both are sent.
fn requested_audience(params: &Params) -> Result<Option<String>, OAuthError> {
    match (params.get("audience"), params.get("resource")) {
        (Some(a), Some(r)) if a != r => Err(OAuthError::invalid_request(
            "audience and resource disagree",
        )),
        (Some(a), _) | (None, Some(a)) => Ok(Some(a.to_owned())),
        (None, None) => Ok(None),
    }
}

/// What a machine client may have: the scopes and the one audience of its token.
///
/// RFC 6749 §4.4 and §3.3, RFC 8707 §2: scopes beyond the registration are `invalid_scope`,
/// an audience beyond it `invalid_target`; without a requested scope the client gets what it
/// is registered for, without an audience its default one.
pub fn machine_grant(
    client: &super::Registration,
    scope: Option<&str>,
    audience: Option<&str>,
) -> Result<(super::ScopeSet, String), OAuthError> {
    use super::client::{ClientType, GrantType};
    if client.client_type != ClientType::Confidential
        || !client.allows(GrantType::ClientCredentials)
    {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "this client may not use client_credentials",
        ));
    }
    let scope = match scope {
        None => client.scopes.clone(),
        Some(s) => super::ScopeSet::parse(s)
            .map_err(|_| OAuthError::new(ErrorCode::InvalidScope, "scope is malformed"))?,
    };
    if !scope.is_subset(&client.scopes) {
        return Err(OAuthError::new(
            ErrorCode::InvalidScope,
            "a requested scope is not allowed for this client",
        ));
    }
    let audience = match audience {
        Some(a) if client.audiences.iter().any(|allowed| allowed == a) => a.to_owned(),
        Some(_) => {
            return Err(OAuthError::new(
                ErrorCode::InvalidTarget,
                "this audience is not allowed for this client",
            ));
        }
        None => match (&client.default_audience, client.audiences.as_slice()) {
            (Some(default), _) => default.clone(),
            (None, [only]) => only.clone(),
            _ => {
                return Err(OAuthError::new(
                    ErrorCode::InvalidTarget,
                    "name the audience (audience or resource)",
                ));
            }
        },
    };
    Ok((scope, audience))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(q: &str) -> Params {
        Params::from_urlencoded(q.as_bytes()).unwrap_or_default()
    }

    #[test]
    fn basic_post_and_public() {
        let basic = format!("Basic {}", STANDARD.encode("web%3Aapp:s%2Bcr t"));
        assert_eq!(
            presented_client(Some(&basic), &params("")),
            Ok(PresentedClient::Basic {
                id: "web:app".into(),
                secret: "s+cr t".into()
            })
        );
        assert_eq!(
            presented_client(None, &params("client_id=web&client_secret=x")),
            Ok(PresentedClient::Post {
                id: "web".into(),
                secret: "x".into()
            })
        );
        assert_eq!(
            presented_client(None, &params("client_id=spa")),
            Ok(PresentedClient::Public { id: "spa".into() })
        );
    }

    #[test]
    fn basic_parts_are_single_values() {
        // Found by review during fuzzing: `&` and `=` used to split the value, so
        // "s3cret&junk" was read as "s3cret" and "w&=eb" as "web".
        for (raw, id, secret) in [
            ("w&=eb:s3cret&junk", "w&=eb", "s3cret&junk"),
            ("web:a=b", "web", "a=b"),
            ("web:%26%3D+", "web", "&= "),
        ] {
            assert_eq!(
                decode_basic(&STANDARD.encode(raw)),
                Ok((id.to_owned(), secret.to_owned())),
                "{raw}"
            );
        }
    }

    #[test]
    fn ambiguous_or_missing_credentials() {
        let basic = format!("Basic {}", STANDARD.encode("web:s"));
        let codes =
            |h: Option<&str>, q: &str| presented_client(h, &params(q)).err().map(|e| e.code);
        assert_eq!(
            codes(Some(&basic), "client_secret=s"),
            Some(ErrorCode::InvalidRequest)
        );
        assert_eq!(
            codes(Some(&basic), "client_id=other"),
            Some(ErrorCode::InvalidRequest)
        );
        assert_eq!(codes(None, ""), Some(ErrorCode::InvalidClient));
        assert_eq!(codes(Some("Basic !!!"), ""), Some(ErrorCode::InvalidClient));
        assert_eq!(
            codes(Some(&format!("Basic {}", STANDARD.encode("nocolon"))), ""),
            Some(ErrorCode::InvalidClient)
        );
    }

    #[test]
    fn grants() {
        assert_eq!(
            parse_grant(&params("")).err().map(|e| e.code),
            Some(ErrorCode::InvalidRequest)
        );
        assert_eq!(
            parse_grant(&params("grant_type=password"))
                .err()
                .map(|e| e.code),
            Some(ErrorCode::UnsupportedGrantType)
        );
        assert_eq!(
            parse_grant(&params("grant_type=authorization_code"))
                .err()
                .map(|e| e.code),
            Some(ErrorCode::InvalidRequest)
        );
        assert!(matches!(
            parse_grant(&params(
                "grant_type=authorization_code&code=c&redirect_uri=https%3A%2F%2Fa"
            )),
            Ok(Grant::AuthorizationCode { .. })
        ));
    }
}
