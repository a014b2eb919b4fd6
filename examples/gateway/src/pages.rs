//! The gateway's HTML: small pages, every dynamic value escaped, no script.

use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, HeaderName};
use axum::response::Html;

use crate::session::SignedIn;

/// A page with headers fit for pages that show a user's data.
pub type Page = ([(HeaderName, &'static str); 2], Html<String>);

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem}\
pre{background:#f4f4f4;padding:1rem;overflow-x:auto}form{display:inline}button{margin-right:.5rem}";

fn page(title: &str, body: &str) -> Page {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{}</title><style>{STYLE}</style></head><body>{body}</body></html>",
        escape(title)
    );
    (
        [
            (CACHE_CONTROL, "no-store"),
            (
                CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
            ),
        ],
        Html(html),
    )
}

/// The signed-in home page.
pub fn home(app: &str, user: &SignedIn, csrf: &str, resource: Option<&str>) -> Page {
    let optional = |label: &str, value: &Option<String>| {
        value
            .as_deref()
            .map(|v| format!("<dt>{label}</dt><dd>{}</dd>", escape(v)))
            .unwrap_or_default()
    };
    let resource_part = match resource {
        Some(url) => format!(
            "<h2>Resource server</h2><p>{}</p>\
             <p><a href=\"/resource\">GET /whoami with my access token</a></p>\
             <form method=\"post\" action=\"/resource/log\">{}\
             <button>POST /log with my access token</button></form>",
            escape(url),
            csrf_field(csrf)
        ),
        None => "<p>No resource server configured (RESOURCE_URL).</p>".to_owned(),
    };
    let body = format!(
        "<h1>{app}</h1><p>Signed in as <strong>{name}</strong>.</p>\
         <dl><dt>sub</dt><dd><code>{sub}</code></dd>{username}{full_name}{email}\
         <dt>scope</dt><dd>{scope}</dd>{sid}</dl>{resource_part}\
         <h2>Session</h2><form method=\"post\" action=\"/logout\">{csrf}<button>Sign out</button></form>",
        app = escape(app),
        name = escape(user.display_name()),
        sub = escape(&user.subject),
        username = optional("preferred_username", &user.preferred_username),
        full_name = optional("name", &user.name),
        email = optional("email", &user.email),
        scope = escape(&user.scope),
        sid = optional("sid (the provider's session)", &user.sid),
        csrf = csrf_field(csrf),
    );
    page(app, &body)
}

/// After RP-initiated logout, back from the provider with our `state`.
pub fn signed_out(app: &str) -> Page {
    let body = format!(
        "<h1>{}</h1><p>You are signed out, here and at the identity provider.</p>\
         <p><a href=\"/login\">Sign in again</a></p>",
        escape(app)
    );
    page(app, &body)
}

/// `GET /logout`: signing out takes a POST (a link or image elsewhere must not sign anyone out).
pub fn confirm_logout(app: &str, csrf: &str) -> Page {
    let body = format!(
        "<h1>{}</h1><p>Sign out?</p><form method=\"post\" action=\"/logout\">{}\
         <button>Sign out</button></form> <a href=\"/\">Cancel</a>",
        escape(app),
        csrf_field(csrf)
    );
    page(app, &body)
}

/// What a call to the resource server answered.
pub fn resource_answer(app: &str, request: &str, status: &str, body: &str) -> Page {
    let body = format!(
        "<h1>{}</h1><h2>{}</h2><p>Status: <strong>{}</strong></p><pre>{}</pre>\
         <p><a href=\"/\">Back</a></p>",
        escape(app),
        escape(request),
        escape(status),
        escape(body)
    );
    page(app, &body)
}

/// A plain error page.
pub fn error(message: &str) -> Page {
    let body = format!(
        "<h1>Something went wrong</h1><p>{}</p><p><a href=\"/\">Start again</a></p>",
        escape(message)
    );
    page("Error", &body)
}

fn csrf_field(token: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        escape(token)
    )
}

/// Text as HTML text or attribute value.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
