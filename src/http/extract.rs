//! Turning request bodies and queries into values, with our error shape on failure.

use axum::extract::rejection::QueryRejection;
use axum::http::{HeaderMap, header};
use bytes::Bytes;
use serde_json::{Map, Value};

use super::error::ApiError;

/// A query string that does not parse.
pub fn reject_query(rejection: QueryRejection) -> ApiError {
    tracing::debug!(%rejection, "query rejected");
    ApiError::invalid_request("the query string is malformed")
}

/// Whether the body is declared `application/x-www-form-urlencoded`.
pub fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

/// A body that is either a JSON object or an HTML form, as an object of values.
///
/// Any body that is not a form is read as JSON, whatever its `Content-Type`, as the Flask
/// version's clients do not all set one.
///
/// Form fields become strings; RFC 6749 §3.1: a parameter sent twice is an error.
pub fn json_or_form(headers: &HeaderMap, body: &Bytes) -> Result<Map<String, Value>, ApiError> {
    let is_form = is_form(headers);
    // `curl -d '{"token": …}'` labels JSON as a form; a body that opens like an object is JSON.
    let looks_like_json = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    if is_form && !looks_like_json {
        let mut map = Map::new();
        for (key, value) in form_urlencoded::parse(body) {
            if map
                .insert(key.into_owned(), Value::String(value.into_owned()))
                .is_some()
            {
                return Err(ApiError::invalid_request("a parameter is repeated"));
            }
        }
        return Ok(map);
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) | Err(_) if body.is_empty() => Ok(Map::new()),
        _ => Err(ApiError::invalid_request("the body must be a JSON object")),
    }
}
