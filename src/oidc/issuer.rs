//! The issuer identifier, and every URL derived from it.

use std::fmt;

use url::Url;

/// The issuer identifier (OIDC Discovery §3, RFC 8414 §2): an absolute `http(s)` URL with no
/// query or fragment, kept without a trailing slash. It may carry a path (the service behind a
/// prefix-stripping proxy, DESIGN §4); every URL we publish is derived from it, never from the
/// request's `Host`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issuer(String);

/// Why a string is not an issuer.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum IssuerError {
    /// Not an absolute URL.
    #[error("must be an absolute URL such as https://id.example.com")]
    NotAbsolute,
    /// Neither http nor https.
    #[error("must use https (or http in dev mode)")]
    Scheme,
    /// Has a query, fragment or user info.
    #[error("must not contain a query, fragment or user info")]
    Extra,
}

impl Issuer {
    /// Parses an issuer URL; a trailing slash is dropped so `issuer + "/token"` is well formed.
    pub fn parse(value: &str) -> Result<Self, IssuerError> {
        let url = Url::parse(value.trim()).map_err(|_| IssuerError::NotAbsolute)?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(IssuerError::Scheme);
        }
        if url.query().is_some()
            || url.fragment().is_some()
            || !url.username().is_empty()
            || url.password().is_some()
        {
            return Err(IssuerError::Extra);
        }
        Ok(Self(url.as_str().trim_end_matches('/').to_owned()))
    }

    /// Whether the issuer uses https (required outside dev mode).
    pub fn is_https(&self) -> bool {
        self.0.starts_with("https://")
    }

    /// The issuer string, exactly as it appears in `iss`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The public URL of one of our endpoints, e.g. `endpoint("/token")`.
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.0)
    }
}

impl fmt::Display for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_paths_and_drops_trailing_slash() -> Result<(), IssuerError> {
        let issuer = Issuer::parse("https://example.com/identity-backend/")?;
        assert_eq!(issuer.as_str(), "https://example.com/identity-backend");
        assert_eq!(
            issuer.endpoint("/token"),
            "https://example.com/identity-backend/token"
        );
        assert!(issuer.is_https());
        assert_eq!(
            Issuer::parse("http://127.0.0.1:5002")?.as_str(),
            "http://127.0.0.1:5002"
        );
        Ok(())
    }

    #[test]
    fn refuses_non_urls_and_extras() {
        assert_eq!(
            Issuer::parse("id.example.com"),
            Err(IssuerError::NotAbsolute)
        );
        assert_eq!(Issuer::parse("ftp://example.com"), Err(IssuerError::Scheme));
        assert_eq!(
            Issuer::parse("https://example.com/?a=b"),
            Err(IssuerError::Extra)
        );
        assert_eq!(
            Issuer::parse("https://example.com/#x"),
            Err(IssuerError::Extra)
        );
        assert_eq!(
            Issuer::parse("https://u:p@example.com"),
            Err(IssuerError::Extra)
        );
    }
}
