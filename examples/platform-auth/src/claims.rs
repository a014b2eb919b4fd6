//! The verified claims of a token, and the extractor handlers get them with.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::Serialize;
use serde_json::{Map, Value};

/// The claims of a verified token. [`RequireBearer`](crate::RequireBearer) puts them in the
/// request's extensions; a handler takes them as an argument.
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct Claims(Map<String, Value>);

impl Claims {
    pub(crate) fn new(claims: Map<String, Value>) -> Self {
        Self(claims)
    }

    /// `sub`: the user (an opaque id) or the calling service.
    pub fn subject(&self) -> Option<&str> {
        self.string("sub")
    }

    /// `client_id` (RFC 9068 §2.2): the client the token was issued to.
    pub fn client_id(&self) -> Option<&str> {
        self.string("client_id")
    }

    /// The space-separated `scope` claim, one scope at a time.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.string("scope")
            .unwrap_or_default()
            .split_ascii_whitespace()
    }

    /// Whether `scope` was granted.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes().any(|granted| granted == scope)
    }

    /// A claim as a string, when it is one.
    pub fn string(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(Value::as_str)
    }

    /// Any claim.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    /// All of them.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Claims {
    type Rejection = (StatusCode, &'static str);

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Claims>().cloned().ok_or_else(|| {
            // Not the caller's fault: the route lacks the layer.
            tracing::error!("Claims extracted on a route without the RequireBearer layer");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        })
    }
}
