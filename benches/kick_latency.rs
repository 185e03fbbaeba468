//! Kick latency against the mock on loopback, the easy case and the hard case side by side, for
//! confwatch and for the usual advice done as well as it can be (GET every 500 ms until the leg
//! is no longer ringing, then PATCH; on a 409, exponential backoff with full jitter from 100 ms),
//! measured in the same run:
//! - no lock: a ringing agent whose leg settles 1.2 s after the kick starts;
//! - the demo's lock (409 until 400 ms after the leg's last change), the same agent;
//! - a ringing agent who never answers, the lock off.
//!
//! Times come from the mock's clock: the settle is the leg's `connectedTime`, the accepted PATCH
//! the arrival of the PATCH answered 202 in its request log. "Beyond the lock" is the delay from
//! the moment the platform would first accept (the settle, plus 400 ms with the lock), never
//! below 0 (confwatch's eager PATCH removes a ringing leg before it settles when there is no lock).
//!
//! Run: `cargo bench --bench kick_latency` (ROUNDS=N kicks per tool and case, default 9).

// A benchmark: a failed unwrap or expect stops it with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use chrono::{DateTime, Utc};
use confwatch::config::Strategy;
use confwatch::feed::{ConnectionState, FeedEvent};
use confwatch::feed::{QueueSelection, watch};
use confwatch::kick::KickOptions;
use confwatch::kick::{KickManager, OutcomeKind, Step, Target};
use confwatch::live::Update;
use confwatch::platform::ConnectionConfig;
use confwatch::platform::PatchPath;
use confwatch::platform::{Client, FailureKind};
use confwatch::wire::CallConversation;
use genesys_cloud_mock::{MockOptions, MockServer, Scenario};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::mpsc;

const POLL_EVERY: Duration = Duration::from_millis(500);
const SETTLE_AFTER_MS: u64 = 1200;
const LOCK_MS: i64 = 400;

#[derive(Clone, Copy)]
struct Sample {
    /// Accepted PATCH minus (settle + lock), at least 0, in ms.
    beyond_ms: i64,
    patches: usize,
    requests: u64,
}

fn main() -> color_eyre::Result<()> {
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(9);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(run(rounds))
}

/// confwatch as the console runs it: a live feed, and kick managers fed by it.
struct Console {
    eager: (
        KickManager,
        mpsc::UnboundedReceiver<confwatch::kick::Progress>,
    ),
    settled: (
        KickManager,
        mpsc::UnboundedReceiver<confwatch::kick::Progress>,
    ),
}

async fn run(rounds: usize) -> color_eyre::Result<()> {
    let mock = MockServer::start(MockOptions::loopback(Scenario::named("quiet")?)).await?;
    let config =
        ConnectionConfig::for_mock(&mock.base_url(), mock.client_id(), mock.client_secret());
    let control = Client::new(config.clone())?;
    faults(&control, false).await?;
    let client = Client::new(config.clone())?;
    let manager = |strategy| {
        let (tx, rx) = mpsc::unbounded_channel();
        let options = KickOptions {
            no_audit: true,
            strategy,
            ..KickOptions::default()
        };
        (KickManager::new(client.clone(), options, tx), rx)
    };
    let mut console = Console {
        eager: manager(Strategy::Eager),
        settled: manager(Strategy::Settled),
    };
    let mut feed = watch(client.clone(), QueueSelection::All);
    while let Some(event) = feed.recv().await {
        if event == FeedEvent::Connection(ConnectionState::Live) {
            break;
        }
    }
    let fed = [console.eager.0.clone(), console.settled.0.clone()];
    tokio::spawn(async move {
        while let Some(event) = feed.recv().await {
            if let FeedEvent::Model(Update::Conversation(c)) = event {
                for m in &fed {
                    m.on_conversation(&c);
                }
            }
        }
    });
    let peer = Client::new(config)?;

    // The easy case: no lock.
    let mut no_lock = Vec::new();
    for (name, which) in [
        ("confwatch (eager)", 0),
        ("confwatch --strategy settled", 1),
    ] {
        let mut samples = Vec::new();
        for _ in 0..rounds {
            samples.push(confwatch_kick(&control, &mut console, which, false).await?);
        }
        no_lock.push((name, samples));
    }
    let mut samples = Vec::new();
    for _ in 0..rounds {
        samples.push(peer_kick(&control, &peer, false).await?);
    }
    no_lock.push(("poll + backoff", samples));

    // The hard case: the demo's lock. confwatch starts with no history: its first kick pays.
    faults(&control, true).await?;
    let mut locked = Vec::new();
    let mut samples = Vec::new();
    for _ in 0..rounds {
        samples.push(confwatch_kick(&control, &mut console, 0, true).await?);
    }
    locked.push(("confwatch (eager, learning)", samples));
    let mut samples = Vec::new();
    for _ in 0..rounds {
        samples.push(peer_kick(&control, &peer, true).await?);
    }
    locked.push(("poll + backoff", samples));

    println!(
        "kick latency on loopback, {rounds} kicks per tool and case; leg settles 1.2 s after the kick starts"
    );
    println!(
        "{:<32} {:>14} {:>11} {:>16} {:>17}",
        "case / tool", "median beyond", "p90 beyond", "PATCHes per kick", "requests per kick"
    );
    for (case, rows) in [("no lock", &no_lock), ("demo lock 400 ms", &locked)] {
        for (name, samples) in rows.iter() {
            print_row(&format!("{case}: {name}"), samples);
        }
        let ours = median(&rows[0].1, |s| s.beyond_ms);
        let theirs = median(&rows.last().expect("peer").1, |s| s.beyond_ms);
        println!(
            "  {case}: the peer's median beyond is {} ms, confwatch's {} ms ({})",
            theirs,
            ours,
            if ours == 0 {
                "confwatch waited not at all".to_string()
            } else {
                format!("{:.1}x", theirs as f64 / ours as f64)
            }
        );
    }

    // A ringing agent who never answers, the lock off: removed within one round trip of deciding.
    faults(&control, false).await?;
    let rtt = round_trip(&control).await?;
    let mut times = Vec::new();
    let mut patches = Vec::new();
    for _ in 0..rounds {
        let (call, target) = conference(&control).await?;
        let since = last_seq(&control).await?;
        let key = Target {
            conversation_id: call.id.clone(),
            participant_id: target.clone(),
        };
        console.eager.0.start(key, false);
        let outcome = finished(&mut console.eager.1).await?;
        if outcome.outcome != OutcomeKind::Removed {
            color_eyre::eyre::bail!("the ringing leg was not removed: {outcome:?}");
        }
        let log = requests(&control, since).await?;
        let accepted = patch_202_at(&log, &target).expect("a 202");
        let start_at = log.first().map(at).expect("a request");
        times.push((accepted - start_at).num_milliseconds());
        patches.push(log.iter().filter(|r| is_patch_of(r, &target)).count());
    }
    times.sort();
    println!(
        "ringing, never answers, no lock: confwatch's first request → accepted PATCH median {} ms (a GET round trip: {:.1} ms; one read for the safety rules, then one PATCH), PATCHes per kick max {}",
        times[times.len() / 2],
        rtt.as_secs_f64() * 1000.0,
        patches.iter().max().copied().unwrap_or(0)
    );
    mock.shutdown().await;
    Ok(())
}

async fn faults(control: &Client, lock: bool) -> color_eyre::Result<()> {
    let _: Value = control
        .send_json(
            Method::PUT,
            "/mock/faults",
            &json!({"rateLimitPerMinute": 0, "transitionLock": {"enabled": lock, "settleMs": LOCK_MS}}),
        )
        .await?;
    Ok(())
}

/// One confwatch kick (the console's manager `which`: 0 eager, 1 settled) of a ringing agent
/// whose leg settles 1.2 s after the kick starts.
async fn confwatch_kick(
    control: &Client,
    console: &mut Console,
    which: usize,
    lock: bool,
) -> color_eyre::Result<Sample> {
    let (call, target) = conference(control).await?;
    let since = last_seq(control).await?;
    let (manager, progress) = match which {
        0 => (&console.eager.0, &mut console.eager.1),
        _ => (&console.settled.0, &mut console.settled.1),
    };
    manager.start(
        Target {
            conversation_id: call.id.clone(),
            participant_id: target.clone(),
        },
        false,
    );
    settle_later(control, &call.id, &target).await?;
    let outcome = finished(progress).await?;
    if outcome.outcome != OutcomeKind::Removed {
        color_eyre::eyre::bail!("confwatch did not remove: {outcome:?}");
    }
    sample(
        control,
        &call.id,
        &target,
        since,
        lock,
        u64::from(outcome.requests),
    )
    .await
}

/// One kick the usual way, on its own client; the settle falls at a random point of its poll.
async fn peer_kick(control: &Client, peer: &Client, lock: bool) -> color_eyre::Result<Sample> {
    let (call, target) = conference(control).await?;
    let since = last_seq(control).await?;
    let (client, sent) = peer.counted();
    settle_later(control, &call.id, &target).await?;
    tokio::time::sleep(Duration::from_millis(rand::random::<u64>() % 500)).await;
    polling_kick(client, call.id.clone(), target.clone()).await?;
    let requests = sent.load(std::sync::atomic::Ordering::Relaxed);
    sample(control, &call.id, &target, since, lock, requests).await
}

async fn sample(
    control: &Client,
    conversation_id: &str,
    target: &str,
    since: u64,
    lock: bool,
    sent: u64,
) -> color_eyre::Result<Sample> {
    let log = requests(control, since).await?;
    let accepted = patch_202_at(&log, target).expect("an accepted PATCH");
    let call = control.call(conversation_id).await?;
    let leg = call.participant(target).expect("the target leg");
    // Removed before it ever settled (the eager PATCH, no lock): it waited for nothing.
    let beyond_ms = match &leg.connected_time {
        Some(settled_at) => {
            let free_at =
                settled_at.0 + chrono::Duration::milliseconds(if lock { LOCK_MS } else { 0 });
            (accepted - free_at).num_milliseconds().max(0)
        }
        None => 0,
    };
    Ok(Sample {
        beyond_ms,
        patches: log.iter().filter(|r| is_patch_of(r, target)).count(),
        requests: sent,
    })
}

/// A conference with a ringing target: customer, Ava (alerting), Ben.
async fn conference(control: &Client) -> color_eyre::Result<(CallConversation, String)> {
    let call: CallConversation = control
        .send_json(
            Method::POST,
            "/mock/conversations",
            &json!({"queue": "Support", "participants": [
                {"name": "Casey Customer", "purpose": "customer", "state": "connected"},
                {"name": "Ava Reed", "purpose": "agent", "state": "alerting", "userId": "a0000000-0000-4000-8000-000000000001"},
                {"name": "Ben Ortiz", "purpose": "agent", "state": "connected", "userId": "a0000000-0000-4000-8000-000000000002"},
            ]}),
        )
        .await?;
    let target = call
        .participants
        .iter()
        .find(|p| p.name.as_deref() == Some("Ava Reed"))
        .map(|p| p.id.clone())
        .ok_or_else(|| color_eyre::eyre::eyre!("no target leg"))?;
    Ok((call, target))
}

/// The leg answers 1.2 s from now (the mock applies it on its own clock).
async fn settle_later(
    control: &Client,
    conversation_id: &str,
    target: &str,
) -> color_eyre::Result<()> {
    control
        .send_no_content(
            Method::PATCH,
            &format!("/mock/conversations/{conversation_id}/participants/{target}"),
            &json!({"state": "connected", "afterMs": SETTLE_AFTER_MS}),
        )
        .await?;
    Ok(())
}

async fn finished(
    progress: &mut mpsc::UnboundedReceiver<confwatch::kick::Progress>,
) -> color_eyre::Result<confwatch::kick::Outcome> {
    loop {
        let next = tokio::time::timeout(Duration::from_secs(60), progress.recv())
            .await
            .map_err(|_| color_eyre::eyre::eyre!("no progress for 60 s"))?;
        match next {
            Some(p) => {
                if let Step::Finished(outcome) = p.step {
                    return Ok(outcome);
                }
            }
            None => color_eyre::eyre::bail!("progress stream closed"),
        }
    }
}

/// The usual advice, as well as it can be done: GET every 500 ms until the leg is no longer
/// ringing, then PATCH; on a 409, exponential backoff with full jitter from 100 ms, PATCH again.
/// Returns at the accepted PATCH.
async fn polling_kick(
    client: Client,
    conversation_id: String,
    target: String,
) -> color_eyre::Result<()> {
    loop {
        let call = client.call(&conversation_id).await?;
        let state = call.participant(&target).map(|p| p.state.clone());
        if state.is_some_and(|s| !s.is_unsettled()) {
            break;
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
    let mut ceiling = Duration::from_millis(100);
    loop {
        match client
            .disconnect_participant(&conversation_id, &target, PatchPath::Calls)
            .await
        {
            Ok(()) => return Ok(()),
            Err(e) if e.kind == FailureKind::Conflict => {
                tokio::time::sleep(ceiling.mul_f64(rand::random::<f64>())).await;
                ceiling = (ceiling * 2).min(Duration::from_secs(5));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

async fn last_seq(control: &Client) -> color_eyre::Result<u64> {
    let log = requests(control, 0).await?;
    Ok(log.last().and_then(|r| r["seq"].as_u64()).unwrap_or(0))
}

async fn requests(control: &Client, since: u64) -> color_eyre::Result<Vec<Value>> {
    let log: Value = control
        .get(&format!("/mock/requests?since={since}"))
        .await?;
    Ok(log
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|r| !r["path"].as_str().unwrap_or("").starts_with("/mock/"))
        .collect())
}

fn at(r: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(r["at"].as_str().unwrap_or_default())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

fn is_patch_of(r: &Value, target: &str) -> bool {
    r["method"] == "PATCH" && r["path"].as_str().unwrap_or("").ends_with(target)
}

fn patch_202_at(log: &[Value], target: &str) -> Option<DateTime<Utc>> {
    log.iter()
        .find(|r| is_patch_of(r, target) && r["status"] == 202)
        .map(at)
}

async fn round_trip(control: &Client) -> color_eyre::Result<Duration> {
    let (call, _) = conference(control).await?;
    let mut times = Vec::new();
    for _ in 0..9 {
        let started = tokio::time::Instant::now();
        control.call(&call.id).await?;
        times.push(started.elapsed());
    }
    times.sort();
    Ok(times[times.len() / 2])
}

fn median(samples: &[Sample], f: impl Fn(&Sample) -> i64) -> i64 {
    let mut v: Vec<i64> = samples.iter().map(f).collect();
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn print_row(name: &str, samples: &[Sample]) {
    let mut beyond: Vec<i64> = samples.iter().map(|s| s.beyond_ms).collect();
    beyond.sort();
    let p90 = beyond[((beyond.len() - 1) as f64 * 0.9).round() as usize];
    let patches = median(samples, |s| s.patches as i64);
    let requests = median(samples, |s| s.requests as i64);
    let first = samples
        .first()
        .map(|s| (s.beyond_ms, s.patches))
        .unwrap_or_default();
    println!(
        "{name:<48} median {:>5} ms  p90 {:>5} ms  PATCHes {:>2} (first kick {} ms, {} PATCHes)  requests {:>3}",
        median(samples, |s| s.beyond_ms),
        p90,
        patches,
        first.0,
        first.1,
        requests,
    );
}
