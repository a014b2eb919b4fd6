//! `Params::from_urlencoded`: every query string and form body the endpoints receive.
//!
//! The input is parsed as `application/x-www-form-urlencoded` bytes. Must hold: nothing panics;
//! when it parses, each pair the raw decoder yields is what `get` returns (empty meaning
//! absent), `has` agrees with `get`, and no value is longer than `MAX_VALUE_LEN`; when it is
//! refused, the error names a parameter of the input.
#![no_main]

use identity_backend::oidc::params::{MAX_VALUE_LEN, Params};
use libfuzzer_sys::fuzz_target;

const NAMES: &[&str] = &[
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "grant_type",
    "code",
    "",
];

fuzz_target!(|data: &[u8]| {
    let pairs: Vec<_> = form_urlencoded::parse(data).collect();
    match Params::from_urlencoded(data) {
        Ok(params) => {
            for (name, value) in &pairs {
                assert!(value.len() <= MAX_VALUE_LEN, "{name:?} is too long");
                let expected = Some(value.as_ref()).filter(|v| !v.is_empty());
                assert_eq!(params.get(name), expected, "{name:?}");
                assert_eq!(params.has(name), expected.is_some(), "{name:?}");
            }
            for name in NAMES {
                if !pairs.iter().any(|(n, _)| n == name) {
                    assert_eq!(params.get(name), None, "{name:?} was not sent");
                }
            }
        }
        Err(e) => assert!(
            pairs.iter().any(|(n, _)| n == e.name()),
            "the error names {:?}, not in the input",
            e.name()
        ),
    }
});
