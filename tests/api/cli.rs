//! The `identity-backend` binary itself: refusals at start, the admin commands, healthcheck.

use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

use crate::helpers::TestApp;

const BIN: &str = env!("CARGO_BIN_EXE_identity-backend");
const STRONG: &str = "dkYM8s8HJGPjjWdXeC9M8uKDnt-G_faRZOEeMYSx4p4";

/// The binary in `dir` with a clean environment plus `env`.
fn command(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(dir)
        .env_clear()
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/identity.db", dir.display()),
        )
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

async fn run(dir: &Path, args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Output {
    let mut child = command(dir, args, env).spawn().expect("binary starts");
    let mut input = child.stdin.take().expect("stdin");
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).await.expect("write stdin");
    }
    drop(input);
    tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("finishes in time")
        .expect("output")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[tokio::test]
async fn start_refuses_insecure_settings_with_one_line_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("JWT_ISSUER", "https://id.example.com")],
            "SESSION_SECRET",
        ),
        (
            &[
                ("JWT_ISSUER", "http://id.example.com"),
                ("SESSION_SECRET", STRONG),
            ],
            "JWT_ISSUER",
        ),
        (
            &[
                ("JWT_ISSUER", "https://id.example.com"),
                ("FLASK_SECRET_KEY", "change-me-please-change-me-please"),
            ],
            "FLASK_SECRET_KEY",
        ),
        (
            &[
                ("JWT_ISSUER", "https://id.example.com"),
                ("SESSION_SECRET", STRONG),
                ("JWT_SECRET_KEY", "your-secret-key"),
            ],
            "JWT_SECRET_KEY",
        ),
        (
            &[
                ("JWT_ISSUER", "https://id.example.com"),
                ("SESSION_SECRET", STRONG),
                ("JWT_EXPIRATION_MINUTES", "soon"),
            ],
            "JWT_EXPIRATION_MINUTES",
        ),
    ];
    for (env, variable) in cases {
        let out = run(dir.path(), &["start"], None, env).await;
        assert_eq!(out.status.code(), Some(2), "{env:?}");
        let err = stderr(&out);
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
        assert!(err.contains(variable), "{err} names {variable}");
    }
    assert!(
        !dir.path().join("identity.db").exists(),
        "nothing was started"
    );
}

/// Spawns a server command and reads its dev banner: the child, its address, the banner.
async fn start_server(mut cmd: Command) -> (Child, String, String) {
    let mut child = cmd.spawn().expect("binary starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut banner = String::new();
    let mut address = None;
    tokio::time::timeout(Duration::from_secs(60), async {
        // The banner ends with the URLs to try, the last of them /test-token.
        while let Some(line) = lines.next_line().await.expect("read stdout") {
            if let Some(rest) = line.strip_prefix("identity-backend (dev mode) on ") {
                address = Some(rest.to_owned());
            }
            banner.push_str(&line);
            banner.push('\n');
            if line.ends_with("/test-token") {
                break;
            }
        }
    })
    .await
    .expect("banner in time");
    (child, address.expect("address in the banner"), banner)
}

/// Sends SIGTERM and waits for the process to exit.
async fn terminate(child: Child) -> Output {
    let pid = child.id().expect("running").to_string();
    Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .expect("kill runs");
    tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
        .await
        .expect("stops in time")
        .expect("output")
}

#[tokio::test]
async fn start_dev_works_with_no_configuration_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = command(dir.path(), &["start-dev"], &[("BIND_ADDR", "127.0.0.1:0")]);
    cmd.env_remove("DATABASE_URL");
    let (child, address, banner) = start_server(cmd).await;
    assert!(banner.contains("demo user      demo"), "{banner}");
    assert!(banner.contains("generated now"), "{banner}");
    assert!(
        banner.contains("browser-ui") && banner.contains("dev-client-secret"),
        "{banner}"
    );
    assert!(
        banner.contains("http://localhost:5000/callback"),
        "{banner}"
    );
    assert!(
        banner.contains("/.well-known/openid-configuration"),
        "{banner}"
    );

    let ping = crate::helpers::http_client()
        .get(format!("{address}/ping"))
        .send()
        .await
        .unwrap();
    assert_eq!(ping.text().await.unwrap(), "OK");
    assert!(
        dir.path().join("data/identity.db").is_file(),
        "SQLite under ./data"
    );

    let out = terminate(child).await;
    assert!(
        out.status.success(),
        "a graceful exit after SIGTERM: {:?}",
        out.status
    );
    let logs = stderr(&out);
    let first = logs.lines().next().unwrap_or_default();
    assert!(
        first.contains("dev mode"),
        "the first log line says dev mode: {first}"
    );
}

#[tokio::test]
async fn secrets_and_tokens_never_reach_the_logs() {
    let dir = tempfile::tempdir().unwrap();
    let password = "demo-password-that-must-not-be-logged";
    let secret = "client-secret-that-must-not-be-logged";
    let env = [
        ("BIND_ADDR", "127.0.0.1:0"),
        ("RUST_LOG", "trace"),
        ("DEMO_USERNAME", "alice"),
        ("DEMO_PASSWORD", password),
        ("ALLOWED_CLIENTS", "browser-ui"),
        (
            "CLIENT_SECRETS",
            r#"{"browser-ui": "client-secret-that-must-not-be-logged"}"#,
        ),
        ("ALLOWED_REDIRECT_URIS", "http://localhost:5000/callback"),
        ("SESSION_SECRET", "session-secret-that-must-not-be-logged"),
        ("JWT_SECRET_KEY", "jwt-secret-that-must-not-be-logged"),
    ];
    let (child, address, banner) = start_server(command(dir.path(), &["start-dev"], &env)).await;
    assert!(
        !banner.contains(password) && !banner.contains(secret),
        "configured secrets are not printed"
    );

    let client = crate::helpers::http_client();
    let body: serde_json::Value = client
        .get(format!("{address}/test-token"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = body["id_token"].as_str().unwrap().to_owned();
    for presented in [token.clone(), format!("{token}x")] {
        let body = serde_json::json!({ "token": presented });
        client
            .post(format!("{address}/verify"))
            .json(&body)
            .send()
            .await
            .unwrap();
    }
    client
        .get(format!("{address}/test-token?sub={token}"))
        .send()
        .await
        .unwrap();

    let logs = stderr(&terminate(child).await);
    assert!(logs.contains("/verify"), "requests were logged: {logs}");
    for needle in [
        password,
        secret,
        "session-secret-that",
        "jwt-secret-that",
        token.as_str(),
    ] {
        assert!(!logs.contains(needle), "{needle} leaked into the logs");
    }
    let signature = token.rsplit('.').next().unwrap();
    assert!(
        !logs.contains(signature),
        "a token's signature leaked into the logs"
    );
}

#[tokio::test]
async fn user_commands() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = run(
        d,
        &[
            "user",
            "add",
            "Alice",
            "--password-stdin",
            "--email",
            "alice@example.com",
        ],
        Some("s3cret pass\n"),
        &[],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("created user Alice"));
    assert!(
        !stdout(&out).contains("s3cret"),
        "a given password is not echoed"
    );

    let dup = run(
        d,
        &["user", "add", "alice", "--password-stdin"],
        Some("x\n"),
        &[],
    )
    .await;
    assert_eq!(dup.status.code(), Some(1));
    assert!(
        stderr(&dup).contains("user alice already exists"),
        "{}",
        stderr(&dup)
    );

    let generated = run(d, &["user", "add", "bob"], None, &[]).await;
    assert!(
        stdout(&generated).contains("password: "),
        "a generated password is printed once"
    );

    let list = stdout(&run(d, &["user", "list"], None, &[]).await);
    assert!(
        list.contains("Alice") && list.contains("alice@example.com") && list.contains("bob"),
        "{list}"
    );

    assert!(
        run(d, &["user", "disable", "alice"], None, &[])
            .await
            .status
            .success()
    );
    assert!(
        stdout(&run(d, &["user", "list"], None, &[]).await)
            .lines()
            .any(|l| l.starts_with("Alice") && l.contains("disabled"))
    );
    assert!(
        run(d, &["user", "enable", "ALICE"], None, &[])
            .await
            .status
            .success()
    );
    assert!(
        run(
            d,
            &["user", "passwd", "alice", "--password-stdin"],
            Some("another\n"),
            &[]
        )
        .await
        .status
        .success()
    );

    let empty = run(
        d,
        &["user", "passwd", "alice", "--password-stdin"],
        Some("\n"),
        &[],
    )
    .await;
    assert_eq!(empty.status.code(), Some(1));
    assert!(stderr(&empty).contains("empty"));

    assert!(
        run(d, &["user", "delete", "bob"], None, &[])
            .await
            .status
            .success()
    );
    let gone = run(d, &["user", "delete", "bob"], None, &[]).await;
    assert_eq!(gone.status.code(), Some(1));
    assert!(stderr(&gone).contains("no user named bob"));

    let secret_arg = run(d, &["user", "add", "carol", "--password", "x"], None, &[]).await;
    assert_eq!(
        secret_arg.status.code(),
        Some(2),
        "passwords are never command-line arguments"
    );
}

#[tokio::test]
async fn client_commands() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let add = run(
        d,
        &[
            "client",
            "add",
            "web",
            "--name",
            "Web App",
            "--redirect-uri",
            "https://app.example.com/cb",
            "--redirect-uri",
            "https://app.example.com/cb2",
        ],
        None,
        &[],
    )
    .await;
    assert!(add.status.success(), "{}", stderr(&add));
    let text = stdout(&add);
    let secret = text
        .lines()
        .find_map(|l| l.strip_prefix("client secret: "))
        .expect("secret printed once")
        .to_owned();
    assert_eq!(secret.len(), 43, "256-bit generated secret");

    let show = stdout(&run(d, &["client", "show", "web"], None, &[]).await);
    assert!(
        show.contains("https://app.example.com/cb2") && show.contains("authorization_code"),
        "{show}"
    );
    assert!(!show.contains(&secret), "the secret is not shown again");

    let dup = run(
        d,
        &[
            "client",
            "add",
            "web",
            "--redirect-uri",
            "https://x.example.com/cb",
        ],
        None,
        &[],
    )
    .await;
    assert!(stderr(&dup).contains("client web already exists"));

    for (uri, expected) in [
        ("/relative", "absolute"),
        ("https://app.example.com/cb#frag", "fragment"),
        ("http://app.example.com/cb", "https"),
        ("http://localhost:5000/callback", "https"),
    ] {
        let out = run(
            d,
            &["client", "add", "bad", "--redirect-uri", uri],
            None,
            &[],
        )
        .await;
        assert_eq!(out.status.code(), Some(1), "{uri}");
        assert!(stderr(&out).contains(expected), "{uri}: {}", stderr(&out));
    }
    let dev = run(
        d,
        &[
            "client",
            "add",
            "local",
            "--redirect-uri",
            "http://localhost:5000/callback",
        ],
        None,
        &[("DEV_MODE", "true")],
    )
    .await;
    assert!(
        dev.status.success(),
        "loopback http is fine in dev mode: {}",
        stderr(&dev)
    );

    let s2s = run(
        d,
        &[
            "client",
            "add",
            "worker",
            "--audience",
            "logging-service",
            "--default-audience",
            "logging-service",
        ],
        None,
        &[],
    )
    .await;
    assert!(
        stdout(&s2s).contains("client_credentials"),
        "{}",
        stdout(&s2s)
    );

    let weak = run(
        d,
        &[
            "client",
            "add",
            "weak",
            "--secret-stdin",
            "--grant-type",
            "client_credentials",
        ],
        Some("changeme\n"),
        &[],
    )
    .await;
    assert_eq!(weak.status.code(), Some(1));

    let rotated = run(d, &["client", "rotate-secret", "web"], None, &[]).await;
    let new_secret = stdout(&rotated)
        .lines()
        .find_map(|l| l.strip_prefix("client secret: "))
        .unwrap()
        .to_owned();
    assert_ne!(new_secret, secret);

    let list = stdout(&run(d, &["client", "list"], None, &[]).await);
    assert!(
        list.contains("web") && list.contains("worker") && list.contains("local"),
        "{list}"
    );

    assert!(
        run(d, &["client", "remove", "web"], None, &[])
            .await
            .status
            .success()
    );
    let unknown = run(d, &["client", "show", "web"], None, &[]).await;
    assert_eq!(unknown.status.code(), Some(1));
    assert!(stderr(&unknown).contains("no client with id web"));
}

#[tokio::test]
async fn key_commands() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(run(d, &["migrate"], None, &[]).await.status.success());
    // No key yet: the first one signs at once.
    let first = stdout(&run(d, &["keys", "rotate"], None, &[]).await);
    assert!(first.starts_with("new RS256 key "), "{first}");
    assert!(first.contains("signing now"), "{first}");
    let second = stdout(&run(d, &["keys", "rotate"], None, &[]).await);
    assert!(second.contains("signing from "), "pre-published: {second}");
    let list = stdout(&run(d, &["keys", "list"], None, &[]).await);
    assert_eq!(list.lines().count(), 2, "{list}");
    let newest = second
        .trim_start_matches("new RS256 key ")
        .split(':')
        .next()
        .unwrap();
    let next = list.lines().next().unwrap();
    assert!(
        next.starts_with(newest) && next.contains("next (published; signs from"),
        "{list}"
    );
    assert!(
        list.lines()
            .nth(1)
            .unwrap()
            .contains("active (signing until"),
        "{list}"
    );

    let urgent = stdout(&run(d, &["keys", "rotate", "--now"], None, &[]).await);
    assert!(urgent.contains("signing now"), "{urgent}");
    let list = stdout(&run(d, &["keys", "list"], None, &[]).await);
    let newest = urgent
        .trim_start_matches("new RS256 key ")
        .split(':')
        .next()
        .unwrap();
    let line = |kid: &str| {
        list.lines()
            .find(|l| l.starts_with(kid))
            .unwrap()
            .to_owned()
    };
    assert!(line(newest).contains("active (signing)"), "{list}");
    assert!(
        line(
            second
                .trim_start_matches("new RS256 key ")
                .split(':')
                .next()
                .unwrap()
        )
        .contains("superseded before it signed"),
        "the scheduled key never signs: {list}"
    );
    assert_eq!(
        list.lines().filter(|l| l.contains("active")).count(),
        1,
        "{list}"
    );

    // A client asking for ES256 access tokens brings an ES256 key, signing at once; from
    // then on a rotation rotates both algorithms.
    let added = run(
        d,
        &[
            "client",
            "add",
            "fast-service",
            "--grant-type",
            "client_credentials",
            "--access-token-alg",
            "ES256",
        ],
        None,
        &[],
    )
    .await;
    assert!(added.status.success(), "{}", stderr(&added));
    assert!(stdout(&added).contains("access_token_signed_alg     ES256"));
    let list = stdout(&run(d, &["keys", "list"], None, &[]).await);
    let es256: Vec<&str> = list.lines().filter(|l| l.contains("ES256")).collect();
    assert_eq!(es256.len(), 1, "{list}");
    assert!(es256[0].contains("active (signing)"), "{list}");
    let both = stdout(&run(d, &["keys", "rotate"], None, &[]).await);
    assert!(
        both.contains("new RS256 key ") && both.contains("new ES256 key "),
        "{both}"
    );
    let wrong = run(
        d,
        &[
            "client",
            "add",
            "odd",
            "--grant-type",
            "client_credentials",
            "--id-token-alg",
            "HS256",
        ],
        None,
        &[],
    )
    .await;
    assert!(!wrong.status.success());
    assert!(
        stderr(&wrong).contains("expected RS256, ES256 or EdDSA"),
        "{}",
        stderr(&wrong)
    );
}

#[tokio::test]
async fn healthcheck_follows_the_server() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let addr = app.address.trim_start_matches("http://").to_owned();
    let up = run(dir.path(), &["healthcheck", "--addr", &addr], None, &[]).await;
    assert!(up.status.success(), "{}", stderr(&up));
    let from_env = run(dir.path(), &["healthcheck"], None, &[("BIND_ADDR", &addr)]).await;
    assert!(from_env.status.success());

    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    let down = run(dir.path(), &["healthcheck", "--addr", &closed], None, &[]).await;
    assert_eq!(down.status.code(), Some(1));
}

#[tokio::test]
async fn dot_env_is_read_and_the_environment_wins_over_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".env"),
        "# Flask-style .env\nJWT_ISSUER=http://id.example.com\nFLASK_SECRET_KEY=changeme\n",
    )
    .unwrap();
    let out = run(dir.path(), &["start"], None, &[]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("JWT_ISSUER"),
        "the .env issuer was read: {}",
        stderr(&out)
    );

    let out = run(
        dir.path(),
        &["start"],
        None,
        &[("JWT_ISSUER", "https://id.example.com")],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("FLASK_SECRET_KEY") && err.contains("placeholder"),
        "the environment's issuer won: {err}"
    );
    assert!(
        !err.contains("changeme"),
        "the secret's value is not echoed: {err}"
    );
}

#[tokio::test]
async fn machine_client_registration_flags() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (key, _) = identity_backend::crypto::SigningKey::generate_rs256().unwrap();
    let jwks = d.join("worker.jwks.json");
    std::fs::write(
        &jwks,
        serde_json::json!({ "keys": [key.public_jwk()] }).to_string(),
    )
    .unwrap();
    let jwks = jwks.to_string_lossy().into_owned();
    let add = run(
        d,
        &[
            "client",
            "add",
            "worker",
            "--audience",
            "logging-service",
            "--auth-method",
            "private_key_jwt",
            "--jwks-file",
            &jwks,
            "--act-for",
            "worker-b",
        ],
        None,
        &[],
    )
    .await;
    assert!(add.status.success(), "{}", stderr(&add));
    let text = stdout(&add);
    assert!(
        text.contains("private_key_jwt") && !text.contains("client secret:"),
        "no secret for a key-authenticated client: {text}"
    );

    let missing = run(
        d,
        &[
            "client",
            "add",
            "w2",
            "--audience",
            "a",
            "--auth-method",
            "private_key_jwt",
        ],
        None,
        &[],
    )
    .await;
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("--jwks-file"),
        "{}",
        stderr(&missing)
    );

    let no_key = run(
        d,
        &[
            "client",
            "add",
            "w3",
            "--audience",
            "a",
            "--auth-method",
            "client_secret_jwt",
        ],
        None,
        &[],
    )
    .await;
    assert_eq!(no_key.status.code(), Some(1));
    assert!(
        stderr(&no_key).contains("KEY_ENCRYPTION_KEY"),
        "{}",
        stderr(&no_key)
    );
    let with_key = run(
        d,
        &[
            "client",
            "add",
            "w3",
            "--audience",
            "a",
            "--auth-method",
            "client_secret_jwt",
        ],
        None,
        &[(
            "KEY_ENCRYPTION_KEY",
            "sealing-key-Kx8vQ2mZ7pL4wN9rT3yB6cF1hJ5sD0gA",
        )],
    )
    .await;
    assert!(
        stdout(&with_key).contains("client secret: "),
        "{}",
        stderr(&with_key)
    );

    let bad_method = run(
        d,
        &["client", "add", "w4", "--auth-method", "magic"],
        None,
        &[],
    )
    .await;
    assert_eq!(
        bad_method.status.code(),
        Some(2),
        "clap refuses unknown methods"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_logout_ends_every_session_and_refresh_token() {
    use crate::helpers::{gateway_query, query_of};
    let app = TestApp::spawn().await;
    app.add_user("alice", "pw").await;
    let query = gateway_query("").replace("scope=openid", "scope=openid%20offline_access");
    let to = app.sign_in(&app.client, &query, "alice", "pw").await;
    let tokens: serde_json::Value = app
        .redeem(&query_of(&to)["code"])
        .await
        .json()
        .await
        .unwrap();
    let other_browser = crate::helpers::browser();
    app.sign_in(&other_browser, &gateway_query(""), "alice", "pw")
        .await;

    let dir = tempfile::tempdir().unwrap();
    let db = app.state.config.database_url.expose().to_owned();
    let env = [("DATABASE_URL", db.as_str())];
    let list = stdout(&run(dir.path(), &["user", "sessions", "alice"], None, &env).await);
    assert_eq!(list.lines().count(), 2, "two browsers: {list}");
    let sid = crate::helpers::claims_of(tokens["id_token"].as_str().unwrap())["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(list.contains(&sid), "the ID token's sid is listed: {list}");

    let out = run(dir.path(), &["user", "logout", "alice"], None, &env).await;
    assert!(
        stdout(&out).contains("2 session(s) ended, 1 refresh token(s) revoked"),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        app.authorize(&app.client, &gateway_query(""))
            .await
            .status(),
        200,
        "signed out: the form again"
    );
    assert_eq!(
        app.authorize(&other_browser, &gateway_query(""))
            .await
            .status(),
        200
    );
    let refresh = app
        .client
        .post(app.url("/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ("client_id", crate::helpers::CLIENT_ID),
            ("client_secret", crate::helpers::CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refresh.status(), 400, "the refresh token is revoked");
    let none = stdout(&run(dir.path(), &["user", "sessions", "alice"], None, &env).await);
    assert!(none.contains("no active sessions"), "{none}");
}

#[tokio::test]
async fn copy_moves_users_clients_and_keys_to_another_database() {
    let header_of_token = |t: &str| {
        crate::helpers::header_of(t)["kid"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    use identity_backend::config::Mode;
    use identity_backend::crypto::SecretString;
    use identity_backend::service::admin::{ClientSpec, add_client, list_users};
    use identity_backend::service::keys;

    let source = TestApp::spawn_sqlite(Mode::Development, &[]).await;
    source.add_user("alice", "alice-pw").await;
    let spec = ClientSpec {
        redirect_uris: vec!["https://web.example/cb".into()],
        secret: Some(SecretString::new("web-Kx8vQ2mZ7pL4wN9rT3yB6cF1hJ5sD0gA")),
        backchannel_logout_uri: Some("https://web.example/bc".into()),
        first_party: false,
        ..crate::helpers::client_spec("web")
    };
    add_client(&source.state.db, &source.clock, &source.state.config, spec)
        .await
        .unwrap();
    let old_token = source.test_token("").await;
    keys::rotate(
        &source.state.db,
        &source.clock,
        &source.state.config,
        keys::Activation::Scheduled,
    )
    .await
    .unwrap();
    let users = list_users(&source.state.db).await.unwrap().len();

    // In the PostgreSQL pass the target is a PostgreSQL database; else another SQLite file.
    let target = crate::helpers::TestStorage::new().await;
    let dir = tempfile::tempdir().unwrap();
    let from = source.state.config.database_url.expose().to_owned();
    let env = [("DATABASE_URL", from.as_str())];
    let to = target.database_url.as_str();
    let out = run(dir.path(), &["copy", "--to", to], None, &env).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!(
            "copied {users} user(s), 2 client(s), 2 signing key(s)"
        )),
        "{}",
        stdout(&out)
    );
    let again = run(dir.path(), &["copy", "--to", to], None, &env).await;
    assert_eq!(again.status.code(), Some(1), "never into a database in use");
    assert!(
        stderr(&again).contains("already has users"),
        "{}",
        stderr(&again)
    );

    let copy = TestApp::spawn_on_storage(target, Mode::Development, &[]).await;
    let published: Vec<String> = copy
        .get("/jwks.json")
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap()["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect();
    let mut stored: Vec<String> = identity_backend::store::keys::list_keys(&source.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.kid)
        .collect();
    let mut sorted = published.clone();
    sorted.sort();
    stored.sort();
    assert_eq!(sorted, stored, "the same keys, the next one included");
    assert_eq!(
        published[0],
        header_of_token(&old_token),
        "the same key signs"
    );
    let (status, _) = copy
        .verify(&serde_json::json!({ "token": old_token }))
        .await;
    assert_eq!(status, 200, "tokens issued before the move still verify");
    let to = copy
        .sign_in(
            &copy.client,
            &crate::helpers::gateway_query(""),
            "alice",
            "alice-pw",
        )
        .await;
    assert!(to.contains("code="), "alice's password came along");
    let web = identity_backend::store::clients::find_client(&copy.state.db, "web")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        web.backchannel_logout_uri.as_deref(),
        Some("https://web.example/bc")
    );
    assert!(!web.first_party);
    assert_eq!(web.redirect_uris, vec!["https://web.example/cb".to_owned()]);
}

#[tokio::test]
async fn migrate_and_the_admin_commands_work_on_either_database() {
    // PostgreSQL in the PostgreSQL pass, SQLite otherwise.
    let storage = crate::helpers::TestStorage::new().await;
    let env = [("DATABASE_URL", storage.database_url.as_str())];
    let d = storage.path();
    let migrated = run(d, &["migrate"], None, &env).await;
    assert!(migrated.status.success(), "{}", stderr(&migrated));
    assert!(stdout(&migrated).contains("migrations applied"));
    assert!(
        run(d, &["migrate"], None, &env).await.status.success(),
        "idempotent"
    );
    let added = run(
        d,
        &["user", "add", "bob", "--password-stdin"],
        Some("bob-Kx8vQ2mZ7pL4wN9r\n"),
        &env,
    )
    .await;
    assert!(added.status.success(), "{}", stderr(&added));
    assert!(stdout(&run(d, &["user", "list"], None, &env).await).contains("bob"));
    let rotated = run(d, &["keys", "rotate"], None, &env).await;
    assert!(
        stdout(&rotated).contains("signing now"),
        "{}",
        stdout(&rotated)
    );
}

/// A stand-in for the central log service's `POST /log`: keeps each body and its bearer
/// token; answers after `delay`.
struct LogService {
    address: String,
    received: std::sync::Arc<std::sync::Mutex<Vec<(String, serde_json::Value)>>>,
}

impl LogService {
    async fn start_on(listener: tokio::net::TcpListener, delay: Duration) -> LogService {
        use axum::http::HeaderMap;
        let address = format!("http://{}", listener.local_addr().unwrap());
        let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = received.clone();
        let app = axum::Router::new().route(
            "/log",
            axum::routing::post(
                move |headers: HeaderMap, body: axum::Json<serde_json::Value>| {
                    let kept = kept.clone();
                    async move {
                        tokio::time::sleep(delay).await;
                        let bearer = headers
                            .get("authorization")
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.strip_prefix("Bearer "))
                            .unwrap_or_default()
                            .to_owned();
                        kept.lock().unwrap().push((bearer, body.0));
                        axum::http::StatusCode::CREATED
                    }
                },
            ),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        LogService { address, received }
    }

    fn events(&self) -> Vec<(String, serde_json::Value)> {
        self.received.lock().unwrap().clone()
    }
}

async fn failed_client_auth(client: &reqwest::Client, address: &str) -> u16 {
    client
        .post(format!("{address}/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "browser-ui"),
            ("client_secret", "not-the-secret-Kx8vQ2mZ7pL4"),
        ])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn metric(client: &reqwest::Client, address: &str, line_start: &str) -> f64 {
    let text = client
        .get(format!("{address}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn audit_events_reach_the_central_log_service_with_our_token() {
    let service = LogService::start_on(
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        Duration::ZERO,
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("BIND_ADDR", "127.0.0.1:0"),
        ("LOGGING_BACKEND_URL", service.address.as_str()),
        ("LOGGING_BACKEND_AUD", "logging-service"),
        ("IDENTITY_SUB", "identity-backend"),
    ];
    let (child, address, _) = start_server(command(dir.path(), &["start-dev"], &env)).await;
    let client = crate::helpers::http_client();
    assert_eq!(failed_client_auth(&client, &address).await, 401);

    let mut shipped = None;
    for _ in 0..100 {
        shipped = service
            .events()
            .into_iter()
            .find(|(_, e)| e["context"]["event"] == "client_auth.failed");
        if shipped.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (bearer, event) = shipped.expect("the failed client authentication was shipped");
    assert_eq!(event["service"], "identity-backend");
    assert_eq!(event["level"], "INFO");
    assert!(event["message"].as_str().is_some_and(|m| !m.is_empty()));
    let context = &event["context"];
    assert_eq!(context["path"], "/token", "{event}");
    assert!(context["request_id"].as_str().is_some_and(|r| r.len() > 8));
    assert_eq!(context["client_ip"], "127.0.0.1");
    let everything = serde_json::to_string(&service.events()).unwrap();
    assert!(
        !everything.contains("not-the-secret"),
        "no secret is shipped"
    );

    // The token: ours (RS256, in our JWKS), for the log service, about us.
    let header = crate::helpers::header_of(&bearer);
    assert_eq!(header["alg"], "RS256");
    let jwks: jsonwebtoken::jwk::JwkSet = client
        .get(format!("{address}/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwk = jwks
        .find(header["kid"].as_str().unwrap())
        .expect("published");
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&["logging-service"]);
    let claims = jsonwebtoken::decode::<serde_json::Value>(
        &bearer,
        &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(),
        &validation,
    )
    .expect("the log service can verify it with our JWKS")
    .claims;
    assert_eq!(claims["sub"], "identity-backend");
    assert!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap() <= 300);
    assert!(
        metric(
            &client,
            &address,
            r#"identity_log_shipper_events{outcome="sent"}"#
        )
        .await
            >= 1.0
    );
    assert!(terminate(child).await.status.success());
}

#[tokio::test]
async fn a_log_service_that_is_down_or_slow_never_holds_up_requests() {
    // Down at first: nothing listens on its port.
    let parked = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port_address = parked.local_addr().unwrap();
    drop(parked);
    let url = format!("http://{port_address}");
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("BIND_ADDR", "127.0.0.1:0"),
        ("LOGGING_BACKEND_URL", url.as_str()),
        ("RATE_LIMIT_TOKEN_PER_MINUTE", "0"),
    ];
    let (mut child, address, _) = start_server(command(dir.path(), &["start-dev"], &env)).await;
    // Thousands of log lines: read them, or the pipe fills and the server blocks on stderr.
    let mut logs = BufReader::new(child.stderr.take().expect("stderr")).lines();
    tokio::spawn(async move { while let Ok(Some(_)) = logs.next_line().await {} });
    let client = crate::helpers::http_client();
    for _ in 0..5 {
        assert_eq!(
            failed_client_auth(&client, &address).await,
            401,
            "answered while it is down"
        );
    }
    assert_eq!(
        metric(
            &client,
            &address,
            r#"identity_log_shipper_events{outcome="sent"}"#
        )
        .await,
        0.0
    );

    // It comes back, slow: what was queued arrives (retried with backoff)...
    let service = LogService::start_on(
        tokio::net::TcpListener::bind(port_address).await.unwrap(),
        Duration::from_millis(500),
    )
    .await;
    let mut arrived = false;
    for _ in 0..300 {
        if !service.events().is_empty() {
            arrived = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(arrived, "queued events are sent once it is back");

    // ...and a burst larger than the queue is answered in full; the excess is dropped and
    // counted instead of waiting for the slow service.
    let mut burst = tokio::task::JoinSet::new();
    for _ in 0..(identity_backend::telemetry::SHIP_QUEUE + 300) / 50 {
        let (client, address) = (client.clone(), address.clone());
        burst.spawn(async move {
            for _ in 0..50 {
                assert_eq!(failed_client_auth(&client, &address).await, 401);
            }
        });
    }
    while let Some(done) = burst.join_next().await {
        done.unwrap();
    }
    let dropped = metric(
        &client,
        &address,
        r#"identity_log_shipper_events{outcome="dropped"}"#,
    )
    .await;
    assert!(dropped > 0.0, "a full queue drops and counts");
    assert!(
        terminate(child).await.status.success(),
        "stops despite a slow log service"
    );
}

/// A stand-in OpenTelemetry collector: keeps each `POST /v1/traces` (headers and body).
async fn start_collector() -> (
    String,
    std::sync::Arc<std::sync::Mutex<Vec<(axum::http::HeaderMap, bytes::Bytes)>>>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = received.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: bytes::Bytes| {
            let kept = kept.clone();
            async move {
                kept.lock().unwrap().push((headers, body));
                axum::http::StatusCode::OK
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    (address, received)
}

#[tokio::test]
async fn request_spans_are_exported_over_otlp_and_continue_the_callers_trace() {
    let (collector, received) = start_collector().await;
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("BIND_ADDR", "127.0.0.1:0"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.as_str()),
        ("OTEL_EXPORTER_OTLP_HEADERS", "x-collector-key=k3y"),
        ("OTEL_SERVICE_NAME", "idp-under-test"),
    ];
    let (child, address, _) = start_server(command(dir.path(), &["start-dev"], &env)).await;
    // The gateway's trace: 16 bytes of trace id, 8 of parent span id.
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let answer = crate::helpers::http_client()
        .get(format!("{address}/ping"))
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    // Stopping flushes what the batch processor still holds.
    let output = terminate(child).await;
    assert!(output.status.success(), "{}", stderr(&output));

    let received = received.lock().unwrap().clone();
    assert!(!received.is_empty(), "spans reached the collector");
    let trace_bytes: Vec<u8> = (0..16)
        .map(|i| u8::from_str_radix(&trace_id[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    let contains = |body: &[u8], needle: &[u8]| body.windows(needle.len()).any(|w| w == needle);
    let (headers, body) = received
        .iter()
        .find(|(_, body)| contains(body, b"GET /ping"))
        .expect("the /ping request's span was exported");
    assert_eq!(headers["content-type"], "application/x-protobuf");
    assert_eq!(headers["x-collector-key"], "k3y");
    assert!(
        contains(body, &trace_bytes),
        "the span belongs to the caller's trace"
    );
    assert!(contains(body, b"idp-under-test"), "service.name is set");
}

#[tokio::test]
async fn a_bad_otlp_endpoint_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(
        dir.path(),
        &["start-dev"],
        None,
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318")],
    )
    .await;
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("OTEL_EXPORTER_OTLP_ENDPOINT"));
}

#[tokio::test]
async fn a_secret_rotated_from_the_cli_stops_working_at_a_running_server_within_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let env = [("BIND_ADDR", "127.0.0.1:0")];
    let (mut child, address, _) = start_server(command(d, &["start-dev"], &env)).await;
    let mut logs = BufReader::new(child.stderr.take().expect("stderr")).lines();
    tokio::spawn(async move { while let Ok(Some(_)) = logs.next_line().await {} });
    let old = "machine-Kx8vQ2mZ7pL4wN9rT3yB6cF1hJ5sD0gA";
    let added = run(
        d,
        &[
            "client",
            "add",
            "machine",
            "--grant-type",
            "client_credentials",
            "--default-audience",
            "logging-service",
            "--audience",
            "logging-service",
            "--secret-stdin",
        ],
        Some(old),
        &env,
    )
    .await;
    assert!(added.status.success(), "{}", stderr(&added));
    let client = crate::helpers::http_client();
    let token = |secret: String| {
        let client = client.clone();
        let url = format!("{address}/token");
        async move {
            client
                .post(url)
                .basic_auth("machine", Some(secret))
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    // Authenticated (and the registration now cached by the server).
    assert_eq!(token(old.into()).await, 200);
    assert_eq!(token(old.into()).await, 200);

    let rotated = run(d, &["client", "rotate-secret", "machine"], None, &env).await;
    let new = stdout(&rotated)
        .lines()
        .find_map(|l| l.strip_prefix("client secret: ").map(str::to_owned))
        .expect("the new secret is printed");
    // Another process changed it: the server learns within its one-second sync.
    let mut refused = false;
    for _ in 0..50 {
        if token(old.into()).await == 401 {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(refused, "the old secret stops working");
    assert_eq!(token(new).await, 200, "the new one works");
}
