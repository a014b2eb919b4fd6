//! Secrets as types: redacted `Debug`, no `Display`, explicit `.expose()`, constant-time equality.

use std::fmt;

use serde::{Deserialize, Deserializer};

/// A secret string (password, client secret, shared key, session secret).
///
/// It never prints itself: `Debug` shows `[redacted]` and there is no `Display`, so a secret
/// cannot reach a log line by accident. Reading it takes an explicit [`SecretString::expose`].
#[derive(Clone)]
pub struct SecretString(Box<str>);

impl SecretString {
    /// Wraps a value that must stay secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into().into_boxed_str())
    }

    /// The secret itself; call sites are the places to audit.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Constant-time comparison with a presented value of the same kind.
    pub fn ct_eq(&self, presented: &str) -> bool {
        constant_time_eq(self.0.as_bytes(), presented.as_bytes())
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString([redacted])")
    }
}

impl<'de> Deserialize<'de> for SecretString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::new)
    }
}

/// Compares two byte strings in time that depends only on their lengths.
///
/// Callers compare fixed-length digests, so the length itself reveals nothing.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}

/// Why a configured secret is not fit for production, if it is not.
///
/// Catches the values people paste from examples (`changeme`, `your-secret-key`, `<...>`),
/// values too short to resist guessing, and values with almost no variety (`aaaa…`).
pub fn weakness(value: &str, min_len: usize) -> Option<&'static str> {
    let lower = value.trim().to_ascii_lowercase();
    if lower.is_empty() {
        return Some("is empty");
    }
    if is_placeholder(&lower) {
        return Some("is a placeholder value");
    }
    if value.len() < min_len {
        return Some("is too short");
    }
    let mut distinct: Vec<char> = value.chars().collect();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < 8 {
        return Some("has too little variety to be random");
    }
    None
}

fn is_placeholder(lower: &str) -> bool {
    const MARKERS: &[&str] = &[
        "changeme",
        "change-me",
        "change_me",
        "change-this",
        "change_this",
        "replace-me",
        "replace_me",
        "replaceme",
        "placeholder",
        "your-secret",
        "your_secret",
        "yoursecret",
        "secret-key-here",
        "example",
        "dev-client-secret",
        "dev-secret",
        "supersecret",
        "super-secret",
        "not-a-secret",
        "insecure",
    ];
    const WHOLE: &[&str] = &[
        "secret", "password", "test", "dev", "default", "admin", "none", "null", "todo",
    ];
    (lower.starts_with('<') && lower.ends_with('>'))
        || (lower.starts_with("${") && lower.ends_with('}'))
        || WHOLE.contains(&lower)
        || MARKERS.iter().any(|m| lower.contains(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = SecretString::new("hunter2-very-secret");
        assert_eq!(format!("{s:?}"), "SecretString([redacted])");
        assert!(!format!("{:?}", Some(s)).contains("hunter2"));
    }

    #[test]
    fn compares_by_value() {
        let s = SecretString::new("abc");
        assert!(s.ct_eq("abc"));
        assert!(!s.ct_eq("abd"));
        assert!(!s.ct_eq("ab"));
    }

    #[test]
    fn placeholders_and_short_values_are_weak() {
        for v in [
            "",
            "changeme",
            "your-secret-key",
            "<generate-me>",
            "dev-client-secret",
            "secret",
            "${SESSION_SECRET}",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "short",
        ] {
            assert!(weakness(v, 32).is_some(), "{v:?} should be weak");
        }
    }

    #[test]
    fn generated_values_are_strong() {
        assert_eq!(
            weakness("dkYM8s8HJGPjjWdXeC9M8uKDnt-G_faRZOEeMYSx4p4", 32),
            None
        );
    }
}
