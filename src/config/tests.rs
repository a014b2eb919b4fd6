use std::collections::HashMap;

use super::*;

const STRONG: &str = "dkYM8s8HJGPjjWdXeC9M8uKDnt-G_faRZOEeMYSx4p4";

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn production() -> Vec<(&'static str, &'static str)> {
    vec![
        ("JWT_ISSUER", "https://id.example.com"),
        ("SESSION_SECRET", STRONG),
    ]
}

fn load_prod(extra: &[(&'static str, &'static str)]) -> Result<Config, ConfigError> {
    let mut pairs = production();
    pairs.extend_from_slice(extra);
    Config::load(Mode::Production, &env(&pairs))
}

#[test]
fn dev_mode_needs_nothing_and_registers_the_gateway_client() -> Result<(), ConfigError> {
    let config = Config::load(Mode::Development, &env(&[]))?;
    assert_eq!(config.issuer.as_str(), "http://localhost:5002");
    assert_eq!(config.token_ttl_secs, 15 * 60);
    assert_eq!(config.database_url.expose(), "sqlite://data/identity.db");
    let [client] = config.clients.as_slice() else {
        panic!("one dev client expected")
    };
    assert_eq!(client.id.as_str(), "browser-ui");
    assert!(client.secret.ct_eq("dev-client-secret"));
    assert_eq!(
        client.redirect_uris[0].as_str(),
        "http://localhost:5000/callback"
    );
    assert_eq!(
        config.demo_user.as_ref().map(|u| u.username.as_str()),
        Some("demo")
    );
    assert_eq!(config.log_format, LogFormat::Pretty);
    Ok(())
}

#[test]
fn flask_variables_keep_their_meaning() -> Result<(), ConfigError> {
    let config = Config::load(
        Mode::Development,
        &env(&[
            ("JWT_ISSUER", "http://localhost:5002/identity-backend"),
            ("JWT_EXPIRATION_MINUTES", "30"),
            ("ALLOWED_CLIENTS", "browser-ui,careergpt-backend"),
            (
                "CLIENT_SECRETS",
                r#"{"browser-ui": "0012345", "careergpt-backend": "s2"}"#,
            ),
            (
                "ALLOWED_REDIRECT_URIS",
                "http://localhost:5000/callback, http://localhost:5001/callback",
            ),
            ("FLASK_SECRET_KEY", "flask-key"),
            ("JWT_SECRET_KEY", "shared"),
            ("LOGGING_BACKEND_AUD", "logging-service"),
            ("DEMO_USERNAME", "alice"),
            ("DEMO_PASSWORD", "pw"),
        ]),
    )?;
    assert_eq!(
        config.issuer.endpoint("/token"),
        "http://localhost:5002/identity-backend/token"
    );
    assert_eq!(config.token_ttl_secs, 1800);
    assert_eq!(config.clients.len(), 2);
    assert!(
        config.clients[0].secret.ct_eq("0012345"),
        "secrets are kept verbatim, not parsed as numbers"
    );
    assert_eq!(config.clients[1].redirect_uris.len(), 2);
    assert!(config.session_secret.ct_eq("flask-key"));
    assert_eq!(config.hs256_audiences, vec!["logging-service".to_owned()]);
    assert!(
        config
            .demo_user
            .as_ref()
            .is_some_and(|u| u.password.as_ref().is_some_and(|p| p.ct_eq("pw")))
    );
    Ok(())
}

#[test]
fn redirect_uris_per_client_as_json() -> Result<(), ConfigError> {
    let config = Config::load(
        Mode::Development,
        &env(&[
            ("ALLOWED_CLIENTS", r#"["a","b"]"#),
            ("CLIENT_SECRETS", r#"{"a":"x","b":"y"}"#),
            (
                "ALLOWED_REDIRECT_URIS",
                r#"{"a":"http://localhost/a","b":["http://localhost/b1","http://localhost/b2"]}"#,
            ),
        ]),
    )?;
    assert_eq!(config.clients[0].redirect_uris.len(), 1);
    assert_eq!(
        config.clients[1].redirect_uris[1].as_str(),
        "http://localhost/b2"
    );
    Ok(())
}

#[test]
fn production_accepts_strong_settings() -> Result<(), ConfigError> {
    let config = load_prod(&[])?;
    assert_eq!(config.mode, Mode::Production);
    assert!(
        config.clients.is_empty(),
        "no default client outside dev mode"
    );
    assert!(config.demo_user.is_none());
    assert_eq!(config.log_format, LogFormat::Json);
    Ok(())
}

#[test]
fn production_refuses_insecure_settings_naming_the_variable() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("JWT_ISSUER", "http://id.example.com")], "JWT_ISSUER"),
        (
            &[("SESSION_SECRET", "changeme-changeme-changeme-changeme")],
            "SESSION_SECRET",
        ),
        (&[("SESSION_SECRET", "short")], "SESSION_SECRET"),
        (&[("JWT_SECRET_KEY", "your-secret-key")], "JWT_SECRET_KEY"),
        (
            &[
                ("ALLOWED_CLIENTS", "browser-ui"),
                ("CLIENT_SECRETS", r#"{"browser-ui":"dev-client-secret"}"#),
            ],
            "CLIENT_SECRETS[browser-ui]",
        ),
        (
            &[
                ("ALLOWED_CLIENTS", "browser-ui"),
                (
                    "CLIENT_SECRETS",
                    r#"{"browser-ui":"dkYM8s8HJGPjjWdXeC9M8uKDnt-G_faRZOEeMYSx4p4"}"#,
                ),
                ("ALLOWED_REDIRECT_URIS", "http://localhost:5000/callback"),
            ],
            "ALLOWED_REDIRECT_URIS",
        ),
        (
            &[("DEMO_USERNAME", "demo"), ("DEMO_PASSWORD", "password")],
            "DEMO_PASSWORD",
        ),
    ];
    for (extra, key) in cases {
        let err = load_prod(extra).err();
        assert_eq!(
            err.as_ref().map(|e| e.key.as_str()),
            Some(*key),
            "{extra:?} -> {err:?}"
        );
    }
    let missing = Config::load(
        Mode::Production,
        &env(&[("JWT_ISSUER", "https://id.example.com")]),
    )
    .err();
    assert_eq!(missing.map(|e| e.key), Some("SESSION_SECRET".to_owned()));
    let no_issuer = Config::load(Mode::Production, &env(&[("SESSION_SECRET", STRONG)])).err();
    assert_eq!(no_issuer.map(|e| e.key), Some("JWT_ISSUER".to_owned()));
}

#[test]
fn dev_mode_variable_relaxes_production() -> Result<(), ConfigError> {
    let config = Config::load(Mode::Production, &env(&[("DEV_MODE", "true")]))?;
    assert_eq!(config.mode, Mode::Development);
    Ok(())
}

#[test]
fn malformed_values_name_their_key_without_echoing_them() {
    let err = Config::load(
        Mode::Development,
        &env(&[("JWT_EXPIRATION_MINUTES", "soon")]),
    )
    .err();
    assert_eq!(
        err.as_ref().map(|e| e.key.as_str()),
        Some("JWT_EXPIRATION_MINUTES")
    );
    let err = Config::load(Mode::Development, &env(&[("JWT_EXPIRATION_MINUTES", "0")])).err();
    assert_eq!(
        err.as_ref().map(|e| e.key.as_str()),
        Some("JWT_EXPIRATION_MINUTES")
    );
    let err = Config::load(
        Mode::Development,
        &env(&[("CLIENT_SECRETS", "{not json s3cr3t")]),
    )
    .err();
    assert_eq!(err.as_ref().map(|e| e.key.as_str()), Some("CLIENT_SECRETS"));
    assert!(
        !err.map(|e| e.to_string())
            .unwrap_or_default()
            .contains("s3cr3t")
    );
    let err = Config::load(Mode::Development, &env(&[("BIND_ADDR", "nowhere")])).err();
    assert_eq!(err.map(|e| e.key), Some("BIND_ADDR".to_owned()));
}

#[test]
fn toml_file_sits_between_defaults_and_environment() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("identity.toml");
    std::fs::write(
        &path,
        "jwt_expiration_minutes = 20\nclock_skew_seconds = 5\nallowed_clients = [\"a\"]\n[client_secrets]\na = \"x\"\n",
    )?;
    let path = path.to_string_lossy().into_owned();
    let config = Config::load(
        Mode::Development,
        &env(&[("IDENTITY_CONFIG", &path), ("CLOCK_SKEW_SECONDS", "7")]),
    )?;
    assert_eq!(config.token_ttl_secs, 20 * 60, "file beats default");
    assert_eq!(config.clock_skew_secs, 7, "environment beats file");
    assert_eq!(config.clients[0].id.as_str(), "a");

    std::fs::write(dir.path().join("bad.toml"), "jwt_expiration_minutez = 20\n")?;
    let bad = dir.path().join("bad.toml").to_string_lossy().into_owned();
    let err = Config::load(Mode::Development, &env(&[("IDENTITY_CONFIG", &bad)])).err();
    assert_eq!(
        err.map(|e| e.key),
        Some("JWT_EXPIRATION_MINUTEZ".to_owned())
    );
    Ok(())
}

#[test]
fn secrets_can_come_from_files() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("session");
    std::fs::write(&file, format!("{STRONG}\n"))?;
    let file = file.to_string_lossy().into_owned();
    let config = Config::load(
        Mode::Production,
        &env(&[
            ("JWT_ISSUER", "https://id.example.com"),
            ("SESSION_SECRET_FILE", &file),
        ]),
    )?;
    assert!(config.session_secret.ct_eq(STRONG));
    let both = Config::load(
        Mode::Production,
        &env(&[("SESSION_SECRET", STRONG), ("SESSION_SECRET_FILE", &file)]),
    )
    .err();
    assert_eq!(both.map(|e| e.key), Some("SESSION_SECRET".to_owned()));
    Ok(())
}

#[test]
fn database_url_debug_hides_the_password() {
    let url = DatabaseUrl::new("postgres://app:hunter2@db:5432/identity");
    assert!(!format!("{url:?}").contains("hunter2"));
    assert!(url.redacted().contains("app:***@db"));
}

#[test]
fn every_setting_is_documented_in_both_examples() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let toml = std::fs::read_to_string(root.join("config/example.toml")).unwrap();
    let env_example = std::fs::read_to_string(root.join(".env.example")).unwrap();
    for name in setting_names() {
        assert!(
            toml.contains(&format!("env: {name}")),
            "config/example.toml documents {name}"
        );
        assert!(
            toml.contains(&name.to_ascii_lowercase()),
            "config/example.toml has the key for {name}"
        );
        assert!(
            env_example.contains(&format!("{name}=")),
            ".env.example lists {name}"
        );
    }
}

#[test]
fn the_example_file_loads() -> Result<(), ConfigError> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/config/example.toml");
    let config = Config::load(Mode::Development, &env(&[("IDENTITY_CONFIG", path)]))?;
    assert_eq!(config.token_ttl_secs, 15 * 60);
    Ok(())
}

#[test]
fn lookalike_variables_are_reported_as_likely_typos() -> Result<(), ConfigError> {
    let missing_file = env(&[("DEMO_PASSWORD_FILE", "/nonexistent/secret")]);
    let err =
        Config::load(Mode::Development, &missing_file).expect_err("the _FILE variant is read");
    assert_eq!(err.key, "DEMO_PASSWORD_FILE");

    let typo = env(&[
        ("JWT_EXPIRATION_MINUTE", "5"),
        ("PATH", "/bin"),
        ("IDENTITY_SUB", "me"),
    ]);
    let config = Config::load(Mode::Development, &typo)?;
    assert_eq!(config.warnings, vec!["JWT_EXPIRATION_MINUTE".to_owned()]);
    Ok(())
}

#[test]
fn the_dev_issuer_follows_the_port() -> Result<(), ConfigError> {
    let config = Config::load(Mode::Development, &env(&[("BIND_ADDR", "0.0.0.0:8080")]))?;
    assert_eq!(config.issuer.as_str(), "http://localhost:8080");
    Ok(())
}

#[test]
fn a_shared_key_alone_keeps_the_logging_service_on_hs256() -> Result<(), ConfigError> {
    // A Flask-era .env often sets JWT_SECRET_KEY without LOGGING_BACKEND_AUD, whose default
    // is logging-service: that service verifies HS256 with the key and must keep working.
    let config = Config::load(Mode::Development, &env(&[("JWT_SECRET_KEY", "shared")]))?;
    assert_eq!(config.hs256_audiences, vec!["logging-service".to_owned()]);
    let none = Config::load(Mode::Development, &env(&[]))?;
    assert!(none.hs256_audiences.is_empty(), "no key, no HS256");
    Ok(())
}

#[test]
fn brand_settings_are_checked() -> Result<(), ConfigError> {
    let config = Config::load(
        Mode::Development,
        &env(&[("BRAND_NAME", "Acme"), ("BRAND_ACCENT_COLOR", "#2F5BD3")]),
    )?;
    assert_eq!(config.brand.name, "Acme");
    assert_eq!(config.brand.accent.as_deref(), Some("#2f5bd3"));
    for bad in ["red", "#12345", "#2f5bd3;}body{", "url(x)"] {
        let e = Config::load(Mode::Development, &env(&[("BRAND_ACCENT_COLOR", bad)]));
        assert!(
            e.is_err_and(|e| e.to_string().contains("BRAND_ACCENT_COLOR")),
            "{bad}"
        );
    }
    let missing = Config::load(
        Mode::Development,
        &env(&[("BRAND_LOGO_FILE", "/nonexistent/logo.svg")]),
    );
    assert!(missing.is_err_and(|e| e.to_string().contains("BRAND_LOGO_FILE")));
    let wrong_kind = Config::load(
        Mode::Development,
        &env(&[("BRAND_LOGO_FILE", "/etc/hostname")]),
    );
    assert!(wrong_kind.is_err_and(|e| e.to_string().contains(".svg")));
    Ok(())
}
