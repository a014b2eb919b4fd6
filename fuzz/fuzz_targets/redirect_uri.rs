//! Redirect URI registration and matching (`identity_backend::oidc::RedirectUri`), plus the
//! response URL built on a registered one (`authorize::response_url`).
//!
//! Input layout: `CANDIDATE \n PRESENTED` (lossy UTF-8; without a newline both are the whole
//! input). CANDIDATE is parsed under both policies; each parsed URI is matched against
//! itself and against PRESENTED. Must hold: nothing panics; a parsed URI is kept verbatim
//! (`as_str`, `Display`) and matches its own `as_str()` and only that string; whatever
//! `HttpsOnly` accepts `AllowHttpLoopback` accepts too, and it is https; nothing accepted
//! has a `#`, whitespace, control characters, or more than 2048 bytes; a response URL starts
//! with the URI.
#![no_main]

use identity_backend::oidc::authorize::response_url;
use identity_backend::oidc::{RedirectUri, RedirectUriPolicy};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (candidate, presented) = text.split_once('\n').unwrap_or((&text, &text));

    let https = RedirectUri::parse(candidate, RedirectUriPolicy::HttpsOnly);
    let dev = RedirectUri::parse(candidate, RedirectUriPolicy::AllowHttpLoopback);
    if https.is_ok() {
        assert!(
            dev.is_ok(),
            "HttpsOnly accepts what dev mode refuses: {candidate:?}"
        );
        assert!(
            candidate
                .get(..6)
                .is_some_and(|s| s.eq_ignore_ascii_case("https:")),
            "HttpsOnly accepted a non-https URI: {candidate:?}"
        );
    }
    for uri in [https, dev].iter().flatten() {
        assert_eq!(uri.as_str(), candidate);
        assert_eq!(uri.to_string(), candidate);
        assert!(uri.matches(uri.as_str()));
        assert_eq!(uri.matches(presented), presented == candidate);
        assert!(candidate.len() <= 2048);
        assert!(!candidate.contains('#'), "{candidate:?}");
        assert!(
            !candidate
                .chars()
                .any(|c| c.is_whitespace() || c.is_control()),
            "{candidate:?}"
        );
        let response = response_url(uri.as_str(), &[("code", presented), ("state", "s")]);
        assert!(response.starts_with(candidate), "{response:?}");
    }
});
