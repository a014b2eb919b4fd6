//! Client assertions (`identity_backend::oidc::assertion`, RFC 7523): the unverified read of
//! the claimed client (`claimed_client`) and the claim checks on a verified one (`check`).
//!
//! The input is read as an assertion by `claimed_client` (lossy UTF-8), then parsed with
//! `serde_json::from_slice` as a claims object; the object goes to `check` for a fixed client
//! id and for the `sub` it claims, at a fixed `now`, with and without leeway, and wrapped as an
//! assertion's payload back to `claimed_client`. Must hold: nothing panics; `claimed_client`
//! returns the payload's string `sub`; accepted claims have `iss` = `sub` = the client id, an
//! accepted `aud`, an `exp` within the allowed window (the one returned), no `nbf`/`iat` in the
//! future, and the returned `jti` of 1 to 256 bytes.
#![no_main]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use identity_backend::oidc::assertion::{MAX_LIFETIME, check, claimed_client};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

const NOW: i64 = 1_700_000_000;
const AUDIENCES: &[&str] = &["https://id.example.com/token", "https://id.example.com"];

fuzz_target!(|data: &[u8]| {
    let _ = claimed_client(&String::from_utf8_lossy(data));

    let Ok(claims) = serde_json::from_slice::<Map<String, Value>>(data) else {
        return;
    };
    let sub = claims.get("sub").and_then(Value::as_str);
    let wrapped = format!("eyJhbGciOiJSUzI1NiJ9.{}.c2ln", URL_SAFE_NO_PAD.encode(data));
    assert_eq!(claimed_client(&wrapped).as_deref(), sub);

    for client_id in ["client-1"].into_iter().chain(sub) {
        for leeway in [0, 30] {
            let Ok((jti, exp)) = check(&claims, client_id, AUDIENCES, NOW, leeway) else {
                continue;
            };
            let text = |name: &str| claims.get(name).and_then(Value::as_str);
            assert_eq!(text("iss"), Some(client_id));
            assert_eq!(text("sub"), Some(client_id));
            let aud_ok = |a: &Value| a.as_str().is_some_and(|a| AUDIENCES.contains(&a));
            assert!(match &claims["aud"] {
                Value::Array(list) => list.iter().any(aud_ok),
                other => aud_ok(other),
            });
            assert_eq!(claims["exp"].as_i64(), Some(exp));
            assert!((NOW - leeway..=NOW + MAX_LIFETIME + leeway).contains(&exp));
            for name in ["nbf", "iat"] {
                assert!(
                    claims
                        .get(name)
                        .and_then(Value::as_i64)
                        .is_none_or(|t| t <= NOW + leeway)
                );
            }
            assert_eq!(text("jti"), Some(jti.as_str()));
            assert!((1..=256).contains(&jti.len()));
        }
    }
});
