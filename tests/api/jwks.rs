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
    let reloaded = keys::load_key_set(&app.state.db, app.clock.now(), window, Some(&current))
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

async fn rotate(app: &TestApp, activation: keys::Activation) -> keys::Rotation {
    keys::rotate(&app.state.db, &app.clock, &app.state.config, activation)
        .await
        .unwrap()
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
