use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use identity_backend::service::keys;
use serde_json::Value;

use crate::helpers::{TestApp, header_of};

async fn jwks(app: &TestApp) -> Value {
    let response = app.get("/jwks.json").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age=")
    );
    response.json().await.unwrap()
}

/// RFC 7638 §3, computed here independently of the server's code.
fn thumbprint(jwk: &Value) -> String {
    let canonical = format!(
        r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
        jwk["e"].as_str().unwrap(),
        jwk["n"].as_str().unwrap()
    );
    URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        canonical.as_bytes(),
    ))
}

/// What the periodic reloader does, done now.
async fn reload_keys(app: &TestApp) {
    let window = keys::publication_window(&app.state.config);
    let current = app.state.keys.current();
    let reloaded = keys::load_key_set(
        &app.state.db,
        app.clock.now(),
        window,
        Some(&current),
        app.state.sealer.as_ref(),
    )
    .await
    .unwrap();
    app.state.keys.replace(reloaded);
}

#[tokio::test]
async fn publishes_the_signing_key_with_its_thumbprint_as_kid() {
    let app = TestApp::spawn().await;
    let doc = jwks(&app).await;
    let keys = doc["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    let key = &keys[0];
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["alg"], "RS256");
    assert_eq!(key["use"], "sig");
    assert_eq!(key["kid"], thumbprint(key));
    assert!(
        key.get("d").is_none() && key.get("p").is_none(),
        "no private members"
    );
    assert!(
        URL_SAFE_NO_PAD
            .decode(key["n"].as_str().unwrap())
            .unwrap()
            .len()
            >= 256,
        "at least 2048 bits"
    );

    let token = app.test_token("").await;
    assert_eq!(header_of(&token)["kid"], key["kid"]);
}

#[tokio::test]
async fn the_key_survives_a_restart() {
    let app = TestApp::spawn().await;
    let before = jwks(&app).await;
    let again = app.restart().await;
    assert_eq!(jwks(&again).await, before);
}

fn kids(doc: &Value) -> Vec<String> {
    doc["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

/// Rotates every algorithm's key; with the default settings that is RS256's alone.
async fn rotate(app: &TestApp, activation: keys::Activation) -> keys::Rotation {
    let mut rotations = keys::rotate(&app.state.db, &app.clock, &app.state.config, activation)
        .await
        .unwrap();
    assert_eq!(rotations.len(), 1, "{rotations:?}");
    rotations.remove(0)
}

fn secs(n: i64) -> Duration {
    Duration::from_secs(u64::try_from(n).unwrap())
}

#[tokio::test]
async fn a_rotated_key_is_published_before_it_signs_and_the_old_one_stays_until_its_tokens_expire()
{
    let app = TestApp::spawn().await;
    let old_token = app.test_token("").await;
    let old_kid = header_of(&old_token)["kid"].as_str().unwrap().to_owned();

    let rotation = rotate(&app, keys::Activation::Scheduled).await;
    let prepublication = keys::prepublication(&app.state.config);
    assert_eq!(rotation.activates_at, app.clock.now() + prepublication);
    reload_keys(&app).await;
    assert_eq!(
        kids(&jwks(&app).await),
        vec![old_kid.clone(), rotation.kid.clone()],
        "the next key is published at once, after the signing key"
    );
    assert_eq!(
        header_of(&app.test_token("").await)["kid"],
        old_kid.as_str(),
        "but does not sign yet"
    );

    app.clock.advance(secs(prepublication));
    reload_keys(&app).await;
    let new_token = app.test_token("").await;
    assert_eq!(
        header_of(&new_token)["kid"],
        rotation.kid.as_str(),
        "new tokens use the new key from its activation"
    );
    assert_eq!(kids(&jwks(&app).await), vec![rotation.kid.clone(), old_kid]);
    let (status, _) = app.verify(&serde_json::json!({ "token": old_token })).await;
    assert_eq!(
        status, 200,
        "tokens signed before the rotation still verify"
    );

    let window = keys::publication_window(&app.state.config);
    app.clock.advance(secs(window + 1));
    reload_keys(&app).await;
    assert_eq!(
        kids(&jwks(&app).await),
        vec![rotation.kid],
        "the old key leaves once its tokens have expired"
    );
}

#[tokio::test]
async fn an_immediate_rotation_signs_at_once() {
    let app = TestApp::spawn().await;
    let rotation = rotate(&app, keys::Activation::Immediate).await;
    assert_eq!(rotation.activates_at, app.clock.now());
    reload_keys(&app).await;
    assert_eq!(
        header_of(&app.test_token("").await)["kid"],
        rotation.kid.as_str()
    );
}

#[tokio::test]
async fn running_instances_pick_up_a_rotation_by_themselves() {
    let app = TestApp::spawn_with(
        identity_backend::config::Mode::Development,
        &[("KEYS_RELOAD_SECONDS", "1")],
    )
    .await;
    let before = app.state.keys.current().active().kid().to_owned();
    let rotation = rotate(&app, keys::Activation::Scheduled).await;
    assert_ne!(before, rotation.kid);
    let mut published = false;
    for _ in 0..50 {
        if kids(&jwks(&app).await).contains(&rotation.kid) {
            published = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(published, "the reloader published the next key");
    assert_eq!(header_of(&app.test_token("").await)["kid"], before.as_str());

    app.clock
        .advance(secs(keys::prepublication(&app.state.config)));
    let mut picked_up = false;
    for _ in 0..50 {
        if header_of(&app.test_token("").await)["kid"] == rotation.kid.as_str() {
            picked_up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(picked_up, "the reloader switched to the rotated key");
}

const KEK: &str = "kek-Kx8vQ2mZ7pL4wN9rT3yB6cF1hJ5sD0gAe7Qw";

async fn stored_private_keys(app: &TestApp) -> Vec<Vec<u8>> {
    identity_backend::store::keys::list_keys(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.private_key)
        .collect()
}

#[tokio::test]
async fn private_keys_are_sealed_at_rest_with_key_encryption_key() {
    // A deployment that started without KEY_ENCRYPTION_KEY has its key in clear...
    let app = TestApp::spawn().await;
    let token = app.test_token("").await;
    assert!(
        stored_private_keys(&app).await[0].starts_with(&[0x30]),
        "PKCS#8 DER"
    );

    // ...and sealed at the next start with it; the same key goes on signing.
    let app = app
        .restart_with(|config| {
            config.key_encryption_key = Some(identity_backend::crypto::SecretString::new(KEK));
        })
        .await;
    let stored = stored_private_keys(&app).await;
    assert!(stored[0].starts_with(b"sealed-v1:"), "sealed in place");
    let (status, _) = app.verify(&serde_json::json!({ "token": token })).await;
    assert_eq!(status, 200);
    let again = app.test_token("").await;
    assert_eq!(header_of(&again)["kid"], header_of(&token)["kid"]);

    // New keys are sealed from the start.
    rotate(&app, keys::Activation::Immediate).await;
    assert!(
        stored_private_keys(&app)
            .await
            .iter()
            .all(|k| k.starts_with(b"sealed-v1:"))
    );
}

#[tokio::test]
async fn a_sealed_key_needs_its_key_encryption_key() {
    let app = TestApp::spawn_with(
        identity_backend::config::Mode::Development,
        &[("KEY_ENCRYPTION_KEY", KEK)],
    )
    .await;
    let window = keys::publication_window(&app.state.config);
    let now = app.clock.now();
    let without = keys::load_key_set(&app.state.db, now, window, None, None).await;
    let Err(message) = without else {
        panic!("loaded without the key")
    };
    let message = message.to_string();
    assert!(
        message.contains("KEY_ENCRYPTION_KEY is needed"),
        "{message}"
    );
    let wrong = identity_backend::crypto::seal::Sealer::new(
        &identity_backend::crypto::SecretString::new("another-key-Kx8vQ2mZ7pL4wN9rT3yB6cF1hJ5"),
    )
    .unwrap();
    let refused = keys::load_key_set(&app.state.db, now, window, None, Some(&wrong)).await;
    let Err(refused) = refused else {
        panic!("loaded with the wrong key")
    };
    assert!(refused.to_string().contains("does not open"));
}

#[tokio::test]
async fn keys_rotate_on_schedule_with_pre_publication() {
    let app = TestApp::spawn_with(
        identity_backend::config::Mode::Development,
        &[("KEY_ROTATION_DAYS", "1"), ("KEYS_RELOAD_SECONDS", "1")],
    )
    .await;
    let first = header_of(&app.test_token("").await)["kid"].clone();
    assert_eq!(
        keys::rotate_if_due(&app.state).await.unwrap(),
        Vec::<String>::new(),
        "not yet"
    );

    // A day minus the pre-publication time later, the reloader schedules the next key.
    let prepublication = keys::prepublication(&app.state.config);
    app.clock.advance(secs(86_400 - prepublication));
    let mut next = None;
    for _ in 0..50 {
        let published = kids(&jwks(&app).await);
        if published.len() == 2 {
            next = published
                .into_iter()
                .find(|k| *k != first.as_str().unwrap());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let next = next.expect("the next key is published");
    assert_eq!(
        header_of(&app.test_token("").await)["kid"],
        first,
        "not signing yet"
    );
    assert_eq!(
        keys::rotate_if_due(&app.state).await.unwrap(),
        Vec::<String>::new(),
        "scheduled once"
    );

    app.clock.advance(secs(prepublication));
    let mut switched = false;
    for _ in 0..50 {
        if header_of(&app.test_token("").await)["kid"] == next.as_str() {
            switched = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(switched, "the scheduled key signs from its activation");
}

#[tokio::test]
async fn instances_scheduling_the_next_key_at_once_add_one() {
    let a = TestApp::spawn_with(
        identity_backend::config::Mode::Development,
        &[("KEY_ROTATION_DAYS", "1")],
    )
    .await;
    let b = a.spawn_sibling().await;
    for app in [&a, &b] {
        app.clock.advance(secs(86_400));
    }
    let (x, y) = tokio::join!(keys::rotate_if_due(&a.state), keys::rotate_if_due(&b.state));
    let scheduled: Vec<String> = [x.unwrap(), y.unwrap()].into_iter().flatten().collect();
    assert!(scheduled.len() <= 1, "{scheduled:?}");
    let stored = identity_backend::store::keys::list_keys(&a.state.db)
        .await
        .unwrap();
    assert_eq!(stored.len(), 2, "one new key, whoever added it");
}

#[tokio::test]
async fn a_compromised_key_is_replaced_then_withdrawn() {
    let app = TestApp::spawn().await;
    let stolen = app.test_token("").await;
    let old_kid = header_of(&stolen)["kid"].as_str().unwrap().to_owned();
    let refused = keys::withdraw(&app.state.db, &app.clock, &old_kid).await;
    assert!(
        refused.is_err(),
        "the signing key itself cannot be withdrawn"
    );

    rotate(&app, keys::Activation::Immediate).await;
    keys::withdraw(&app.state.db, &app.clock, &old_kid)
        .await
        .unwrap();
    reload_keys(&app).await;
    assert!(
        !kids(&jwks(&app).await).contains(&old_kid),
        "gone from the JWKS"
    );
    let (status, _) = app.verify(&serde_json::json!({ "token": stolen })).await;
    assert_eq!(status, 401, "its tokens no longer verify");
    let fresh = app.test_token("").await;
    assert_eq!(
        app.verify(&serde_json::json!({ "token": fresh })).await.0,
        200
    );
}
