//! Request parameters as RFC 6749 §3.1 defines them: none repeated, empty means absent.

use std::borrow::Cow;
use std::collections::HashMap;

/// Longest parameter value we accept; longer ones are refused before any other processing.
pub const MAX_VALUE_LEN: usize = 4096;

/// The parameters of one request.
#[derive(Clone, Debug, Default)]
pub struct Params(HashMap<String, String>);

/// Why a parameter list is malformed.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParamsError {
    /// RFC 6749 §3.1: parameters MUST NOT be included more than once.
    #[error("the parameter {0} is repeated")]
    Repeated(String),
    /// A value longer than [`MAX_VALUE_LEN`].
    #[error("the parameter {0} is too long")]
    TooLong(String),
}

impl ParamsError {
    /// The parameter concerned.
    pub fn name(&self) -> &str {
        match self {
            Self::Repeated(n) | Self::TooLong(n) => n,
        }
    }
}

impl Params {
    /// Collects decoded pairs (from a query string or a form body).
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (Cow<'a, str>, Cow<'a, str>)>,
    ) -> Result<Self, ParamsError> {
        let mut map = HashMap::new();
        for (name, value) in pairs {
            if value.len() > MAX_VALUE_LEN {
                return Err(ParamsError::TooLong(name.into_owned()));
            }
            if map
                .insert(name.clone().into_owned(), value.into_owned())
                .is_some()
            {
                return Err(ParamsError::Repeated(name.into_owned()));
            }
        }
        Ok(Self(map))
    }

    /// Parses `application/x-www-form-urlencoded` bytes (a query string or a form body).
    pub fn from_urlencoded(input: &[u8]) -> Result<Self, ParamsError> {
        Self::from_pairs(form_urlencoded::parse(input))
    }

    /// A parameter's value; an empty value counts as absent (RFC 6749 §3.1).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// Whether the parameter was sent with a value.
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_parameters_are_refused_and_empty_ones_are_absent() {
        assert_eq!(
            Params::from_urlencoded(b"a=1&a=2").err(),
            Some(ParamsError::Repeated("a".into()))
        );
        let p = Params::from_urlencoded(b"a=&b=x%20y").unwrap_or_default();
        assert_eq!(p.get("a"), None);
        assert_eq!(p.get("b"), Some("x y"));
        let long = format!("a={}", "x".repeat(MAX_VALUE_LEN + 1));
        assert_eq!(
            Params::from_urlencoded(long.as_bytes()).err(),
            Some(ParamsError::TooLong("a".into()))
        );
    }
}
