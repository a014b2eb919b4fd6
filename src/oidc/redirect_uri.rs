//! Registered redirect URIs: validated once when registered, then compared as exact strings.

use std::fmt;

use url::{Host, Url};

/// Longest redirect URI we register.
const MAX_LEN: usize = 2048;

/// Which schemes a registration may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RedirectUriPolicy {
    /// Production: https only.
    HttpsOnly,
    /// Dev mode: https, or http to a loopback host (`localhost`, `127.0.0.1`, `[::1]`).
    AllowHttpLoopback,
}

/// A redirect URI as registered, kept verbatim.
///
/// RFC 9700 §4.1.3 and OIDC Core §3.1.2.1: the presented `redirect_uri` must equal a
/// registered one by simple string comparison. Nothing is normalised (case, trailing slash,
/// default port, percent-encoding), because every normalisation is a bypass waiting to happen.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RedirectUri(String);

/// Why a string cannot be registered as a redirect URI.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum RedirectUriError {
    /// Not an absolute URL.
    #[error("must be an absolute URL")]
    NotAbsolute,
    /// Has a fragment (RFC 6749 §3.1.2).
    #[error("must not contain a fragment")]
    Fragment,
    /// Not https (or http to loopback in dev mode).
    #[error("must use https (http is allowed only for localhost in dev mode)")]
    Scheme,
    /// Carries user info, whitespace, or is too long.
    #[error("must not contain user info or whitespace, and at most 2048 characters")]
    Malformed,
}

impl RedirectUri {
    /// Validates a URI for registration.
    pub fn parse(value: &str, policy: RedirectUriPolicy) -> Result<Self, RedirectUriError> {
        if value.len() > MAX_LEN || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(RedirectUriError::Malformed);
        }
        let url = Url::parse(value).map_err(|_| RedirectUriError::NotAbsolute)?;
        if url.fragment().is_some() || value.contains('#') {
            return Err(RedirectUriError::Fragment);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(RedirectUriError::Malformed);
        }
        let host = url.host().ok_or(RedirectUriError::NotAbsolute)?;
        match (url.scheme(), policy) {
            ("https", _) => {}
            ("http", RedirectUriPolicy::AllowHttpLoopback) if is_loopback(&host) => {}
            _ => return Err(RedirectUriError::Scheme),
        }
        Ok(Self(value.to_owned()))
    }

    /// Exact, case-sensitive string comparison with a presented `redirect_uri`.
    pub fn matches(&self, presented: &str) -> bool {
        self.0 == presented
    }

    /// The URI as registered.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => ip.is_loopback(),
    }
}

#[cfg(test)]
mod tests {
    use super::RedirectUriPolicy::{AllowHttpLoopback, HttpsOnly};
    use super::*;

    #[test]
    fn accepts_https_and_loopback_http_in_dev() {
        assert!(RedirectUri::parse("https://app.example.com/callback", HttpsOnly).is_ok());
        assert!(RedirectUri::parse("http://localhost:5000/callback", AllowHttpLoopback).is_ok());
        assert!(RedirectUri::parse("http://127.0.0.1:8080/cb", AllowHttpLoopback).is_ok());
        assert!(RedirectUri::parse("http://[::1]/cb", AllowHttpLoopback).is_ok());
    }

    #[test]
    fn refuses_what_must_not_be_registered() {
        use RedirectUriError::*;
        let cases = [
            ("/callback", HttpsOnly, NotAbsolute),
            ("https://app.example.com/cb#frag", HttpsOnly, Fragment),
            ("https://app.example.com/cb#", HttpsOnly, Fragment),
            ("http://localhost:5000/callback", HttpsOnly, Scheme),
            ("http://app.example.com/cb", AllowHttpLoopback, Scheme),
            ("http://localhost.evil.com/cb", AllowHttpLoopback, Scheme),
            ("javascript:alert(1)", AllowHttpLoopback, NotAbsolute),
            ("https://user:pw@app.example.com/cb", HttpsOnly, Malformed),
            ("https://app.example.com/c b", HttpsOnly, Malformed),
        ];
        for (uri, policy, expected) in cases {
            assert_eq!(RedirectUri::parse(uri, policy), Err(expected), "{uri}");
        }
    }

    #[test]
    fn matches_exactly_and_only_exactly() -> Result<(), RedirectUriError> {
        let registered = RedirectUri::parse("https://app.example.com/callback", HttpsOnly)?;
        assert!(registered.matches("https://app.example.com/callback"));
        for bypass in [
            "https://app.example.com/callback/",
            "https://APP.example.com/callback",
            "https://app.example.com/callback?x=1",
            "https://app.example.com:443/callback",
            "https://app.example.com/callback/../evil",
            "https://app.example.com%2fcallback",
            "https://app.example.com/callback@evil.com",
            "https://app.example.com.evil.com/callback",
        ] {
            assert!(!registered.matches(bypass), "{bypass}");
        }
        Ok(())
    }
}
