//! Consent (OIDC Core §3.1.2.4): when the user must be asked before a client gets a sign-in.

use super::ScopeSet;
use super::authorize::Prompt;

/// What to do about consent for a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Consent {
    /// Go on: a first-party client, or the user already allowed every requested scope.
    NotNeeded,
    /// Show the consent page.
    Ask,
    /// `prompt=none` but the user would have to be asked: `consent_required`.
    Required,
}

/// Decides for a client (`first_party` or not) asking for `requested`, when the user has
/// allowed it `granted` before. `prompt=consent` always asks, first-party clients included.
pub fn decide(
    first_party: bool,
    prompt: Prompt,
    requested: &ScopeSet,
    granted: Option<&ScopeSet>,
) -> Consent {
    if prompt.consent {
        return Consent::Ask;
    }
    if first_party || granted.is_some_and(|g| requested.is_subset(g)) {
        return Consent::NotNeeded;
    }
    if prompt.none {
        Consent::Required
    } else {
        Consent::Ask
    }
}

/// What a scope lets a client have, in words for the consent page.
pub fn describe(scope: &str) -> &'static str {
    match scope {
        "openid" => "Know who you are when you sign in",
        "profile" => "See your name and username",
        "email" => "See your email address",
        "offline_access" => "Stay signed in and act for you while you are away",
        _ => "Use a permission named by the application",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scopes(s: &str) -> ScopeSet {
        ScopeSet::parse(s).unwrap()
    }

    #[test]
    fn first_party_clients_never_ask_unless_prompted() {
        let p = Prompt::default();
        assert_eq!(
            decide(true, p, &scopes("openid email"), None),
            Consent::NotNeeded
        );
        let consent = Prompt { consent: true, ..p };
        assert_eq!(decide(true, consent, &scopes("openid"), None), Consent::Ask);
    }

    #[test]
    fn third_party_clients_ask_for_what_was_not_allowed_yet() {
        let p = Prompt::default();
        let given = scopes("openid profile");
        assert_eq!(decide(false, p, &scopes("openid"), None), Consent::Ask);
        assert_eq!(
            decide(false, p, &scopes("openid"), Some(&given)),
            Consent::NotNeeded
        );
        assert_eq!(
            decide(false, p, &scopes("openid email"), Some(&given)),
            Consent::Ask
        );
        let none = Prompt { none: true, ..p };
        assert_eq!(
            decide(false, none, &scopes("openid email"), Some(&given)),
            Consent::Required
        );
        assert_eq!(
            decide(false, none, &scopes("openid"), Some(&given)),
            Consent::NotNeeded
        );
    }
}
