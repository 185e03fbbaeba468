//! Hostile input, round 2 (issue 21): one test per defect of the re-probe. Files that are not
//! files (a FIFO, `/dev/zero`), endless answers, a full disk under the audit, slow bodies and
//! impossible scenarios against the mock, settings that decide where the secret goes, and the
//! smaller ones. Every wait here is a hang guard, never a timed assertion.

use crate::common;

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use common::Harness;
use reqwest::Method;
use serde_json::{Value, json};

/// A hang guard only: each case ends in well under a second when it works.
const PATIENCE: Duration = Duration::from_secs(60);

const EVIL: &str = "Eve\u{1b}]0;PWNED\u{7}\u{1b}[2J\u{9b}31m";

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

async fn output(mut command: tokio::process::Command) -> Output {
    tokio::time::timeout(PATIENCE, command.output())
        .await
        .expect("confwatch ended instead of hanging")
        .expect("run confwatch")
}

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo");
    assert!(status.success());
}

/// The binary with its token store in `state` (a file, no keyring).
fn signed_in_command(dir: &Path, state: &Path, args: &[&str]) -> tokio::process::Command {
    let mut command = common::confwatch_in(dir);
    command
        .args(args)
        .env("CONFWATCH_STATE_DIR", state)
        .env("CONFWATCH_TOKEN_STORE", "file");
    command
}

/// A stored sign-in as the token file holds it.
fn session_json(name: &str, email: &str, expires_at: i64) -> String {
    json!({
        "profile": "default", "clientId": "c", "apiBase": "http://127.0.0.1:9",
        "loginBase": "http://127.0.0.1:9", "accessToken": "tok", "expiresAt": expires_at,
        "identity": {"userId": "u1", "name": name, "email": email, "permissions": []}
    })
    .to_string()
}

// ---- unbounded reads ----

#[tokio::test]
async fn a_token_file_that_is_a_fifo_or_dev_zero_is_refused_not_read() {
    let dir = common::temp_dir("hardening");
    let state = dir.join("state-dir");
    std::fs::create_dir_all(&state).unwrap();
    let token_file = state.join("tokens-default.json");
    mkfifo(&token_file);
    let out = output(signed_in_command(&dir, &state, &["whoami"])).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("not a regular file"), "{stderr}");
    std::fs::remove_file(&token_file).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &token_file).unwrap();
    let out = output(signed_in_command(&dir, &state, &["whoami"])).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("not a regular file"), "{stderr}");
    std::fs::remove_dir_all(&dir).ok();
}

/// A FIFO, `/dev/zero` or a 2 GB file as the config file: one message each, nothing read.
#[tokio::test]
async fn a_config_file_that_is_a_fifo_a_device_or_huge_is_refused_with_a_message() {
    let dir = common::temp_dir("hardening");
    let fifo = dir.join("fifo.toml");
    mkfifo(&fifo);
    let huge = dir.join("huge.toml");
    // Sparse: 2 GB long, nothing on disk.
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(2 << 30)
        .unwrap();
    for (path, message) in [
        (fifo.as_path(), "not a regular file (a FIFO)"),
        (Path::new("/dev/zero"), "not a regular file (a device)"),
        (huge.as_path(), "larger than"),
    ] {
        let mut command =
            common::confwatch_as(&dir, "http://127.0.0.1:9", ("id", "secret"), &["list"]);
        command.args(["--config", path.to_str().unwrap()]);
        let out = output(command).await;
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(message), "{path:?}: {stderr}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_history_that_is_a_fifo_does_not_hang_the_kick() {
    let h = Harness::start(json!({"rateLimitPerMinute": 0})).await;
    let dir = common::temp_dir("hardening");
    let history = dir
        .join("state")
        .join("confwatch")
        .join("lock-history.json");
    std::fs::create_dir_all(history.parent().unwrap()).unwrap();
    mkfifo(&history);
    let (call, target) = h.conference("connected").await;
    let audit = dir.join("audit.jsonl");
    let out = output(common::confwatch_as(
        &dir,
        &h.mock.base_url(),
        (h.mock.client_id(), h.mock.client_secret()),
        &common::kick_args(&call.id, &target, &audit),
    ))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    std::fs::remove_dir_all(&dir).ok();
    h.stop().await;
}

/// `login`'s token answer is read with the same cap as every answer.
#[tokio::test]
async fn an_endless_sign_in_token_answer_is_cut_with_a_clear_error() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    let sent = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&sent);
    let app = axum::Router::new().route(
        "/oauth/token",
        axum::routing::post(move || {
            let sent = Arc::clone(&counter);
            async move {
                let chunk = axum::body::Bytes::from(vec![b' '; 64 * 1024]);
                let stream = futures::stream::iter(0..4096u64).map(move |_| {
                    sent.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                    Ok::<_, std::io::Error>(chunk.clone())
                });
                axum::response::Response::new(axum::body::Body::from_stream(stream))
            }
        }),
    );
    use futures::StreamExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let secret: confwatch::platform::Secret = serde_json::from_str("\"code\"").unwrap();
    let verifier: confwatch::platform::Secret = serde_json::from_str("\"verifier\"").unwrap();
    let http = reqwest::Client::new();
    let err = tokio::time::timeout(
        PATIENCE,
        confwatch::platform::exchange_code(
            &http,
            &base,
            "client",
            &secret,
            &verifier,
            "http://127.0.0.1:1/callback",
        ),
    )
    .await
    .expect("no hang")
    .unwrap_err();
    assert!(err.to_string().contains("larger than"), "{err}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let sent = sent.load(Ordering::Relaxed);
    assert!(sent < 64 * 1024 * 1024, "the sign-in read {sent} bytes");
    server.abort();
}

// ---- the audit on a full disk ----

/// `kick` with the audit file limited to `limit` bytes (RLIMIT_FSIZE, SIGXFSZ ignored so a
/// write past it fails with EFBIG, as a full disk fails with ENOSPC).
async fn kick_with_file_limit(
    h: &Harness,
    dir: &Path,
    call: &str,
    target: &str,
    audit: &Path,
    limit: Option<u64>,
) -> Output {
    let mut command = common::confwatch_as(
        dir,
        &h.mock.base_url(),
        (h.mock.client_id(), h.mock.client_secret()),
        &common::kick_args(call, target, audit),
    );
    if let Some(limit) = limit {
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            command.pre_exec(move || {
                let rlimit = libc::rlimit {
                    rlim_cur: limit,
                    rlim_max: limit,
                };
                if libc::setrlimit(libc::RLIMIT_FSIZE, &rlimit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                Ok(())
            });
        }
    }
    output(command).await
}

/// Every line of the audit file parses as JSON (no torn half-line, nothing glued).
fn audit_lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "torn tail: {text:?}"
    );
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_before_the_patch_is_exit_6_and_leaves_no_torn_line() {
    let h = Harness::start(json!({"rateLimitPerMinute": 0})).await;
    let dir = common::temp_dir("hardening");
    let audit = dir.join("audit.jsonl");
    let (call, target) = h.conference("connected").await;
    // An earlier kick's line, then room for a few bytes only.
    std::fs::write(&audit, "{\"event\":\"earlier\"}\n").unwrap();
    let before = std::fs::metadata(&audit).unwrap().len();
    let out = kick_with_file_limit(&h, &dir, &call.id, &target, &audit, Some(before + 17)).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{stderr}");
    assert!(
        common::participant_patches(&h.requests(0).await).is_empty(),
        "a PATCH left without its audit line"
    );
    assert_eq!(audit_lines(&audit).len(), 1, "the half-line was kept");
    std::fs::remove_dir_all(&dir).ok();
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_after_the_202_reports_removed_and_the_audit_incomplete() {
    let h = Harness::start(json!({"rateLimitPerMinute": 0})).await;
    let dir = common::temp_dir("hardening");
    // A first kick measures the lines up to the attempt (the same shape, the same lengths).
    let (first, first_target) = h.conference("connected").await;
    let measure = dir.join("measure.jsonl");
    let out = kick_with_file_limit(&h, &dir, &first.id, &first_target, &measure, None).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let measured = std::fs::read_to_string(&measure).unwrap();
    let through_attempt = common::bytes_through_attempt(&measured);

    let (call, target) = h.conference("connected").await;
    let audit = dir.join("audit.jsonl");
    let limit = through_attempt as u64 + 10;
    let out = kick_with_file_limit(&h, &dir, &call.id, &target, &audit, Some(limit)).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(7), "{stderr}");
    assert!(stderr.contains("removed"), "{stderr}");
    assert!(stderr.contains("audit record is incomplete"), "{stderr}");
    // The outcome itself (the console's job view shows the same message) says so too.
    assert!(
        stderr.contains("the audit record is incomplete (a line could not be written)"),
        "{stderr}"
    );
    let lines = audit_lines(&audit);
    assert_eq!(lines.last().unwrap()["step"], "attempt", "{lines:#?}");
    h.assert_gone(&call.id, &target).await;
    std::fs::remove_dir_all(&dir).ok();
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_torn_tail_from_a_crash_is_closed_before_the_next_kick_writes() {
    let h = Harness::start(json!({"rateLimitPerMinute": 0})).await;
    let dir = common::temp_dir("hardening");
    let audit = dir.join("audit.jsonl");
    std::fs::write(&audit, "{\"event\":\"earlier\"}\n{\"at\":\"2026-").unwrap();
    let (call, target) = h.conference("connected").await;
    let out = kick_with_file_limit(&h, &dir, &call.id, &target, &audit, None).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let text = std::fs::read_to_string(&audit).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[1], "{\"at\":\"2026-",
        "the torn line is kept as it was"
    );
    for line in &lines[2..] {
        let record: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert_eq!(record["conversationId"], call.id.as_str());
    }
    assert!(lines.len() > 3);
    std::fs::remove_dir_all(&dir).ok();
    h.stop().await;
}

// ---- the mock's bounds ----

/// A mock with short timeouts and few slots.
async fn small_mock() -> Harness {
    let mut options = genesys_cloud_mock::MockOptions::loopback(
        genesys_cloud_mock::Scenario::named("quiet").unwrap(),
    );
    options.limits = genesys_cloud_mock::ServerLimits {
        max_connections: 16,
        header_read_timeout: Duration::from_millis(300),
        idle_timeout: Duration::from_millis(300),
        body_read_timeout: Duration::from_millis(300),
    };
    Harness::with_options(options).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_bodies_cannot_hold_the_mocks_connection_slots() {
    use tokio::io::AsyncWriteExt;
    let h = small_mock().await;
    let mut slow = Vec::new();
    for _ in 0..40 {
        let mut stream = tokio::net::TcpStream::connect(h.mock.local_addr())
            .await
            .unwrap();
        let head = "POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\n";
        stream.write_all(head.as_bytes()).await.unwrap();
        slow.push(stream);
    }
    // Real requests on new connections answer while the slow ones hold on (they are closed
    // once their body is late).
    let http = reqwest::Client::new();
    let answered = tokio::time::timeout(PATIENCE, async {
        loop {
            let answer = http
                .get(format!("{}/api/v2/routing/queues", h.mock.base_url()))
                .bearer_auth(&h.token)
                .send()
                .await;
            if answer.is_ok_and(|a| a.status() == 200) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(answered.is_ok(), "no request answered past the slow bodies");
    drop(slow);
    h.stop().await;
}

#[tokio::test]
async fn a_scenario_the_simulation_cannot_keep_is_refused() {
    let dir = common::temp_dir("hardening");
    let file = dir.join("big.json");
    let scenario = json!({
        "name": "big",
        "clients": [{"id": "c", "permissions": ["*"]}],
        "generate": {"queues": 1, "agents": 100000},
        "calls": {"min_conferences": 30000}
    });
    std::fs::write(&file, scenario.to_string()).unwrap();
    let mut command = common::confwatch_in(&dir);
    command.args(["mock", "--scenario", file.to_str().unwrap()]);
    let out = output(command).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("min_conferences"), "{stderr}");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn control_api_legs_are_bounded() {
    let h = Harness::start(json!({"rateLimitPerMinute": 0})).await;
    let legs: Vec<Value> = (0..20_000)
        .map(|_| json!({"name": "g", "purpose": "external"}))
        .collect();
    let (status, body) = h
        .json(
            Method::POST,
            "/mock/conversations",
            Some(json!({"queue": "Support", "participants": legs})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("participants"), "{body}");
    h.stop().await;
}

#[tokio::test]
async fn a_huge_fault_duration_is_refused_not_a_panic_later() {
    let h = Harness::start(json!({"rateLimitPerMinute": 0})).await;
    let (status, body) = h
        .json(
            Method::PUT,
            "/mock/faults",
            Some(json!({"noLongerSubscribedAfterSecs": u64::MAX})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.to_string().contains("noLongerSubscribedAfterSecs"),
        "{body}"
    );
    h.stop().await;
}

// ---- settings that decide where the secret goes ----

/// `list` with the config file `toml` (mode `mode`), the mock's credentials in the environment
/// and `extra` arguments; no `--base-url` flag.
async fn list_with_config(
    h: &Harness,
    toml: &str,
    mode: u32,
    extra: &[&str],
    env: &[(&str, &str)],
) -> Output {
    use std::os::unix::fs::PermissionsExt;
    let dir = common::temp_dir("hardening");
    let config = dir.join("config.toml");
    std::fs::write(&config, toml).unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(mode)).unwrap();
    let mut command = common::confwatch_in(&dir);
    command
        .arg("list")
        .args(["--config", config.to_str().unwrap()])
        .args(extra)
        .env("GENESYSCLOUD_OAUTHCLIENT_ID", h.mock.client_id())
        .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", h.mock.client_secret());
    for (k, v) in env {
        command.env(k, v);
    }
    let out = output(command).await;
    std::fs::remove_dir_all(&dir).ok();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_settings_precedence_table_end_to_end() {
    let h = Harness::start(json!({"rateLimitPerMinute": 0})).await;
    let mock = h.mock.base_url();
    let in_file = format!("base_url = \"{mock}\"\n");
    // The file alone: used.
    let out = list_with_config(&h, &in_file, 0o600, &[], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // A region flag beats the file's base_url (an unknown region shows which one was used).
    let out = list_with_config(&h, &in_file, 0o600, &["--region", "moon-1"], &[]).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("unknown region \"moon-1\""), "{stderr}");
    // So does the environment's region.
    let out = list_with_config(
        &h,
        &in_file,
        0o600,
        &[],
        &[("GENESYSCLOUD_REGION", "moon-2")],
    )
    .await;
    let stderr = text(&out.stderr);
    assert!(stderr.contains("unknown region \"moon-2\""), "{stderr}");
    // A base URL flag beats the environment's region.
    let out = list_with_config(
        &h,
        "",
        0o600,
        &["--base-url", &mock],
        &[("GENESYSCLOUD_REGION", "moon-3")],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    h.stop().await;
}

#[tokio::test]
async fn a_region_and_a_base_url_that_disagree_are_an_error_naming_both() {
    let h = Harness::start(json!({"rateLimitPerMinute": 0})).await;
    let toml = format!(
        "region = \"eu-west-1\"\nbase_url = \"{}\"\n",
        h.mock.base_url()
    );
    let out = list_with_config(&h, &toml, 0o600, &[], &[]).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("eu-west-1"), "{stderr}");
    assert!(stderr.contains(&h.mock.base_url()), "{stderr}");
    assert!(stderr.contains("config file"), "{stderr}");
    // The same in a profile.
    let toml = format!(
        "[profiles.p]\nregion = \"eu-west-1\"\nbase_url = \"{}\"\nclient_id = \"a\"\nclient_secret = \"b\"\n",
        h.mock.base_url()
    );
    let out = list_with_config(&h, &toml, 0o600, &["--profile", "p"], &[]).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("eu-west-1") && stderr.contains("[profiles.p]"),
        "{stderr}"
    );
    h.stop().await;
}

#[tokio::test]
async fn a_config_file_others_can_write_may_not_say_where_requests_go() {
    let h = Harness::start(json!({"rateLimitPerMinute": 0})).await;
    let toml = format!("base_url = \"{}\"\n", h.mock.base_url());
    let out = list_with_config(&h, &toml, 0o666, &[], &[]).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("writable by others"), "{stderr}");
    // Readable by others but writable only by its owner: fine (no secret in it).
    let out = list_with_config(&h, &toml, 0o644, &[], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    h.stop().await;
}

// ---- text ----

#[tokio::test]
async fn whoami_prints_the_users_name_and_email_without_escape_codes() {
    let dir = common::temp_dir("hardening");
    let state = dir.join("state-dir");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(
        state.join("tokens-default.json"),
        session_json(EVIL, &format!("{EVIL}@example.com"), i64::MAX),
    )
    .unwrap();
    let out = output(signed_in_command(&dir, &state, &["whoami"])).await;
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(stdout.contains("Eve]0;PWNED"), "{stdout}");
    let bad: Vec<char> = stdout
        .chars()
        .filter(|c| c.is_control() && *c != '\n')
        .collect();
    assert!(bad.is_empty(), "{bad:?}");
    std::fs::remove_dir_all(&dir).ok();
}

// ---- the smaller ones ----

#[tokio::test]
async fn a_corrupt_token_file_can_be_logged_out() {
    let dir = common::temp_dir("hardening");
    let state = dir.join("state-dir");
    std::fs::create_dir_all(&state).unwrap();
    let token_file = state.join("tokens-default.json");
    std::fs::write(&token_file, "{not json").unwrap();
    let out = output(signed_in_command(&dir, &state, &["whoami"])).await;
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("confwatch logout"), "{all}");
    let out = output(signed_in_command(&dir, &state, &["logout"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!token_file.exists(), "logout left the corrupt file");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn an_expiry_of_i64_min_is_an_expired_sign_in() {
    let dir = common::temp_dir("hardening");
    let state = dir.join("state-dir");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(
        state.join("tokens-default.json"),
        session_json("Dana", "dana@example.com", i64::MIN),
    )
    .unwrap();
    let out = output(signed_in_command(&dir, &state, &["whoami"])).await;
    let stdout = text(&out.stdout);
    assert!(stdout.contains("expired"), "{stdout}");
    assert!(!stdout.contains("2562047787516165"), "{stdout}");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_redirect_is_ignored_and_the_real_one_still_signs_in() {
    let listener = confwatch::platform::RedirectListener::bind(0)
        .await
        .unwrap();
    let uri = listener.redirect_uri();
    let waiting = tokio::spawn(listener.wait("s1".into()));
    let http = reqwest::Client::new();
    let forged = http
        .get(format!("{uri}?code=evil&state=forged"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 400);
    assert!(
        !waiting.is_finished(),
        "a forged redirect ended the sign-in"
    );
    let ok = http
        .get(format!("{uri}?code=the-code&state=s1"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let code = tokio::time::timeout(PATIENCE, waiting)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(code.expose(), "the-code");
}

#[tokio::test]
async fn an_unknown_scenario_lists_the_built_in_ones() {
    let dir = common::temp_dir("hardening");
    let mut command = common::confwatch_in(&dir);
    command.args(["mock", "--scenario", "nope"]);
    let out = output(command).await;
    let stderr = text(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    for name in ["demo", "quiet"] {
        assert!(stderr.contains(name), "{stderr}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn a_dumb_terminal_gets_a_message_not_the_full_screen() {
    let dir = common::temp_dir("hardening");
    let mut command = common::confwatch_in(&dir);
    command.env("TERM", "dumb");
    let out = output(command).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("TERM=dumb"), "{stderr}");
    std::fs::remove_dir_all(&dir).ok();
}
