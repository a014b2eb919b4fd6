use crate::helpers::TestApp;

#[tokio::test]
async fn ping_answers_ok() {
    let app = TestApp::spawn().await;
    let response = app.get("/ping").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "OK");
}

#[tokio::test]
async fn request_id_is_echoed_or_generated() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(app.url("/ping"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "abc-123");

    let response = app.get("/ping").await;
    let generated = response.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(generated.len(), 36, "a UUID: {generated}");
}

#[tokio::test]
async fn unknown_paths_are_json_404s() {
    let app = TestApp::spawn().await;
    let response = app.get("/nope").await;
    assert_eq!(response.status(), 404);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "not_found");
}

#[tokio::test]
async fn responses_carry_nosniff() {
    let app = TestApp::spawn().await;
    let response = app.get("/ping").await;
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
}
