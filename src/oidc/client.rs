//! Client identity and registration vocabulary (RFC 6749 §2, RFC 7591 §2).

use std::fmt;
use std::str::FromStr;

use crate::crypto::KeyAlg;

/// A client identifier: 1 to 128 characters from `A-Z a-z 0-9 - . _ ~`.
///
/// Narrower than RFC 6749's VSCHAR on purpose: ids appear in URLs, logs and HTTP Basic
/// credentials (where `:` would split them), so they need no escaping anywhere.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ClientId(String);

/// Why a string is not a client id.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("client ids are 1 to 128 characters from A-Z a-z 0-9 - . _ ~")]
pub struct InvalidClientId;

impl ClientId {
    /// Parses a client id.
    pub fn parse(value: &str) -> Result<Self, InvalidClientId> {
        let ok = (1..=128).contains(&value.len())
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
        if ok {
            Ok(Self(value.to_owned()))
        } else {
            Err(InvalidClientId)
        }
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// RFC 6749 §2.1 client types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientType {
    /// Can keep a secret (a server-side web app, a backend service).
    Confidential,
    /// Cannot (a SPA, a native app): authenticates with `none` and must use PKCE.
    Public,
}

/// RFC 7591 §2 `token_endpoint_auth_method` values we support.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMethod {
    /// HTTP Basic with `client_id:client_secret` (RFC 6749 §2.3.1).
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
    /// RFC 7523 assertion signed with HS256 and the client secret.
    ClientSecretJwt,
    /// RFC 7523 assertion signed with the client's registered key.
    PrivateKeyJwt,
    /// A public client: no authentication.
    None,
}

/// OAuth grant types a client may be allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrantType {
    /// RFC 6749 §4.1.
    AuthorizationCode,
    /// RFC 6749 §4.4.
    ClientCredentials,
    /// RFC 6749 §6.
    RefreshToken,
}

/// A registration value that is not one we know.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown value {0:?}")]
pub struct UnknownValue(pub String);

macro_rules! wire_names {
    ($ty:ty { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            /// The registered name.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $name),+ }
            }

            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];
        }

        impl FromStr for $ty {
            type Err = UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s { $($name => Ok(Self::$variant),)+ _ => Err(UnknownValue(s.to_owned())) }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_names!(ClientType { Confidential => "confidential", Public => "public" });
wire_names!(AuthMethod {
    ClientSecretBasic => "client_secret_basic",
    ClientSecretPost => "client_secret_post",
    ClientSecretJwt => "client_secret_jwt",
    PrivateKeyJwt => "private_key_jwt",
    None => "none",
});
wire_names!(GrantType {
    AuthorizationCode => "authorization_code",
    ClientCredentials => "client_credentials",
    RefreshToken => "refresh_token",
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids() {
        assert!(ClientId::parse("browser-ui").is_ok());
        assert!(ClientId::parse("careergpt_backend.v2~x").is_ok());
        for bad in ["", "a b", "a:b", "é", "<script>", &"a".repeat(129)] {
            assert_eq!(ClientId::parse(bad), Err(InvalidClientId), "{bad:?}");
        }
    }

    #[test]
    fn names_round_trip() {
        for m in AuthMethod::ALL {
            assert_eq!(m.as_str().parse::<AuthMethod>(), Ok(*m));
        }
        for g in GrantType::ALL {
            assert_eq!(g.as_str().parse::<GrantType>(), Ok(*g));
        }
        assert!("implicit".parse::<GrantType>().is_err());
    }
}

/// A client's registration in protocol terms, parsed once from storage.
#[derive(Clone, Debug)]
pub struct Registration {
    /// Client id.
    pub id: ClientId,
    /// Display name.
    pub name: String,
    /// Confidential or public.
    pub client_type: ClientType,
    /// `token_endpoint_auth_method`.
    pub auth_method: AuthMethod,
    /// SHA-256 of the secret, for confidential clients.
    pub secret_hash: Option<String>,
    /// Registered redirect URIs.
    pub redirect_uris: Vec<super::RedirectUri>,
    /// Allowed grant types.
    pub grant_types: Vec<GrantType>,
    /// Scopes it may request.
    pub scopes: super::ScopeSet,
    /// Audiences it may request tokens for.
    pub audiences: Vec<String>,
    /// Audience of its tokens when a request names none.
    pub default_audience: Option<String>,
    /// Its public keys (JWKS JSON) for `private_key_jwt`.
    pub jwks: Option<String>,
    /// Services it may request tokens on behalf of.
    pub may_act_for: Vec<String>,
    /// Its secret sealed under `KEY_ENCRYPTION_KEY` (`client_secret_jwt`).
    pub sealed_secret: Option<String>,
    /// Where the browser may go after RP-initiated logout.
    pub post_logout_redirect_uris: Vec<super::RedirectUri>,
    /// Where it is told that a session ended (Back-Channel Logout 1.0).
    pub backchannel_logout_uri: Option<String>,
    /// First-party clients (the platform's own apps) never show a consent page.
    pub first_party: bool,
    /// How its ID tokens are signed (`id_token_signed_response_alg`); `None`: RS256.
    pub id_token_alg: Option<KeyAlg>,
    /// How its JWT access tokens are signed; `None`: the server's `ACCESS_TOKEN_ALG`.
    pub access_token_alg: Option<KeyAlg>,
}

impl Registration {
    /// Whether the client may use `grant`.
    pub fn allows(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }
}
