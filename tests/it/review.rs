//! Review findings that need the real binary against the mock on loopback (self-contained: no
//! shared harness).

use std::process::Stdio;

use confwatch::mock::{MockOptions, MockServer, Scenario};

/// `confwatch kick --json | head -1` closes stdout early: the kick must still end with its own
/// exit code, not a panic on a broken pipe (exit 101).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kick_json_into_a_closed_pipe_exits_with_the_outcome_code_not_a_panic() {
    let mock = MockServer::start(MockOptions::loopback(
        Scenario::named("quiet").expect("quiet scenario"),
    ))
    .await
    .expect("mock starts");
    let dir = std::env::temp_dir().join(format!("confwatch-review-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_confwatch"))
        .args([
            "kick",
            "--json",
            // A well-formed id the mock does not know: the GET answers 404, the kick fails (1).
            "--conversation",
            "3f1c9a2e-8d4b-4c1e-9f7a-2b6d5e8c1a90",
            "--participant",
            "3f1c9a2e-8d4b-4c1e-9f7a-2b6d5e8c1a91",
            "--base-url",
            &mock.base_url(),
            "--client-id",
            mock.client_id(),
            "--audit-log",
        ])
        .arg(dir.join("audit.jsonl"))
        .env_remove("GENESYSCLOUD_OAUTHCLIENT_ID")
        .env_remove("GENESYSCLOUD_REGION")
        .env_remove("GENESYSCLOUD_ACCESS_TOKEN")
        .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", mock.client_secret())
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("CONFWATCH_LOG", dir.join("confwatch.log"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("run confwatch");
    // The reader goes away before anything is written.
    drop(child.stdout.take());
    let output = child.wait_with_output().await.expect("confwatch ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "stderr: {stderr}");
    mock.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// The scenario's main client, for the control API.
fn control(mock: &MockServer) -> confwatch::platform::Client {
    confwatch::platform::Client::new(confwatch::platform::connection::ConnectionConfig::for_mock(
        &mock.base_url(),
        mock.client_id(),
        mock.client_secret(),
    ))
    .expect("control client")
}

/// A conference in Support: a customer, Ava (`ava_state`) and Ben; returns (call id, Ava's leg).
async fn conference(control: &confwatch::platform::Client, ava_state: &str) -> (String, String) {
    let call: confwatch::wire::CallConversation = control
        .send_json(
            reqwest::Method::POST,
            "/mock/conversations",
            &serde_json::json!({"queue": "Support", "participants": [
                {"name": "Casey Customer", "purpose": "customer", "state": "connected"},
                {"name": "Ava Reed", "purpose": "agent", "state": ava_state, "userId": "a0000000-0000-4000-8000-000000000001"},
                {"name": "Ben Ortiz", "purpose": "agent", "state": "connected", "userId": "a0000000-0000-4000-8000-000000000002"},
            ]}),
        )
        .await
        .expect("conference");
    let ava = call
        .participants
        .iter()
        .find(|p| p.name.as_deref() == Some("Ava Reed"))
        .expect("Ava")
        .id
        .clone();
    (call.id, ava)
}

/// `confwatch kick` against the mock, isolated in `dir` (config, log, lock history).
fn kick_command(
    mock: &MockServer,
    dir: &std::path::Path,
    conversation: &str,
    participant: &str,
) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_confwatch"));
    command
        .args([
            "kick",
            "--conversation",
            conversation,
            "--participant",
            participant,
            "--base-url",
            &mock.base_url(),
            "--client-id",
            mock.client_id(),
        ])
        .env_remove("GENESYSCLOUD_OAUTHCLIENT_ID")
        .env_remove("GENESYSCLOUD_REGION")
        .env_remove("GENESYSCLOUD_ACCESS_TOKEN")
        .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", mock.client_secret())
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("CONFWATCH_LOG", dir.join("confwatch.log"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

async fn patches_seen(control: &confwatch::platform::Client) -> usize {
    let log: serde_json::Value = control.get("/mock/requests?since=0").await.expect("log");
    log.as_array()
        .expect("a list")
        .iter()
        .filter(|r| {
            r["method"] == "PATCH" && !r["path"].as_str().unwrap_or("").starts_with("/mock/")
        })
        .count()
}

/// Issue 12, point 3: with `--audit-log /dev/full` the kick removed the agent and exited 0. The
/// audit fails closed: nothing is sent, exit 6, a clear message; `--no-audit` is the way out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_audit_that_cannot_be_kept_sends_nothing_and_no_audit_is_explicit() {
    let mock = MockServer::start(MockOptions::loopback(Scenario::named("quiet").unwrap()))
        .await
        .unwrap();
    let control = control(&mock);
    let _: serde_json::Value = control
        .send_json(
            reqwest::Method::PUT,
            "/mock/faults",
            &serde_json::json!({"rateLimitPerMinute": 0}),
        )
        .await
        .unwrap();
    let (call, ava) = conference(&control, "connected").await;
    let dir = std::env::temp_dir().join(format!("confwatch-review-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let output = kick_command(&mock, &dir, &call, &ava)
        .args(["--audit-log", "/dev/full"])
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(6), "stderr: {stderr}");
    assert!(stderr.contains("nothing was sent"), "stderr: {stderr}");
    assert_eq!(
        patches_seen(&control).await,
        0,
        "no PATCH without an audit record"
    );

    let output = kick_command(&mock, &dir, &call, &ava)
        .arg("--no-audit")
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "stderr: {stderr}");
    assert!(
        stderr.contains("--no-audit"),
        "the choice is said: {stderr}"
    );
    mock.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 12, point 5: SIGTERM during a kick exited 143 with no outcome in the audit. Now the
/// running kick's last audit line is `interrupted`, and the exit code is the signal's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_kick_audits_interrupted() {
    let mock = MockServer::start(MockOptions::loopback(Scenario::named("quiet").unwrap()))
        .await
        .unwrap();
    let control = control(&mock);
    // The lock refuses the ringing leg; it never answers, so the kick waits.
    let _: serde_json::Value = control
        .send_json(
            reqwest::Method::PUT,
            "/mock/faults",
            &serde_json::json!({"rateLimitPerMinute": 0, "transitionLock": {"enabled": true, "settleMs": 400}}),
        )
        .await
        .unwrap();
    let (call, ava) = conference(&control, "alerting").await;
    let dir = std::env::temp_dir().join(format!("confwatch-review-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let audit = dir.join("audit.jsonl");
    let child = kick_command(&mock, &dir, &call, &ava)
        .arg("--audit-log")
        .arg(&audit)
        .spawn()
        .unwrap();
    let pid = child.id().expect("pid");
    // Until the 409 is audited: the kick is waiting for the leg.
    for _ in 0..600 {
        let text = std::fs::read_to_string(&audit).unwrap_or_default();
        if text.contains("\"status\":409") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let output = child.wait_with_output().await.unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(143), "stderr: {stderr}");
    let text = std::fs::read_to_string(&audit).unwrap();
    let last: serde_json::Value =
        serde_json::from_str(text.lines().last().expect("a line")).unwrap();
    assert_eq!(last["outcome"], "interrupted", "{text}");
    assert!(
        last["message"].as_str().unwrap_or("").contains("SIGTERM"),
        "{last}"
    );
    mock.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
