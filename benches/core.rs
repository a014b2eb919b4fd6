//! The core operations every request on the hot paths pays for, one at a time: signing and
//! verifying per algorithm, PKCE, hashing codes and secrets, building and checking claims.
//! `cargo bench --bench core`; the numbers are in docs/performance.md.

// Set-up that fails has nothing to measure: panicking with the reason is the right answer.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use identity_backend::crypto::digest::token_hash;
use identity_backend::crypto::jwt::{self, SharedKey, Signer, TokenType};
use identity_backend::crypto::{KeyAlg, KeySet, SecretString, SigningKey};
use identity_backend::oidc::Issuer;
use identity_backend::oidc::claims::{self, Expectations, Registered, TokenClaims, at_hash};
use identity_backend::oidc::pkce::CodeChallenge;

const ISSUER: &str = "https://id.example.com";

/// Claims like a `client_credentials` access token's.
fn access_claims(now: i64) -> TokenClaims {
    TokenClaims {
        iss: ISSUER.into(),
        sub: "careergpt-backend".into(),
        aud: "logging-service".into(),
        iat: now,
        exp: now + 900,
        jti: "3q2-7wRz0nKkQ4xS1aLm8g".into(),
        client_id: Some("careergpt-backend".into()),
        scope: Some("logs:write".into()),
        auth_time: None,
        sid: None,
        act: None,
    }
}

fn keys() -> (KeySet, Vec<Arc<SigningKey>>) {
    let signing: Vec<Arc<SigningKey>> = KeyAlg::ALL
        .into_iter()
        .map(|alg| Arc::new(SigningKey::generate(alg).expect("key generation").0))
        .collect();
    let set = KeySet::signing_with(signing.clone(), vec![]).expect("a key set");
    (set, signing)
}

fn signing_and_verifying(c: &mut Criterion) {
    let (set, signing) = keys();
    let now = 1_800_000_000;
    let claims = access_claims(now);
    let shared = SharedKey::new(&SecretString::new(
        "shared-secret-of-the-logging-service-0123456789",
    ))
    .expect("HMAC key");
    for key in &signing {
        let alg = key.alg();
        c.bench_function(&format!("sign {alg}"), |b| {
            b.iter(|| jwt::sign(Signer::Key(key), TokenType::AccessToken, black_box(&claims)))
        });
        let token = jwt::sign(Signer::Key(key), TokenType::AccessToken, &claims).expect("signed");
        c.bench_function(&format!("verify {alg}"), |b| {
            b.iter(|| jwt::verify(black_box(&token), &set, None).expect("valid"))
        });
    }
    c.bench_function("sign HS256", |b| {
        b.iter(|| jwt::sign(Signer::Shared(&shared), TokenType::Jwt, black_box(&claims)))
    });
    let hs = jwt::sign(Signer::Shared(&shared), TokenType::Jwt, &claims).expect("signed");
    c.bench_function("verify HS256", |b| {
        b.iter(|| jwt::verify(black_box(&hs), &set, Some(&shared)).expect("valid"))
    });
}

fn protocol(c: &mut Criterion) {
    // RFC 7636 Appendix B.
    let challenge =
        CodeChallenge::from_stored("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into());
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    c.bench_function("pkce S256 check", |b| {
        b.iter(|| assert!(challenge.verify(black_box(verifier))))
    });
    let code = "Kx8vQ2mZ7pL4wN9rT3yB6cF1hJ5sD0gAqW2eR4tY6u";
    c.bench_function("code hash (SHA-256)", |b| {
        b.iter(|| token_hash(black_box(code)))
    });
    let now = 1_800_000_000;
    c.bench_function("access token claims: build and serialise", |b| {
        b.iter(|| serde_json::to_vec(&access_claims(black_box(now))).expect("JSON"))
    });
    let issuer = Issuer::parse(ISSUER).expect("issuer");
    let payload = serde_json::to_vec(&access_claims(now)).expect("JSON");
    let expect = Expectations {
        issuer: &issuer,
        audience: Some("logging-service"),
        now,
        leeway: 30,
    };
    let registered = Registered::from_payload(&payload).expect("claims");
    c.bench_function("claims check (iss, aud, exp, nbf)", |b| {
        b.iter(|| claims::validate(black_box(&registered), &expect).expect("valid"))
    });
    // /verify reads only the registered claims from the payload; /introspect and /userinfo
    // read every claim into a map.
    c.bench_function("payload: registered claims only", |b| {
        b.iter(|| Registered::from_payload(black_box(&payload)).expect("claims"))
    });
    c.bench_function("payload: every claim into a map", |b| {
        b.iter(|| {
            let map: serde_json::Map<String, serde_json::Value> =
                serde_json::from_slice(black_box(&payload)).expect("claims");
            Registered::from_map(&map)
        })
    });
    c.bench_function("at_hash", |b| {
        b.iter(|| at_hash(black_box(code), KeyAlg::Rs256))
    });
}

criterion_group!(benches, signing_and_verifying, protocol);
criterion_main!(benches);
