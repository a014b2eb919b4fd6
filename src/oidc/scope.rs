//! Scopes (RFC 6749 §3.3): space-delimited, case-sensitive tokens.

use std::collections::BTreeSet;
use std::fmt;

/// The scopes the service knows (OIDC Core §5.4 and §11).
pub const KNOWN_SCOPES: &[&str] = &["openid", "profile", "email", "offline_access"];

/// A set of scope tokens, kept sorted so its string form is stable.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScopeSet(BTreeSet<String>);

/// Why a scope string is malformed.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("scope tokens are printable ASCII without spaces, quotes or backslashes")]
pub struct InvalidScope;

impl ScopeSet {
    /// Parses `scope = scope-token *( SP scope-token )`, scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
    pub fn parse(value: &str) -> Result<Self, InvalidScope> {
        let mut set = BTreeSet::new();
        for token in value.split(' ').filter(|t| !t.is_empty()) {
            let valid = token.len() <= 128
                && token
                    .bytes()
                    .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b));
            if !valid {
                return Err(InvalidScope);
            }
            set.insert(token.to_owned());
        }
        Ok(Self(set))
    }

    /// Whether `scope` is in the set.
    pub fn contains(&self, scope: &str) -> bool {
        self.0.contains(scope)
    }

    /// Whether every scope here is also in `allowed`.
    pub fn is_subset(&self, allowed: &ScopeSet) -> bool {
        self.0.is_subset(&allowed.0)
    }

    /// Every scope in either set.
    pub fn union(&self, other: &ScopeSet) -> ScopeSet {
        Self(self.0.union(&other.0).cloned().collect())
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The tokens, sorted.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for s in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(s)?;
            first = false;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_sorted() -> Result<(), InvalidScope> {
        let s = ScopeSet::parse("profile  openid profile")?;
        assert_eq!(s.to_string(), "openid profile");
        assert!(s.contains("openid"));
        assert!(s.is_subset(&ScopeSet::parse("openid profile email")?));
        assert!(!ScopeSet::parse("openid admin")?.is_subset(&s));
        Ok(())
    }

    #[test]
    fn refuses_bad_tokens() {
        for bad in ["open\"id", "a\\b", "tab\there", "é"] {
            assert_eq!(ScopeSet::parse(bad), Err(InvalidScope), "{bad:?}");
        }
    }
}
