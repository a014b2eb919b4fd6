//! `ScopeSet::parse` (`identity_backend::oidc::scope`): the `scope` parameter of the
//! authorization and token requests.
//!
//! The input (lossy UTF-8) is parsed as a scope string. Must hold: nothing panics; it parses
//! exactly when every byte is a space or a scope-token character (RFC 6749 §3.3: %x21,
//! %x23-5B, %x5D-7E) and no token is longer than 128 bytes; a parsed set prints sorted,
//! without duplicates, and parses back to itself; set operations with itself are identities.
#![no_main]

use identity_backend::oidc::ScopeSet;
use libfuzzer_sys::fuzz_target;

fn scope_token_byte(b: u8) -> bool {
    b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b)
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let expected_ok = text.bytes().all(|b| b == b' ' || scope_token_byte(b))
        && text.split(' ').all(|t| t.len() <= 128);
    let parsed = ScopeSet::parse(&text);
    assert_eq!(parsed.is_ok(), expected_ok, "{text:?}");
    let Ok(set) = parsed else {
        return;
    };

    let tokens: Vec<&str> = set.iter().collect();
    assert!(
        tokens.windows(2).all(|w| w[0] < w[1]),
        "not sorted or repeated"
    );
    for token in &tokens {
        assert!(!token.is_empty() && token.bytes().all(scope_token_byte));
        assert!(set.contains(token));
    }
    assert_eq!(set.is_empty(), tokens.is_empty());
    let printed = set.to_string();
    assert_eq!(printed, tokens.join(" "));
    assert_eq!(ScopeSet::parse(&printed).as_ref(), Ok(&set));
    assert!(set.is_subset(&set));
    assert_eq!(set.union(&set), set);
    assert!(ScopeSet::default().is_subset(&set));
});
