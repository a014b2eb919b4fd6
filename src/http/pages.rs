//! HTML pages (askama templates) and the headers every page carries.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::state::AppState;

/// The parts every page shares.
pub struct Chrome {
    /// Product name in the page header and title (`BRAND_NAME`).
    pub product: String,
    /// The stylesheet, under the issuer (which may carry a path), versioned by its content.
    pub css_url: String,
    /// The logo (`BRAND_LOGO_FILE`), if any.
    pub logo_url: Option<String>,
}

impl Chrome {
    /// The chrome for this deployment.
    pub fn new(state: &AppState) -> Self {
        let brand = &state.config.brand;
        Self {
            product: brand.name.clone(),
            css_url: format!(
                "{}?v={}",
                state.config.issuer.endpoint("/static/idp.css"),
                state.pages.css_version
            ),
            logo_url: state.pages.logo_version.as_ref().map(|version| {
                format!(
                    "{}?v={version}",
                    state.config.issuer.endpoint("/static/logo")
                )
            }),
        }
    }
}

/// The stylesheet of this deployment: ours, with the accent colour of `BRAND_ACCENT_COLOR`.
#[derive(Debug)]
pub struct PageAssets {
    /// The stylesheet served at `/static/idp.css`.
    pub css: bytes::Bytes,
    /// A short hash of it, in its URL: a changed accent reaches browsers despite caching.
    pub css_version: String,
    /// The same for the logo, if there is one.
    pub logo_version: Option<String>,
}

impl PageAssets {
    /// The assets for `brand`.
    pub fn new(brand: &crate::config::Brand) -> Self {
        let mut css = include_str!("../../static/idp.css").to_owned();
        if let Some(accent) = &brand.accent {
            // Both colour schemes; text on the accent is black or white, whichever reads.
            css.push_str(&format!(
                "\n/* BRAND_ACCENT_COLOR */\n:root {{ --accent: {accent}; --accent-text: {}; \
                 --focus: 0 0 0 3px {accent}59; }}\n",
                text_on(accent)
            ));
        }
        let css = bytes::Bytes::from(css);
        Self {
            css_version: version_of(&css),
            css,
            logo_version: brand.logo.as_ref().map(|(bytes, _)| version_of(bytes)),
        }
    }
}

/// Eight hex digits of the SHA-256 of `bytes`.
fn version_of(bytes: &[u8]) -> String {
    crate::crypto::digest::sha256(bytes)
        .iter()
        .take(4)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `#000` or `#fff` on `#rrggbb`, by its relative luminance (WCAG 2).
fn text_on(color: &str) -> &'static str {
    let channel = |i: usize| {
        let value = color
            .get(i..i + 2)
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .map_or(0.0, |v| f64::from(v) / 255.0);
        if value <= 0.039_28 {
            value / 12.92
        } else {
            ((value + 0.055) / 1.055).powf(2.4)
        }
    };
    let luminance = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
    // Contrast with white (1.05 / (L + 0.05)) beats contrast with black ((L + 0.05) / 0.05)?
    if 1.05 / (luminance + 0.05) >= (luminance + 0.05) / 0.05 {
        "#ffffff"
    } else {
        "#000000"
    }
}

/// The sign-in form.
#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    /// Shared parts.
    pub page: Chrome,
    /// The client's display name.
    pub client_name: &'a str,
    /// Why the last attempt failed.
    pub error: Option<&'a str>,
    /// Where the form posts (`{issuer}/login`).
    pub action: String,
    /// The session's CSRF token.
    pub csrf_token: &'a str,
    /// The pending request's handle.
    pub request_id: &'a str,
    /// Pre-filled username.
    pub username: &'a str,
}

/// The consent page: what a third-party client asks for.
#[derive(Template)]
#[template(path = "consent.html")]
pub struct ConsentPage<'a> {
    /// Shared parts.
    pub page: Chrome,
    /// The client's display name.
    pub client_name: &'a str,
    /// Who is signed in.
    pub username: &'a str,
    /// Each requested scope with what it allows, in words.
    pub scopes: Vec<(&'a str, &'static str)>,
    /// Where the form posts (`{issuer}/consent`).
    pub action: String,
    /// The session's CSRF token.
    pub csrf_token: &'a str,
    /// The pending request's handle.
    pub request_id: &'a str,
}

/// The sign-out confirmation (RP-Initiated Logout without a valid `id_token_hint`).
#[derive(Template)]
#[template(path = "logout.html")]
pub struct LogoutPage<'a> {
    /// Shared parts.
    pub page: Chrome,
    /// Where the form posts (`{issuer}/logout`).
    pub action: String,
    /// The session's CSRF token.
    pub csrf_token: &'a str,
    /// The request's parameters, carried to the confirmation (checked again there).
    pub carried: Vec<(&'a str, &'a str)>,
}

/// A page that says one thing: an error, or that the user signed out.
#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage<'a> {
    /// Shared parts.
    pub page: Chrome,
    /// Heading.
    pub title: &'a str,
    /// What happened, in plain words.
    pub message: &'a str,
    /// What to do next.
    pub hint: Option<&'a str>,
    /// The technical reason, for whoever looks after the application.
    pub detail: Option<&'a str>,
}

/// An HTML response with the browser-facing security headers. `form_target` is the origin a
/// form on this page may lead to besides ours (the client, after sign-in): CSP `form-action`
/// also governs the redirect that follows a form post.
pub fn html(status: StatusCode, template: &impl Template, form_target: Option<&str>) -> Response {
    let body = match template.render() {
        Ok(body) => body,
        Err(e) => {
            tracing::error!(error = %e, "template rendering failed");
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page could not be rendered",
            )
                .into_response();
        }
    };
    let form_action = match form_target.and_then(origin) {
        Some(origin) => format!("'self' {origin}"),
        None => "'self'".to_owned(),
    };
    let csp = format!(
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action {form_action}; \
         frame-ancestors 'none'; base-uri 'none'"
    );
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `scheme://host[:port]` of a URL.
fn origin(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    Some(parsed.origin().ascii_serialization()).filter(|o| o != "null")
}

/// A message page.
pub fn message(
    state: &AppState,
    status: StatusCode,
    title: &str,
    message: &str,
    hint: Option<&str>,
) -> Response {
    message_with_detail(state, status, title, message, hint, None)
}

/// A message page that also shows the technical reason, small, below the plain words.
pub fn message_with_detail(
    state: &AppState,
    status: StatusCode,
    title: &str,
    message: &str,
    hint: Option<&str>,
    detail: Option<&str>,
) -> Response {
    html(
        status,
        &MessagePage {
            page: Chrome::new(state),
            title,
            message,
            hint,
            detail,
        },
        None,
    )
}
