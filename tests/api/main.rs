//! The integration suite: the real server on a random port, talked to over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod abuse;
mod assertions;
mod authorize;
mod backchannel;
mod cli;
mod consent;
mod database;
mod discovery;
mod health;
mod helpers;
mod instances;
mod jwks;
mod limits;
mod logout;
mod migrations;
mod ops;
mod pages;
mod refresh;
mod robustness;
mod rp_library;
mod service_tokens;
mod storage;
mod test_token;
mod token;
mod verify;
