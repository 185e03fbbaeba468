//! The kick through a platform in trouble, confwatch beside the seed's poll-and-backoff peer,
//! measured in the same run against the mock on loopback (three connected parties, one kick at a
//! time, each on a fresh client that fetches its own token as `confwatch kick` does):
//! - half the API answers 503 (`serverErrorRate` 0.5), then 502;
//! - an 8 s outage of every answer, the token endpoint's included, from the kick's start;
//! - every PATCH applied and its answer lost (the connection closed, `lostAnswerRate` 1.0).
//!
//! confwatch runs as `confwatch kick` does (a standalone `KickManager`: its own channel). The
//! peer is the seed's advice made to survive 5xx: GET (retried with exponential backoff, full
//! jitter from 100 ms to 5 s, on 5xx and connection errors), PATCH (the same backoff, at most 8
//! attempts, a 400 `call.disconnected` taken as done), then a GET every 500 ms until the leg is
//! gone, within the same 60 s deadline.
//!
//! Times come from the mock's log (the accepted PATCH: the first 202 to the target's PATCH) and
//! the bench's clock at the outcome (the same machine's UTC clock).
//!
//! Run: `cargo bench --bench kick_outage` (KICKS=N per 5xx case, default 50, so that a run
//! takes minutes on a shared 2-core machine; the 200 with KICKS=200; OUTAGES=N, default
//! 3; LOST=N, default 10).

// A benchmark: a failed unwrap or expect stops it with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::Utc;
use confwatch::kick::{KickManager, KickOptions, OutcomeKind, Progress, Step, Target};
use confwatch::platform::{Client, ConnectionConfig, PatchPath};
use confwatch::wire::CallConversation;
use genesys_cloud_mock::{MockOptions, MockServer, Scenario};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::mpsc;

#[path = "common/mock.rs"]
mod mock;
use mock::{at, conference, is_patch_of, last_seq, requests};

const OUTAGE_MS: i64 = 8_000;
const DEADLINE: Duration = Duration::from_secs(60);

/// One kick as measured.
struct Kick {
    outcome: String,
    /// From the accepted PATCH to the outcome, ms (None: no PATCH was accepted).
    accepted_to_outcome_ms: Option<i64>,
    patches: usize,
    requests: usize,
    /// The outage case: the accepted PATCH after the outage's end, and requests during it.
    accepted_after_outage_ms: Option<i64>,
    requests_in_outage: usize,
}

#[derive(Clone, Copy, PartialEq)]
enum Tool {
    Confwatch,
    Peer,
}

fn count(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> color_eyre::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(run())
}

async fn run() -> color_eyre::Result<()> {
    let kicks = count("KICKS", 50);
    let outages = count("OUTAGES", 3);
    let lost = count("LOST", 10);
    let mock = MockServer::start(MockOptions::loopback(Scenario::named("quiet")?)).await?;
    let config =
        ConnectionConfig::for_mock(&mock.base_url(), mock.client_id(), mock.client_secret());
    let control = Client::new(config.clone())?;
    let cases: [(&str, Value, usize, bool); 4] = [
        (
            "50% 503",
            json!({"serverErrorRate": 0.5, "serverErrorStatus": 503}),
            kicks,
            false,
        ),
        (
            "50% 502",
            json!({"serverErrorRate": 0.5, "serverErrorStatus": 502}),
            kicks,
            false,
        ),
        ("8 s outage from the start", json!({}), outages, true),
        (
            "every answer lost",
            json!({"lostAnswerRate": 1.0}),
            lost,
            false,
        ),
    ];
    println!("kick through a platform in trouble, on loopback; one kick at a time");
    for (name, faults, n, outage) in cases {
        for tool in [Tool::Confwatch, Tool::Peer] {
            put_faults(
                &control,
                json!({"rateLimitPerMinute": 0, "serverErrorRate": 0.0, "lostAnswerRate": 0.0, "outageForMs": 0}),
            )
            .await?;
            put_faults(&control, faults.clone()).await?;
            let mut samples = Vec::new();
            for _ in 0..n {
                samples.push(one_kick(&control, &config, tool, outage).await?);
            }
            let label = match tool {
                Tool::Confwatch => "confwatch",
                Tool::Peer => "poll + backoff",
            };
            report(&format!("{name}: {label}"), &samples, outage);
        }
    }
    mock.shutdown().await;
    Ok(())
}

async fn one_kick(
    control: &Client,
    config: &ConnectionConfig,
    tool: Tool,
    outage: bool,
) -> color_eyre::Result<Kick> {
    let (call, target) = conference(control, "connected").await?;
    let since = last_seq(control).await?;
    let client = Client::new(config.clone())?;
    let outage_end = if outage {
        let began = Utc::now();
        put_faults(
            control,
            json!({"outageForMs": OUTAGE_MS, "outageStatus": 503}),
        )
        .await?;
        Some(began + chrono::Duration::milliseconds(OUTAGE_MS))
    } else {
        None
    };
    let (outcome, steps) = match tool {
        Tool::Confwatch => confwatch_kick(client, &call.id, &target).await?,
        Tool::Peer => (peer_kick(client, &call.id, &target).await, Vec::new()),
    };
    let ended = Utc::now();
    let log = requests(control, since).await?;
    let accepted = log
        .iter()
        .find(|r| is_patch_of(r, &target) && r["status"] == 202)
        .map(at);
    // SLOW=1: what a kick slower than 2 s from its accepted PATCH did, and what the mock saw.
    if std::env::var_os("SLOW").is_some()
        && accepted.is_some_and(|a| (ended - a).num_milliseconds() > 2000)
    {
        eprintln!("slow kick: {steps:#?}");
        for r in &log {
            eprintln!(
                "  {} {} {} {}",
                r["at"], r["method"], r["path"], r["status"]
            );
        }
    }
    Ok(Kick {
        outcome,
        accepted_to_outcome_ms: accepted.map(|a| (ended - a).num_milliseconds()),
        patches: log.iter().filter(|r| is_patch_of(r, &target)).count(),
        requests: log.len(),
        accepted_after_outage_ms: outage_end
            .zip(accepted)
            .map(|(end, a)| (a - end).num_milliseconds()),
        requests_in_outage: outage_end
            .map(|end| log.iter().filter(|r| at(r) < end).count())
            .unwrap_or(0),
    })
}

/// As `confwatch kick` runs it: a standalone manager, its own channel, no audit file.
async fn confwatch_kick(
    client: Client,
    conversation_id: &str,
    target: &str,
) -> color_eyre::Result<(String, Vec<(u64, Step)>)> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Progress>();
    let mut steps = Vec::new();
    let options = KickOptions {
        no_audit: true,
        ..KickOptions::default()
    };
    let manager = KickManager::standalone(client, options, tx);
    manager.start(
        Target {
            conversation_id: conversation_id.to_string(),
            participant_id: target.to_string(),
        },
        false,
    );
    loop {
        let next = tokio::time::timeout(DEADLINE + Duration::from_secs(30), rx.recv())
            .await
            .map_err(|_| color_eyre::eyre::eyre!("no progress for 90 s"))?;
        match next {
            Some(Progress {
                step: Step::Finished(outcome),
                ..
            }) => return Ok((outcome.outcome.to_string(), steps)),
            Some(p) => steps.push((p.at_ms, p.step)),
            None => color_eyre::eyre::bail!("progress stream closed"),
        }
    }
}

/// The seed's poll-and-backoff, made to survive 5xx (see the module's comment).
async fn peer_kick(client: Client, conversation_id: &str, target: &str) -> String {
    let start = tokio::time::Instant::now();
    let past_deadline = || start.elapsed() >= DEADLINE;
    let mut ceiling = Duration::from_millis(100);
    let backoff = |ceiling: &mut Duration| {
        let wait = ceiling.mul_f64(rand::random::<f64>());
        *ceiling = (*ceiling * 2).min(Duration::from_secs(5));
        wait
    };
    loop {
        match client.call(conversation_id).await {
            Ok(call) if leg_is(&call, target, |s| !s.is_unsettled()) => break,
            Ok(_) => tokio::time::sleep(Duration::from_millis(500)).await,
            Err(e) if e.is_retryable() => tokio::time::sleep(backoff(&mut ceiling)).await,
            Err(_) => return OutcomeKind::Failed.to_string(),
        }
        if past_deadline() {
            return OutcomeKind::TimedOut.to_string();
        }
    }
    let mut ceiling = Duration::from_millis(100);
    let mut attempts = 0;
    loop {
        attempts += 1;
        match client
            .disconnect_participant(conversation_id, target, PatchPath::Calls)
            .await
        {
            Ok(_) => break,
            Err(e)
                if e.to_string()
                    .contains("conversation.error.call.disconnected") =>
            {
                break;
            }
            Err(e) if e.is_retryable() && attempts < 8 && !past_deadline() => {
                tokio::time::sleep(backoff(&mut ceiling)).await
            }
            Err(e) if e.is_retryable() => return OutcomeKind::TimedOut.to_string(),
            Err(_) => return OutcomeKind::Failed.to_string(),
        }
    }
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        if let Ok(call) = client.call(conversation_id).await
            && leg_is(&call, target, |s| s.is_gone())
        {
            return OutcomeKind::Removed.to_string();
        }
        if past_deadline() {
            return OutcomeKind::Unknown.to_string();
        }
    }
}

fn leg_is(
    call: &CallConversation,
    target: &str,
    test: impl Fn(&confwatch::wire::ParticipantState) -> bool,
) -> bool {
    call.participant(target).is_some_and(|p| test(&p.state))
}

fn report(label: &str, samples: &[Kick], outage: bool) {
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for s in samples {
        *kinds.entry(s.outcome.as_str()).or_default() += 1;
    }
    let kinds: Vec<String> = kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
    let mut times: Vec<i64> = samples
        .iter()
        .filter_map(|s| s.accepted_to_outcome_ms)
        .collect();
    times.sort();
    let pct = |p: f64| -> String {
        if times.is_empty() {
            return "-".into();
        }
        let i = ((times.len() as f64 * p).ceil() as usize).clamp(1, times.len()) - 1;
        format!("{} ms", times[i])
    };
    let n = samples.len().max(1) as f64;
    let patches: usize = samples.iter().map(|s| s.patches).sum();
    let requests: usize = samples.iter().map(|s| s.requests).sum();
    println!(
        "{label:<44} {} kicks: {}; accepted PATCH → outcome median {}, p90 {}, p99 {}; PATCHes per kick {:.2} (max {}), requests per kick {:.1}",
        samples.len(),
        kinds.join(", "),
        pct(0.5),
        pct(0.9),
        pct(0.99),
        patches as f64 / n,
        samples.iter().map(|s| s.patches).max().unwrap_or(0),
        requests as f64 / n,
    );
    if outage {
        let after: Vec<String> = samples
            .iter()
            .map(|s| {
                s.accepted_after_outage_ms
                    .map_or("none".into(), |ms| format!("{ms} ms"))
            })
            .collect();
        println!(
            "{:<44} PATCH accepted after the outage ended: {}; requests during the outage: max {}",
            "",
            after.join(", "),
            samples
                .iter()
                .map(|s| s.requests_in_outage)
                .max()
                .unwrap_or(0)
        );
    }
}

async fn put_faults(control: &Client, faults: Value) -> color_eyre::Result<()> {
    let _: Value = control
        .send_json(Method::PUT, "/mock/faults", &faults)
        .await?;
    Ok(())
}
