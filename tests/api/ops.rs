//! Operations endpoints: readiness and Prometheus metrics.

use identity_backend::config::Mode;

use crate::helpers::{TestApp, gateway_query, query_of};

#[tokio::test]
async fn ready_follows_the_database() {
    let app = TestApp::spawn().await;
    let ready = app.get("/ready").await;
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "ready");

    app.state.db.close().await;
    assert_eq!(
        app.get("/ready").await.status(),
        503,
        "no database, not ready"
    );
    assert_eq!(app.get("/ping").await.status(), 200, "but alive");
}

fn value_of(metrics: &str, line_start: &str) -> f64 {
    metrics
        .lines()
        .find(|l| l.starts_with(line_start))
        .unwrap_or_else(|| panic!("no {line_start} in\n{metrics}"))
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn metrics_count_requests_sign_ins_tokens_and_verifications() {
    let app = TestApp::spawn().await;
    app.add_user("alice", "pw").await;
    app.get("/ping").await;
    let page = app
        .authorize(&app.client, &gateway_query(""))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        app.submit_login(&app.client, &page, "alice", "wrong")
            .await
            .status(),
        401
    );
    let page = app
        .authorize(&app.client, &gateway_query(""))
        .await
        .text()
        .await
        .unwrap();
    let done = app.submit_login(&app.client, &page, "alice", "pw").await;
    let code = query_of(&crate::helpers::location(&done))
        .remove("code")
        .unwrap();
    assert_eq!(app.redeem(&code).await.status(), 200);
    let token = app.test_token("").await;
    app.verify(&serde_json::json!({ "token": token })).await;
    app.verify(&serde_json::json!({ "token": "garbage" })).await;

    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let text = response.text().await.unwrap();
    assert!(text.ends_with("# EOF\n"), "OpenMetrics");
    let ping = r#"identity_http_requests_total{route="/ping",method="GET",status="200"}"#;
    assert_eq!(value_of(&text, ping), 1.0);
    assert!(text.contains(r#"identity_http_request_duration_seconds_bucket{le="#));
    assert_eq!(
        value_of(&text, r#"identity_sign_ins_total{outcome="failed"}"#),
        1.0
    );
    assert_eq!(
        value_of(&text, r#"identity_sign_ins_total{outcome="succeeded"}"#),
        1.0
    );
    let issued = r#"identity_tokens_issued_total{outcome="authorization_code"}"#;
    assert_eq!(value_of(&text, issued), 1.0);
    assert_eq!(
        value_of(
            &text,
            r#"identity_token_verifications_total{outcome="valid"}"#
        ),
        1.0
    );
    assert_eq!(
        value_of(
            &text,
            r#"identity_token_verifications_total{outcome="invalid"}"#
        ),
        1.0
    );
    assert!(value_of(&text, r#"identity_db_pool_connections{state="idle"}"#) >= 0.0);
    assert!(value_of(&text, "identity_signing_key_age_seconds") >= 0.0);
    assert_eq!(value_of(&text, "identity_signing_keys_published"), 1.0);
    assert!(!text.contains(&token), "no token in metrics");
}

#[tokio::test]
async fn metrics_can_live_on_an_address_of_their_own() {
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = free.local_addr().unwrap().to_string();
    drop(free);
    let app = TestApp::spawn_with(Mode::Development, &[("METRICS_ADDR", &addr)]).await;
    assert_eq!(
        app.get("/metrics").await.status(),
        404,
        "not on the public address"
    );
    let mut scraped = None;
    for _ in 0..50 {
        if let Ok(response) = app
            .client
            .get(format!("http://{addr}/metrics"))
            .send()
            .await
        {
            scraped = Some(response.status().as_u16());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(scraped, Some(200));
}
