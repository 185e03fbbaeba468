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
