//! Calls to the resource server with the signed-in user's access token.

use reqwest::Method;
use serde_json::{Value, json};

use crate::session::SignedIn;

/// Answers larger than this are cut for display.
const SHOWN_BYTES: usize = 16 * 1024;

/// What the resource server answered, for display.
pub struct Answer {
    /// `METHOD URL`.
    pub request: String,
    /// The status line, or why there was none.
    pub status: String,
    /// The body (pretty JSON when it is JSON), or the error.
    pub body: String,
}

/// `GET {resource}/whoami` with the user's access token.
pub async fn whoami(http: &reqwest::Client, resource: &str, user: &SignedIn) -> Answer {
    call(http, Method::GET, &format!("{resource}/whoami"), user, None).await
}

/// `POST {resource}/log` with the user's access token and a log entry from this app.
pub async fn log(http: &reqwest::Client, resource: &str, app: &str, user: &SignedIn) -> Answer {
    let entry = json!({
        "service": app,
        "level": "info",
        "message": format!("{} pressed the button", user.display_name()),
        "context": {"sub": user.subject},
    });
    call(
        http,
        Method::POST,
        &format!("{resource}/log"),
        user,
        Some(entry),
    )
    .await
}

async fn call(
    http: &reqwest::Client,
    method: Method,
    url: &str,
    user: &SignedIn,
    body: Option<Value>,
) -> Answer {
    let request_line = format!("{method} {url}");
    let mut request = http.request(method, url).bearer_auth(&user.access_token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = match request.send().await {
        Ok(response) => response,
        Err(error) => {
            return Answer {
                request: request_line,
                status: "no answer".into(),
                body: crate::provider::error_chain(&error),
            };
        }
    };
    let status = response.status().to_string();
    let challenge = response
        .headers()
        .get(reqwest::header::WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .map(|v| format!("WWW-Authenticate: {v}\n\n"))
        .unwrap_or_default();
    let text = response.text().await.unwrap_or_default();
    let shown = match serde_json::from_str::<Value>(&text) {
        Ok(json) => serde_json::to_string_pretty(&json).unwrap_or(text),
        Err(_) => text,
    };
    let mut body = format!("{challenge}{shown}");
    if body.len() > SHOWN_BYTES {
        let mut end = SHOWN_BYTES;
        while !body.is_char_boundary(end) {
            end -= 1;
        }
        body.truncate(end);
        body.push_str("\n…");
    }
    Answer {
        request: request_line,
        status,
        body,
    }
}
