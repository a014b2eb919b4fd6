//! JWS verification (`identity_backend::crypto::jwt`): the first code that bearer tokens,
//! `id_token_hint`s and client assertions from the outside reach.
//!
//! The input, as a string (lossy UTF-8), is verified as a compact JWS by `verify` (without and
//! with the shared HS256 key), `verify_with_secret` (a fixed client secret) and
//! `verify_with_client_keys` (the JWKS of our own RS256 key, built once). Because the fuzzer
//! cannot guess our key's `kid` (its RFC 7638 thumbprint), everything after the input's first
//! `.` is verified a second time under a header that names that `kid`, with an algorithm
//! picked by the first byte: this reaches the algorithm check and the signature check. The
//! input is also parsed as a client's registered JWKS by `client_jwks`, and any JWKS it accepts
//! is used to verify the forged token.
//!
//! Must hold: nothing panics, and nothing verifies (the fuzzer holds none of the keys).
#![no_main]

use std::sync::{Arc, OnceLock};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use identity_backend::crypto::jwt::{
    self, SharedKey, client_jwks, verify_with_client_keys, verify_with_secret,
};
use identity_backend::crypto::{KeySet, SecretString, SigningKey};
use libfuzzer_sys::fuzz_target;

struct Fixture {
    keys: KeySet,
    shared: SharedKey,
    client_secret: SecretString,
    jwks: String,
    kid: String,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let (key, _der) = SigningKey::generate_rs256().expect("RSA key generation");
        let kid = key.kid().to_owned();
        let keys = KeySet::new(Arc::new(key), vec![]);
        let jwks = String::from_utf8(keys.jwks().to_vec()).expect("our JWKS is UTF-8");
        Fixture {
            keys,
            shared: SharedKey::new(&SecretString::new("fuzz-shared-secret-".repeat(2)))
                .expect("shared key"),
            client_secret: SecretString::new("fuzz-client-secret-".repeat(2)),
            jwks,
            kid,
        }
    })
}

/// Algorithms for the forged header: ours, the confusion classics, and other families.
const ALGS: &[&str] = &[
    "RS256", "HS256", "none", "RS512", "PS256", "ES256", "EdDSA", "HS512",
];

fn assert_refused<T: std::fmt::Debug, E>(what: &str, token: &str, result: Result<T, E>) {
    if let Ok(verified) = result {
        panic!("{what} accepted a token the fuzzer made: {token:?} -> {verified:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let token = String::from_utf8_lossy(data);
    let token = token.as_ref();

    assert_refused("verify", token, jwt::verify(token, &f.keys, None));
    assert_refused(
        "verify (shared key)",
        token,
        jwt::verify(token, &f.keys, Some(&f.shared)),
    );
    assert_refused(
        "verify_with_secret",
        token,
        verify_with_secret(token, &f.client_secret),
    );
    assert_refused(
        "verify_with_client_keys",
        token,
        verify_with_client_keys(token, &f.jwks),
    );

    // The rest of the input under a header naming our key.
    let alg = ALGS[usize::from(data.first().copied().unwrap_or(0)) % ALGS.len()];
    let rest = token.split_once('.').map_or(token, |(_, rest)| rest);
    let header = format!(r#"{{"alg":"{alg}","kid":"{}","typ":"JWT"}}"#, f.kid);
    let forged = format!("{}.{rest}", URL_SAFE_NO_PAD.encode(header));
    assert_refused(
        "verify (forged header)",
        &forged,
        jwt::verify(&forged, &f.keys, Some(&f.shared)),
    );
    assert_refused(
        "verify_with_client_keys (forged header)",
        &forged,
        verify_with_client_keys(&forged, &f.jwks),
    );

    // The input as a client's JWKS (admin input, validated at registration).
    if let Ok(registered) = client_jwks(token) {
        let doc: serde_json::Value =
            serde_json::from_str(&registered).expect("client_jwks returns JSON");
        assert!(
            doc["keys"].as_array().is_some_and(|keys| !keys.is_empty()),
            "client_jwks returned no keys: {registered}"
        );
        assert_refused(
            "verify_with_client_keys (registered JWKS)",
            &forged,
            verify_with_client_keys(&forged, &registered),
        );
    }
});
