//! The `confwatch` binary's `list` and `kick` against the mock on loopback: output, exit codes,
//! the audit file, and bad input caught before any request.

use crate::common;

use std::process::Output;

use common::{Harness, VIEWER_ID, VIEWER_SECRET, leg_of};
use serde_json::{Value, json};

/// Runs the binary with only the given credentials (nothing from the environment or a config file).
async fn confwatch(
    h: &Harness,
    client: (&str, &str),
    args: &[&str],
    dir: &std::path::Path,
) -> Output {
    common::confwatch_as(dir, &h.mock.base_url(), client, args)
        .output()
        .await
        .expect("run confwatch")
}

fn main_client(h: &Harness) -> (String, String) {
    (
        h.mock.client_id().to_string(),
        h.mock.client_secret().to_string(),
    )
}

fn json_lines(output: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kick_json_removes_and_writes_the_audit_file() {
    let h = Harness::start(json!({"rateLimitPerMinute": 300})).await;
    let (call, target) = h.conference("connected").await;
    let dir = common::temp_dir("cli");
    let audit = dir.join("audit.jsonl");
    let (id, secret) = main_client(&h);
    let output = confwatch(
        &h,
        (&id, &secret),
        &[
            "kick",
            "--conversation",
            &call.id,
            "--participant",
            &target,
            "--json",
            "--audit-log",
            audit.to_str().unwrap(),
        ],
        &dir,
    )
    .await;
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines = json_lines(&output);
    let last = lines.last().expect("an outcome line");
    assert_eq!(last["outcome"], "removed");
    assert_eq!(last["attempts"], 1);
    // GET, the channel and its subscription (to hear the leg go, opened beside the PATCH),
    // PATCH, the subscription dropped when done; one more GET if the channel opened after the
    // 202.
    assert!(matches!(last["requests"].as_u64(), Some(5..=6)), "{last}");
    assert!(last["elapsedMs"].is_u64() && last["message"].is_string());
    assert!(lines.iter().any(|l| l["step"] == "attempt"));

    let text = std::fs::read_to_string(&audit).expect("audit file");
    assert!(!text.contains(&secret), "the secret reached the audit file");
    assert!(!text.to_lowercase().contains("bearer"));
    for line in text.lines() {
        assert_no_duplicate_keys(line);
    }
    let records: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records[0]["event"], "request");
    let started = records
        .iter()
        .find(|r| r["step"] == "started")
        .expect("a started line");
    assert_eq!(started["name"], "Ava Reed");
    let finished = records.last().unwrap();
    assert_eq!(finished["step"], "finished");
    assert_eq!(finished["outcome"], "removed");
    assert_eq!(finished["who"]["clientId"], id.as_str());
    assert_eq!(finished["participantId"], target.as_str());
    assert_eq!(finished["name"], "Ava Reed");
    assert_eq!(finished["purpose"], "agent");
    std::fs::remove_dir_all(&dir).ok();
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_id_is_refused_before_any_request() {
    let h = Harness::start(json!({"rateLimitPerMinute": 300})).await;
    let dir = common::temp_dir("cli");
    let before = h.last_seq().await;
    let (id, secret) = main_client(&h);
    let output = confwatch(
        &h,
        (&id, &secret),
        &[
            "kick",
            "--conversation",
            "../../oops",
            "--participant",
            "p1",
        ],
        &dir,
    )
    .await;
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("conversation \"../../oops\" is not a valid id"),
        "{stderr}"
    );
    // A usage error is 1 too (2 means "refused by a safety rule").
    let usage = confwatch(&h, (&id, &secret), &["kick", "--conversation", "c"], &dir).await;
    assert_eq!(usage.status.code(), Some(1));
    assert!(h.requests(before).await.is_empty(), "a request was sent");
    std::fs::remove_dir_all(&dir).ok();
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_for_refused_timed_out_and_not_permitted() {
    let h = Harness::start(json!({"rateLimitPerMinute": 300})).await;
    let dir = common::temp_dir("cli");
    let audit = dir.join("audit.jsonl");
    let audit = audit.to_str().unwrap();
    let (id, secret) = main_client(&h);
    let (call, target) = h.conference("alerting").await;
    let customer = leg_of(&call, "Casey Customer");

    let refused = confwatch(
        &h,
        (&id, &secret),
        &[
            "kick",
            "--conversation",
            &call.id,
            "--participant",
            &customer,
            "--audit-log",
            audit,
        ],
        &dir,
    )
    .await;
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("refused"));

    let timed_out = confwatch(
        &h,
        (&id, &secret),
        &[
            "kick",
            "--conversation",
            &call.id,
            "--participant",
            &target,
            "--wait-timeout",
            "1s",
            "--strategy",
            "settled",
            "--audit-log",
            audit,
        ],
        &dir,
    )
    .await;
    assert_eq!(
        timed_out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&timed_out.stderr)
    );
    assert!(String::from_utf8_lossy(&timed_out.stderr).contains("waiting: leg alerting"));

    let (settled, agent) = h.conference("connected").await;
    let denied = confwatch(
        &h,
        (VIEWER_ID, VIEWER_SECRET),
        &[
            "kick",
            "--conversation",
            &settled.id,
            "--participant",
            &agent,
            "--json",
            "--audit-log",
            audit,
        ],
        &dir,
    )
    .await;
    assert_eq!(denied.status.code(), Some(4));
    let last = json_lines(&denied).pop().unwrap();
    assert_eq!(last["outcome"], "failed");
    assert!(
        last["message"]
            .as_str()
            .unwrap()
            .contains("conversation:communication:disconnect")
    );
    assert!(
        common::participant_patches(&h.requests(0).await)
            .iter()
            .all(|(_, pid, _)| *pid == agent)
    );
    std::fs::remove_dir_all(&dir).ok();
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_shows_conferences_with_participants() {
    let h = Harness::start(json!({"rateLimitPerMinute": 300})).await;
    let (call, target) = h.conference("connected").await;
    let dir = common::temp_dir("cli");
    let (id, secret) = main_client(&h);
    let text = confwatch(&h, (&id, &secret), &["list"], &dir).await;
    assert_eq!(
        text.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&text.stderr)
    );
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(
        stdout.contains(&call.id) && stdout.contains("queue Support") && stdout.contains("3 live"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Ava Reed") && stdout.contains("Casey Customer"),
        "{stdout}"
    );

    let json = confwatch(
        &h,
        (&id, &secret),
        &["list", "--queue", "Support", "--json"],
        &dir,
    )
    .await;
    let doc: Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(doc[0]["conversationId"], call.id.as_str());
    assert!(
        doc[0]["participants"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["participantId"] == target.as_str())
    );

    let other = confwatch(&h, (&id, &secret), &["list", "--queue", "Sales"], &dir).await;
    assert_eq!(
        String::from_utf8_lossy(&other.stdout).trim(),
        "no active conferences"
    );
    std::fs::remove_dir_all(&dir).ok();
    h.stop().await;
}

/// A JSON object whose keys each appear once (serde_json keeps the last of a repeated key
/// silently; a reader of the audit file must not have to guess which one counts).
fn assert_no_duplicate_keys(line: &str) {
    struct Unique;
    impl<'de> serde::Deserialize<'de> for Unique {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct Visit;
            impl<'de> serde::de::Visitor<'de> for Visit {
                type Value = Unique;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("any JSON value")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    mut map: A,
                ) -> Result<Unique, A::Error> {
                    let mut seen = std::collections::HashSet::new();
                    while let Some(key) = map.next_key::<String>()? {
                        if !seen.insert(key.clone()) {
                            return Err(serde::de::Error::custom(format!("duplicate key {key:?}")));
                        }
                        map.next_value::<Unique>()?;
                    }
                    Ok(Unique)
                }
                fn visit_seq<A: serde::de::SeqAccess<'de>>(
                    self,
                    mut seq: A,
                ) -> Result<Unique, A::Error> {
                    while seq.next_element::<Unique>()?.is_some() {}
                    Ok(Unique)
                }
                fn visit_str<E>(self, _: &str) -> Result<Unique, E> {
                    Ok(Unique)
                }
                fn visit_bool<E>(self, _: bool) -> Result<Unique, E> {
                    Ok(Unique)
                }
                fn visit_i64<E>(self, _: i64) -> Result<Unique, E> {
                    Ok(Unique)
                }
                fn visit_u64<E>(self, _: u64) -> Result<Unique, E> {
                    Ok(Unique)
                }
                fn visit_f64<E>(self, _: f64) -> Result<Unique, E> {
                    Ok(Unique)
                }
                fn visit_unit<E>(self) -> Result<Unique, E> {
                    Ok(Unique)
                }
            }
            d.deserialize_any(Visit)
        }
    }
    if let Err(e) = serde_json::from_str::<Unique>(line) {
        panic!("audit line with a repeated key ({e}): {line}");
    }
}

/// `confwatch mock` runs the mock crate's command line: the same checks as the mock's own binary.
#[test]
fn confwatch_mock_prints_where_it_listens_and_refuses_remote_binds() {
    let dir = common::temp_dir("mock-cli");
    common::the_cli_prints_where_it_listens_and_refuses_remote_binds(|| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_confwatch"));
        command
            .arg("--log-file")
            .arg(dir.join("confwatch.log"))
            .arg("mock");
        command
    });
    let _ = std::fs::remove_dir_all(&dir);
}

/// The outcome lines of a `--json` run: lines that are not a progress step.
fn outcome_lines(output: &Output) -> Vec<Value> {
    json_lines(output)
        .into_iter()
        .filter(|l| l.get("step").is_none())
        .collect()
}

/// Every `confwatch kick --json` run ends with exactly one outcome line on stdout, whatever the
/// outcome: a bad id, no credentials, an unusable audit file, a refusal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kick_json_run_ends_with_one_outcome_line() {
    let h = Harness::start(json!({"rateLimitPerMinute": 300})).await;
    let dir = common::temp_dir("cli-json");
    let (id, secret) = main_client(&h);
    let (call, _) = h.conference("connected").await;
    let customer = leg_of(&call, "Casey Customer");
    let ava = leg_of(&call, "Ava Reed");
    let folder = dir.join("a-folder");
    std::fs::create_dir_all(&folder).unwrap();
    let folder = folder.to_string_lossy().to_string();
    let cases: Vec<(&str, Vec<&str>, i32)> = vec![
        (
            "a bad id",
            vec!["kick", "--conversation", "1234", "--participant", &ava],
            1,
        ),
        (
            "an audit file that cannot be opened",
            vec![
                "kick",
                "--conversation",
                &call.id,
                "--participant",
                &ava,
                "--audit-log",
                &folder,
            ],
            6,
        ),
        (
            "the customer, refused",
            vec![
                "kick",
                "--conversation",
                &call.id,
                "--participant",
                &customer,
            ],
            2,
        ),
    ];
    for (what, mut args, code) in cases {
        args.push("--json");
        let output = confwatch(&h, (&id, &secret), &args, &dir).await;
        assert_eq!(output.status.code(), Some(code), "{what}: {output:?}");
        let outcomes = outcome_lines(&output);
        assert_eq!(outcomes.len(), 1, "{what}: {outcomes:?}");
        let last = json_lines(&output).pop().unwrap();
        assert!(last.get("outcome").is_some(), "{what}: ends with {last}");
    }
    // No credentials at all: an error before anything else, still one outcome line.
    let output = common::confwatch_in(&dir)
        .args([
            "kick",
            "--conversation",
            &call.id,
            "--participant",
            &ava,
            "--json",
        ])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let outcomes = outcome_lines(&output);
    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    assert_eq!(outcomes[0]["outcome"], "failed");
    assert!(
        outcomes[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("no credentials")),
        "{outcomes:?}"
    );
    std::fs::remove_dir_all(&dir).ok();
    h.stop().await;
}

/// Two `confwatch kick` at once on the two agents of a customer + 2 agents call (same user, one
/// machine): the per-call claim makes the later kick count the earlier as leaving, so exactly
/// one goes through and the customer is never left alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_kicks_at_once_never_leave_the_customer_alone() {
    let h = Harness::start(json!({"rateLimitPerMinute": 300})).await;
    let dir = common::temp_dir("cli-two-kicks");
    let (id, secret) = main_client(&h);
    let (call, _) = h.conference("connected").await;
    let ava = leg_of(&call, "Ava Reed");
    let ben = leg_of(&call, "Ben Ortiz");
    // Each request answered late, so the two kicks overlap.
    h.faults(json!({"latencyMs": 1_500})).await;
    let kick_of = |leg: String| {
        let args = [
            "kick",
            "--conversation",
            &call.id,
            "--participant",
            &leg,
            "--json",
        ];
        common::confwatch_as(&dir, &h.mock.base_url(), (&id, &secret), &args).output()
    };
    let (first, second) = tokio::join!(kick_of(ava.clone()), async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        kick_of(ben.clone()).await
    });
    let (first, second) = (first.unwrap(), second.unwrap());
    let mut codes = [first.status.code(), second.status.code()];
    codes.sort();
    assert_eq!(
        codes,
        [Some(0), Some(2)],
        "exactly one removed, one refused: {first:?}\n{second:?}"
    );
    let refused = if first.status.code() == Some(2) {
        &first
    } else {
        &second
    };
    let outcome = outcome_lines(refused).pop().unwrap();
    assert!(
        outcome["message"]
            .as_str()
            .is_some_and(|m| m.contains("Casey Customer (customer)")),
        "{outcome}"
    );
    h.faults(json!({"latencyMs": 0})).await;
    let now = h.read(&call.id).await;
    let connected: Vec<_> = now
        .participants
        .iter()
        .filter(|p| p.state == confwatch::wire::ParticipantState::Connected)
        .collect();
    assert_eq!(connected.len(), 2, "{now:?}");
    assert!(
        connected
            .iter()
            .any(|p| p.name.as_deref() == Some("Casey Customer")),
        "{now:?}"
    );
    std::fs::remove_dir_all(&dir).ok();
    h.stop().await;
}

/// A claims folder that cannot be made (a file where it should be): the kick still removes (a
/// broken state directory must not stop a removal in a live call), and says it was not
/// protected against another confwatch on the call: a line on stderr, and with `--json` a step
/// on stdout, in the audit too, and a warning on stderr.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kick_without_its_claim_goes_on_and_says_so() {
    let h = Harness::start(json!({"rateLimitPerMinute": 300})).await;
    let dir = common::temp_dir("cli-claims");
    let state = dir.join("state").join("confwatch");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(state.join("claims"), "not a folder").unwrap();
    let (id, secret) = main_client(&h);
    for json in [false, true] {
        let (call, target) = h.conference("connected").await;
        let audit = dir.join(format!("audit-{json}.jsonl"));
        let mut args = common::kick_args(&call.id, &target, &audit);
        if json {
            args.push("--json");
        }
        let output = confwatch(&h, (&id, &secret), &args, &dir).await;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{stderr}");
        assert!(
            stderr.contains("not protected against another confwatch kicking on this call"),
            "{stderr}"
        );
        assert!(stderr.contains("cannot claim the call"), "{stderr}");
        h.assert_gone(&call.id, &target).await;
        let text = std::fs::read_to_string(&audit).unwrap();
        assert!(text.contains("\"step\":\"unprotected\""), "{text}");
        if json {
            let lines = json_lines(&output);
            let step = lines
                .iter()
                .find(|l| l["step"] == "unprotected")
                .unwrap_or_else(|| panic!("{lines:#?}"));
            assert!(
                step["reason"].as_str().unwrap().contains("claims"),
                "{step}"
            );
            assert_eq!(lines.last().unwrap()["outcome"], "removed");
        }
    }
    std::fs::remove_dir_all(&dir).ok();
    h.stop().await;
}
