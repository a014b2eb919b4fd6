//! Discovery and the JWKS over HTTP.

use std::time::Duration;

use reqwest::header::CACHE_CONTROL;
use serde_json::Value;

use crate::error::FetchError;
use crate::keys::KeySet;

/// Metadata documents are small; a larger body is refused rather than buffered.
const BODY_LIMIT: usize = 256 * 1024;

/// A fetched JWKS and how long it may be cached.
pub(crate) struct FetchedKeys {
    /// Its usable keys.
    pub(crate) keys: KeySet,
    /// `Cache-Control: max-age`, when the response had one.
    pub(crate) max_age: Option<Duration>,
}

/// The `jwks_uri` from the issuer's discovery document (OIDC Discovery 1.0 §4), after
/// checking that the document is the issuer's own (§4.3).
pub(crate) async fn discover_jwks_uri(
    http: &reqwest::Client,
    issuer: &str,
) -> Result<String, FetchError> {
    // §4.1: the path is appended to the issuer after removing a trailing slash.
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let (document, _) = get_json(http, &url).await?;
    let found = document
        .get("issuer")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if found != issuer {
        return Err(FetchError::IssuerMismatch {
            expected: issuer.to_owned(),
            found: found.to_owned(),
        });
    }
    document
        .get("jwks_uri")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| FetchError::Document {
            url,
            reason: "no jwks_uri".into(),
        })
}

/// The keys at `jwks_uri`.
pub(crate) async fn fetch_keys(
    http: &reqwest::Client,
    jwks_uri: &str,
) -> Result<FetchedKeys, FetchError> {
    let (document, max_age) = get_json(http, jwks_uri).await?;
    let keys = KeySet::from_document(&document).map_err(|reason| FetchError::Document {
        url: jwks_uri.to_owned(),
        reason,
    })?;
    Ok(FetchedKeys { keys, max_age })
}

/// GETs a JSON document of at most [`BODY_LIMIT`] bytes, with its `max-age`.
async fn get_json(
    http: &reqwest::Client,
    url: &str,
) -> Result<(Value, Option<Duration>), FetchError> {
    let http_error = |source| FetchError::Http {
        url: url.to_owned(),
        source,
    };
    let mut response = http
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(http_error)?;
    if !response.status().is_success() {
        return Err(FetchError::Status {
            url: url.to_owned(),
            status: response.status().as_u16(),
        });
    }
    let max_age = response
        .headers()
        .get(CACHE_CONTROL)
        .and_then(|value| value.to_str().ok())
        .and_then(max_age);
    let too_large = || FetchError::TooLarge {
        url: url.to_owned(),
        limit: BODY_LIMIT,
    };
    if response
        .content_length()
        .is_some_and(|length| length > BODY_LIMIT as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(http_error)? {
        if body.len() + chunk.len() > BODY_LIMIT {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    let document = serde_json::from_slice(&body).map_err(|error| FetchError::Document {
        url: url.to_owned(),
        reason: error.to_string(),
    })?;
    Ok((document, max_age))
}

/// `max-age` from a `Cache-Control` value (RFC 9111 §5.2.2.1); `no-store` and `no-cache`
/// count as zero.
fn max_age(cache_control: &str) -> Option<Duration> {
    cache_control.split(',').find_map(|directive| {
        let directive = directive.trim();
        if directive.eq_ignore_ascii_case("no-store") || directive.eq_ignore_ascii_case("no-cache")
        {
            return Some(Duration::ZERO);
        }
        let (name, value) = directive.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("max-age") {
            return None;
        }
        value
            .trim()
            .trim_matches('"')
            .parse()
            .ok()
            .map(Duration::from_secs)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_max_age_among_other_directives() {
        assert_eq!(
            max_age("public, max-age=300"),
            Some(Duration::from_secs(300))
        );
        assert_eq!(max_age("MAX-AGE=\"60\""), Some(Duration::from_secs(60)));
        assert_eq!(max_age("no-store"), Some(Duration::ZERO));
        assert_eq!(max_age("public"), None);
        assert_eq!(max_age("max-age=soon"), None);
    }
}
