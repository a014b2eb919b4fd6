//! Request limits that protect the workers: slow headers, oversized heads and bodies.

use std::time::Duration;

use identity_backend::config::Mode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::TestApp;

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .unwrap()
}

#[tokio::test]
async fn a_connection_that_sends_its_headers_too_slowly_is_closed() {
    let app = TestApp::spawn_with(Mode::Development, &[("HEADER_READ_TIMEOUT_SECONDS", "1")]).await;
    let mut slow = connect(&app).await;
    slow.write_all(b"GET /ping HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // Never finishes the head. The server must give up on it by itself (the bound here is
    // generous: it is not a timing measurement, only "it does close").
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(20), slow.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "the server closed the connection");
    let text = String::from_utf8_lossy(&rest);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{text}"
    );

    // Meanwhile and afterwards, normal requests are served.
    assert_eq!(app.get("/ping").await.status(), 200);
}

#[tokio::test]
async fn an_oversized_request_head_gets_431_and_an_oversized_body_413() {
    let app = TestApp::spawn().await;
    let mut big = connect(&app).await;
    let header = format!(
        "GET /ping HTTP/1.1\r\nHost: x\r\nX-Padding: {}\r\n\r\n",
        "a".repeat(64 * 1024)
    );
    // The server may stop reading early; a failed write is fine, the answer is what counts.
    let _ = big.write_all(header.as_bytes()).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), big.read_to_end(&mut answer)).await;
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 431"), "{text}");

    let body = "token=".to_owned() + &"x".repeat(200 * 1024);
    let response = app
        .client
        .post(app.url("/verify"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
}
