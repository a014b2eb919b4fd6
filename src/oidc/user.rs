//! User identity: the login name people type, and the stable subject tokens carry.

use std::fmt;

/// A login name: 1 to 64 characters, no whitespace or control characters, case preserved.
///
/// Lookups are case-insensitive (the store keeps a lowercased copy), so `Alice` and `alice`
/// cannot be two accounts that phish each other.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Username(String);

/// Why a string is not a username.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("usernames are 1 to 64 characters without spaces or control characters")]
pub struct InvalidUsername;

impl Username {
    /// Parses a login name.
    pub fn parse(value: &str) -> Result<Self, InvalidUsername> {
        let ok = !value.is_empty()
            && value.chars().count() <= 64
            && !value.chars().any(|c| c.is_whitespace() || c.is_control());
        if ok {
            Ok(Self(value.to_owned()))
        } else {
            Err(InvalidUsername)
        }
    }

    /// The name as entered.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form used for uniqueness and lookups.
    pub fn canonical(&self) -> String {
        self.0.to_lowercase()
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert_eq!(
            Username::parse("Alice").map(|u| u.canonical()),
            Ok("alice".to_owned())
        );
        assert!(Username::parse("alice@example.com").is_ok());
        for bad in ["", "a b", "a\nb", &"x".repeat(65)] {
            assert_eq!(Username::parse(bad), Err(InvalidUsername), "{bad:?}");
        }
    }
}
