//! `JwksVerifier` against a local issuer over real HTTP: algorithms taken from the keys, the
//! key cache (unknown kid, rotation, rate limit, single flight, outages) and the claim checks.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{AUDIENCE, Issuer, SigningKey, now, sign_hs256, signing_input};
use platform_auth::VerifyError;
use serde_json::json;

const HOUR: Duration = Duration::from_secs(3600);

async fn issuer_with(key: &SigningKey) -> Issuer {
    let issuer = Issuer::spawn().await;
    issuer.publish(key);
    issuer
}

#[tokio::test]
async fn tokens_of_each_key_type_verify_with_the_algorithm_of_their_key() {
    let issuer = Issuer::spawn().await;
    let keys = [
        SigningKey::rsa("rsa"),
        SigningKey::es256("ec"),
        SigningKey::ed25519("ed"),
    ];
    for key in &keys {
        issuer.publish(key);
    }
    let verifier = issuer.verifier(HOUR);
    for key in &keys {
        let claims = verifier
            .verify(&key.sign(&issuer.claims()))
            .await
            .unwrap_or_else(|e| panic!("{} refused: {e:?}", key.alg()));
        assert_eq!(claims.subject(), Some("careergpt-backend"));
        assert!(claims.has_scope("logs:write"));
    }
    assert_eq!(issuer.jwks_fetches(), 1, "one fetch serves every key");
}

#[tokio::test]
async fn an_unknown_kid_refetches_once_then_is_refused() {
    let key = SigningKey::es256("current");
    let issuer = issuer_with(&key).await;
    let interval = Duration::from_millis(300);
    let verifier = issuer.verifier(interval);
    assert_eq!(verifier.warm_up().await.unwrap(), 1);
    tokio::time::sleep(interval + Duration::from_millis(50)).await;

    let stranger = SigningKey::es256("stranger");
    let token = stranger.sign(&issuer.claims());
    assert!(matches!(
        verifier.verify(&token).await,
        Err(VerifyError::UnknownKey)
    ));
    assert_eq!(issuer.jwks_fetches(), 2, "one refetch for the unknown kid");

    // Made-up kids in a burst: no fetch at all within the interval.
    for _ in 0..20 {
        assert!(verifier.verify(&token).await.is_err());
    }
    assert_eq!(issuer.jwks_fetches(), 2, "rate-limited");

    // The known key keeps working throughout.
    assert!(verifier.verify(&key.sign(&issuer.claims())).await.is_ok());
}

#[tokio::test]
async fn concurrent_unknown_kids_share_one_refetch() {
    let key = SigningKey::es256("current");
    let issuer = issuer_with(&key).await;
    let interval = Duration::from_millis(200);
    let verifier = issuer.verifier(interval);
    verifier.warm_up().await.unwrap();
    tokio::time::sleep(interval + Duration::from_millis(50)).await;

    let token = SigningKey::es256("stranger").sign(&issuer.claims());
    let attempts = (0..16).map(|_| {
        let verifier = verifier.clone();
        let token = token.clone();
        tokio::spawn(async move { verifier.verify(&token).await })
    });
    for attempt in attempts {
        assert!(attempt.await.unwrap().is_err());
    }
    assert_eq!(issuer.jwks_fetches(), 2, "one refetch for all of them");
}

#[tokio::test]
async fn a_rotated_key_is_picked_up_by_a_refetch() {
    let old = SigningKey::rsa("old");
    let issuer = issuer_with(&old).await;
    let interval = Duration::from_millis(300);
    let verifier = issuer.verifier(interval);
    assert!(verifier.verify(&old.sign(&issuer.claims())).await.is_ok());
    assert_eq!(issuer.jwks_fetches(), 1);

    // The provider publishes a new key and signs with it at once (`keys rotate --now`).
    let new = SigningKey::ed25519("new");
    issuer.publish(&new);
    let token = new.sign(&issuer.claims());

    // Right after the last fetch the refetch is rate-limited...
    assert!(matches!(
        verifier.verify(&token).await,
        Err(VerifyError::UnknownKey)
    ));
    assert_eq!(issuer.jwks_fetches(), 1);

    // ...and once the interval has passed, the unknown kid refetches and verifies.
    tokio::time::sleep(interval + Duration::from_millis(50)).await;
    assert!(verifier.verify(&token).await.is_ok());
    assert_eq!(issuer.jwks_fetches(), 2);
    assert!(verifier.verify(&token).await.is_ok());
    assert!(verifier.verify(&old.sign(&issuer.claims())).await.is_ok());
    assert_eq!(issuer.jwks_fetches(), 2, "both keys now cached");
}

#[tokio::test]
async fn alg_none_is_refused() {
    let key = SigningKey::rsa("k");
    let issuer = issuer_with(&key).await;
    let verifier = issuer.verifier(HOUR);
    for alg in ["none", "None", "NONE"] {
        let token = format!(
            "{}.",
            signing_input(&json!({"alg": alg, "kid": "k"}), &issuer.claims())
        );
        assert!(
            verifier.verify(&token).await.is_err(),
            "alg {alg} must be refused"
        );
    }
}

#[tokio::test]
async fn hs256_signed_with_the_public_key_is_refused() {
    let key = SigningKey::rsa("k");
    let issuer = issuer_with(&key).await;
    let verifier = issuer.verifier(HOUR);
    let jwk = key.jwk();
    let header = json!({"alg": "HS256", "kid": "k"});
    // The classic confusion: the public key, in any form a verifier might hold, as an HMAC secret.
    for secret in [
        jwk.to_string(),
        jwk["n"].as_str().unwrap().to_owned(),
        serde_json::to_string(&json!({"keys": [jwk]})).unwrap(),
    ] {
        let token = sign_hs256(&header, &issuer.claims(), secret.as_bytes());
        assert!(matches!(
            verifier.verify(&token).await,
            Err(VerifyError::WrongAlgorithm)
        ));
    }
}

#[tokio::test]
async fn a_symmetric_key_in_the_jwks_is_never_used() {
    let issuer = Issuer::spawn().await;
    let secret = b"a-shared-secret-of-thirty-two-bytes!";
    use base64::Engine;
    issuer.publish_raw(json!({
        "kty": "oct", "kid": "shared", "alg": "HS256",
        "k": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret),
    }));
    let verifier = issuer.verifier(HOUR);
    let token = sign_hs256(
        &json!({"alg": "HS256", "kid": "shared"}),
        &issuer.claims(),
        secret,
    );
    assert!(matches!(
        verifier.verify(&token).await,
        Err(VerifyError::UnknownKey)
    ));
}

#[tokio::test]
async fn a_token_naming_another_asymmetric_alg_than_its_key_is_refused() {
    let key = SigningKey::rsa("k");
    let issuer = issuer_with(&key).await;
    let verifier = issuer.verifier(HOUR);
    let token = key.sign_with_header(&json!({"alg": "PS256", "kid": "k"}), &issuer.claims());
    assert!(matches!(
        verifier.verify(&token).await,
        Err(VerifyError::WrongAlgorithm)
    ));
}

#[tokio::test]
async fn headers_that_bring_their_own_key_are_refused() {
    let key = SigningKey::es256("k");
    let issuer = issuer_with(&key).await;
    let verifier = issuer.verifier(HOUR);
    for (name, value) in [
        ("jwk", key.jwk()),
        ("jku", json!("https://attacker.example/jwks.json")),
        ("x5u", json!("https://attacker.example/cert.pem")),
        ("crit", json!(["exp-ext"])),
    ] {
        let mut header = json!({"alg": "ES256", "kid": "k"});
        header[name] = value;
        let token = key.sign_with_header(&header, &issuer.claims());
        assert!(
            matches!(
                verifier.verify(&token).await,
                Err(VerifyError::ForbiddenHeader)
            ),
            "{name}"
        );
    }
}

#[tokio::test]
async fn a_forged_signature_is_refused() {
    let key = SigningKey::es256("k");
    let issuer = issuer_with(&key).await;
    let verifier = issuer.verifier(HOUR);
    // Signed by another key under the published kid.
    let impostor = SigningKey::es256("k");
    assert!(matches!(
        verifier.verify(&impostor.sign(&issuer.claims())).await,
        Err(VerifyError::BadSignature)
    ));
    // A valid token with its claims changed afterwards.
    let token = key.sign(&issuer.claims());
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut claims = issuer.claims();
    claims["sub"] = json!("admin");
    parts[1] = signing_input(&json!({}), &claims)
        .split('.')
        .nth(1)
        .unwrap()
        .to_owned();
    assert!(matches!(
        verifier.verify(&parts.join(".")).await,
        Err(VerifyError::BadSignature)
    ));
}

#[tokio::test]
async fn the_claims_are_checked() {
    let key = SigningKey::ed25519("k");
    let issuer = issuer_with(&key).await;
    let verifier = issuer.verifier(HOUR);
    let now = now();
    let with = |changes: serde_json::Value| {
        let mut claims = issuer.claims();
        for (name, value) in changes.as_object().unwrap() {
            if value.is_null() {
                claims.as_object_mut().unwrap().remove(name);
            } else {
                claims[name] = value.clone();
            }
        }
        key.sign(&claims)
    };

    let accepted = [
        ("exp just past, within the leeway", json!({"exp": now - 10})),
        (
            "nbf just ahead, within the leeway",
            json!({"nbf": now + 10}),
        ),
        (
            "aud an array containing ours",
            json!({"aud": ["search-service", AUDIENCE]}),
        ),
    ];
    for (what, changes) in accepted {
        assert!(verifier.verify(&with(changes)).await.is_ok(), "{what}");
    }

    let refused = [
        (
            "expired",
            json!({"exp": now - 120}),
            "the token has expired",
        ),
        (
            "not yet valid",
            json!({"nbf": now + 120}),
            "the token is not valid yet",
        ),
        (
            "another issuer",
            json!({"iss": "https://id.example.com"}),
            "the token is from another issuer",
        ),
        (
            "issuer with a trailing slash",
            json!({"iss": format!("{}/", issuer.url)}),
            "the token is from another issuer",
        ),
        (
            "another audience",
            json!({"aud": "search-service"}),
            "the token is for another audience",
        ),
        (
            "no exp",
            json!({"exp": null}),
            "the token's claims are incomplete or malformed",
        ),
        (
            "no aud",
            json!({"aud": null}),
            "the token's claims are incomplete or malformed",
        ),
    ];
    for (what, changes, message) in refused {
        let error = verifier.verify(&with(changes)).await.unwrap_err();
        assert_eq!(error.to_string(), message, "{what}");
    }
}

#[tokio::test]
async fn garbage_is_malformed_and_a_token_without_kid_is_refused() {
    let key = SigningKey::rsa("k");
    let issuer = issuer_with(&key).await;
    let verifier = issuer.verifier(HOUR);
    for garbage in ["", "abc", "a.b.c", "e30.e30.", &"x".repeat(20_000)] {
        assert!(matches!(
            verifier.verify(garbage).await,
            Err(VerifyError::Malformed)
        ));
    }
    let token = key.sign_with_header(&json!({"alg": "RS256"}), &issuer.claims());
    assert!(matches!(
        verifier.verify(&token).await,
        Err(VerifyError::MissingKid)
    ));
    assert_eq!(issuer.jwks_fetches(), 0, "nothing fetched for any of these");
}

#[tokio::test]
async fn an_issuer_that_is_down_leaves_the_cached_keys_working() {
    let key = SigningKey::es256("k");
    let issuer = issuer_with(&key).await;
    let interval = Duration::from_millis(100);
    let verifier = issuer.verifier(interval);
    verifier.warm_up().await.unwrap();

    issuer.set_down(true);
    tokio::time::sleep(interval + Duration::from_millis(50)).await;
    let stranger = SigningKey::es256("stranger").sign(&issuer.claims());
    assert!(matches!(
        verifier.verify(&stranger).await,
        Err(VerifyError::UnknownKey)
    ));
    assert!(verifier.verify(&key.sign(&issuer.claims())).await.is_ok());
}

#[tokio::test]
async fn without_any_key_an_unreachable_issuer_is_unavailable_not_a_bad_token() {
    let key = SigningKey::es256("k");
    let issuer = issuer_with(&key).await;
    issuer.set_down(true);
    let verifier = issuer.verifier(Duration::from_millis(100));
    let token = key.sign(&issuer.claims());
    assert!(matches!(
        verifier.verify(&token).await,
        Err(VerifyError::KeysUnavailable(_))
    ));

    // It comes up: the next request after the retry interval gets the keys.
    issuer.set_down(false);
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(verifier.verify(&token).await.is_ok());
}

#[tokio::test]
async fn discovery_naming_another_issuer_is_refused() {
    let key = SigningKey::es256("k");
    let issuer = issuer_with(&key).await;
    // Same discovery URL (the trailing slash is removed to build it), different identifier.
    let verifier = platform_auth::JwksVerifier::new(format!("{}/", issuer.url), AUDIENCE).unwrap();
    let error = verifier.warm_up().await.unwrap_err();
    assert!(
        matches!(error, platform_auth::FetchError::IssuerMismatch { .. }),
        "{error:?}"
    );
}
