//! Review findings that need the real binary against the mock on loopback.

use crate::common;

use std::process::Stdio;

use common::Harness;
use serde_json::json;

/// `confwatch kick --json | head -1` closes stdout early: the kick must still end with its own
/// exit code, not a panic on a broken pipe (exit 101).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kick_json_into_a_closed_pipe_exits_with_the_outcome_code_not_a_panic() {
    let h = Harness::scenario("quiet").await;
    let dir = common::temp_dir("review");
    let mut child = kick_command(
        &h,
        &dir,
        // A well-formed id the mock does not know: the GET answers 404, the kick fails (1).
        "3f1c9a2e-8d4b-4c1e-9f7a-2b6d5e8c1a90",
        "3f1c9a2e-8d4b-4c1e-9f7a-2b6d5e8c1a91",
    )
    .args(["--json", "--audit-log"])
    .arg(dir.join("audit.jsonl"))
    .spawn()
    .expect("run confwatch");
    // The reader goes away before anything is written.
    drop(child.stdout.take());
    let output = child.wait_with_output().await.expect("confwatch ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "stderr: {stderr}");
    h.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// `confwatch kick` against the mock, isolated in `dir` (config, log, lock history).
fn kick_command(
    h: &Harness,
    dir: &std::path::Path,
    conversation: &str,
    participant: &str,
) -> tokio::process::Command {
    let mut command = common::confwatch_as(
        dir,
        &h.mock.base_url(),
        (h.mock.client_id(), h.mock.client_secret()),
        &[
            "kick",
            "--conversation",
            conversation,
            "--participant",
            participant,
        ],
    );
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    command
}

/// The PATCHes the mock saw.
async fn patches_seen(h: &Harness) -> usize {
    let log = h.requests(0).await;
    log.iter().filter(|r| r["method"] == "PATCH").count()
}

/// Issue 12, point 3: with `--audit-log /dev/full` the kick removed the agent and exited 0. The
/// audit fails closed: nothing is sent, exit 6, a clear message; `--no-audit` is the way out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_audit_that_cannot_be_kept_sends_nothing_and_no_audit_is_explicit() {
    let h = Harness::start(json!({"rateLimitPerMinute": 0})).await;
    let (call, ava) = h.conference("connected").await;
    let call = call.id;
    let dir = common::temp_dir("review");
    let output = kick_command(&h, &dir, &call, &ava)
        .args(["--audit-log", "/dev/full"])
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(6), "stderr: {stderr}");
    assert!(stderr.contains("nothing was sent"), "stderr: {stderr}");
    assert_eq!(
        patches_seen(&h).await,
        0,
        "no PATCH without an audit record"
    );

    let output = kick_command(&h, &dir, &call, &ava)
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
    h.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 12, point 5: SIGTERM during a kick exited 143 with no outcome in the audit. Now the
/// running kick's last audit line is `interrupted`, and the exit code is the signal's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_kick_audits_interrupted() {
    // The lock refuses the ringing leg; it never answers, so the kick waits.
    let h = Harness::start(
        json!({"rateLimitPerMinute": 0, "transitionLock": {"enabled": true, "settleMs": 400}}),
    )
    .await;
    let (call, ava) = h.conference("alerting").await;
    let call = call.id;
    let dir = common::temp_dir("review");
    let audit = dir.join("audit.jsonl");
    let child = kick_command(&h, &dir, &call, &ava)
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
    h.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
