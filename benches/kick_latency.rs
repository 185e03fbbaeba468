//! Kick latency against the mock with 40 ms added to every API answer: the time from the target's
//! leg settling to its removal being verified, and REST requests per kick, for confwatch (waits on
//! live events, one PATCH after the settling event) and for the polling approach (GET every
//! 500 ms until settled, PATCH, GET every 500 ms until gone), measured in the same run.
//!
//! Run: `cargo bench --bench kick_latency` (ROUNDS=N to change the number of kicks per approach).

use std::time::{Duration, Instant};

use confwatch::config::ConnectionConfig;
use confwatch::kick::driver::KickOptions;
use confwatch::kick::{KickManager, Step, Target};
use confwatch::live::{FeedEvent, Update};
use confwatch::mock::{MockOptions, MockServer, Scenario};
use confwatch::platform::models::{CallConversation, ParticipantState};
use confwatch::platform::{Client, FailureKind, QueueSelection, watch};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::mpsc;

const LATENCY_MS: u64 = 40;
const POLL_EVERY: Duration = Duration::from_millis(500);

struct Sample {
    settle_to_verified: Duration,
    requests: u64,
}

fn main() -> color_eyre::Result<()> {
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(15);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(run(rounds))
}

async fn run(rounds: usize) -> color_eyre::Result<()> {
    let mock = MockServer::start(MockOptions::loopback(Scenario::named("quiet")?)).await?;
    let config =
        ConnectionConfig::for_mock(&mock.base_url(), mock.client_id(), mock.client_secret());
    let control = Client::new(config.clone())?;
    let _: Value = control
        .send_json(
            Method::PUT,
            "/mock/faults",
            &json!({"latencyMs": LATENCY_MS, "rateLimitPerMinute": 0}),
        )
        .await?;

    // confwatch as the console runs it: a live feed, and the kick manager fed by it.
    let client = Client::new(config.clone())?;
    let (progress_tx, mut progress) = mpsc::unbounded_channel();
    let audit =
        std::env::temp_dir().join(format!("confwatch-bench-{}.jsonl", uuid::Uuid::new_v4()));
    let manager = KickManager::new(
        client.clone(),
        KickOptions {
            audit_log: Some(audit.clone()),
            ..KickOptions::default()
        },
        progress_tx,
    );
    let mut feed = watch(client.clone(), QueueSelection::All);
    // Wait until the feed is live before measuring.
    while let Some(event) = feed.recv().await {
        if event == FeedEvent::Connection(confwatch::live::ConnectionState::Live) {
            break;
        }
    }
    let fed = manager.clone();
    tokio::spawn(async move {
        while let Some(event) = feed.recv().await {
            if let FeedEvent::Model(Update::Conversation(c)) = event {
                fed.on_conversation(&c);
            }
        }
    });

    let mut confwatch_samples = Vec::new();
    for _ in 0..rounds {
        let (call, target) = conference(&control).await?;
        let before = client.request_count();
        let key = Target {
            conversation_id: call.id.clone(),
            participant_id: target.clone(),
        };
        manager.start(key, false);
        wait_for(&mut progress, |s| matches!(s, Step::Waiting { .. })).await?;
        let settled_at = Instant::now();
        settle(&control, &call.id, &target).await?;
        let finished = wait_for(&mut progress, |s| matches!(s, Step::Finished(_))).await?;
        let verified_at = Instant::now();
        match finished {
            Step::Finished(outcome) if outcome.outcome == confwatch::kick::OutcomeKind::Removed => {
            }
            other => color_eyre::eyre::bail!("confwatch kick did not remove: {other:?}"),
        }
        confwatch_samples.push(Sample {
            settle_to_verified: verified_at - settled_at,
            requests: client.request_count() - before,
        });
    }

    let baseline_client = Client::new(config)?;
    let mut baseline_samples = Vec::new();
    for _ in 0..rounds {
        let (call, target) = conference(&control).await?;
        let before = baseline_client.request_count();
        let job = tokio::spawn(polling_kick(
            baseline_client.clone(),
            call.id.clone(),
            target.clone(),
        ));
        // Let the poller see the ringing leg at least once, as confwatch did; the settle then
        // falls at a random point of its 500 ms cycle.
        let phase = 600 + rand::random::<u64>() % 500;
        tokio::time::sleep(Duration::from_millis(phase)).await;
        let settled_at = Instant::now();
        settle(&control, &call.id, &target).await?;
        let verified_at = job.await??;
        baseline_samples.push(Sample {
            settle_to_verified: verified_at - settled_at,
            requests: baseline_client.request_count() - before,
        });
    }

    report("confwatch (live events)", &confwatch_samples);
    report("polling baseline (500 ms)", &baseline_samples);
    let ours = median(&confwatch_samples);
    let theirs = median(&baseline_samples);
    println!(
        "ratio: confwatch is {:.1}x faster at the median (target: at least 3x); {} kicks each, {} ms latency per API answer",
        theirs.as_secs_f64() / ours.as_secs_f64().max(1e-9),
        rounds,
        LATENCY_MS
    );
    mock.shutdown().await;
    std::fs::remove_file(&audit).ok();
    Ok(())
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

async fn settle(
    control: &Client,
    conversation_id: &str,
    participant_id: &str,
) -> color_eyre::Result<()> {
    control
        .send_no_content(
            Method::PATCH,
            &format!("/mock/conversations/{conversation_id}/participants/{participant_id}"),
            &json!({"state": "connected"}),
        )
        .await?;
    Ok(())
}

async fn wait_for(
    progress: &mut mpsc::UnboundedReceiver<confwatch::kick::Progress>,
    wanted: impl Fn(&Step) -> bool,
) -> color_eyre::Result<Step> {
    loop {
        let next = tokio::time::timeout(Duration::from_secs(60), progress.recv())
            .await
            .map_err(|_| color_eyre::eyre::eyre!("no progress for 60 s"))?;
        match next {
            Some(p) if wanted(&p.step) => return Ok(p.step),
            Some(_) => {}
            None => color_eyre::eyre::bail!("progress stream closed"),
        }
    }
}

/// The polling approach: GET every 500 ms until the leg is connected, PATCH (a 409 goes back to
/// polling), then GET every 500 ms until it is seen gone. Returns when it saw it gone.
async fn polling_kick(
    client: Client,
    conversation_id: String,
    target: String,
) -> color_eyre::Result<Instant> {
    loop {
        let call = client.call(&conversation_id).await?;
        let state = call.participant(&target).map(|p| p.state.clone());
        if state == Some(ParticipantState::Connected) {
            match client
                .disconnect_participant(
                    &conversation_id,
                    &target,
                    confwatch::kick::machine::PatchPath::Calls,
                )
                .await
            {
                Ok(()) => break,
                Err(e) if e.kind == FailureKind::Conflict => {}
                Err(e) => return Err(e.into()),
            }
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
    loop {
        tokio::time::sleep(POLL_EVERY).await;
        let call = client.call(&conversation_id).await?;
        if call.participant(&target).is_none_or(|p| p.state.is_gone()) {
            return Ok(Instant::now());
        }
    }
}

fn median(samples: &[Sample]) -> Duration {
    let mut times: Vec<Duration> = samples.iter().map(|s| s.settle_to_verified).collect();
    times.sort();
    times.get(times.len() / 2).copied().unwrap_or_default()
}

fn report(name: &str, samples: &[Sample]) {
    let mut times: Vec<Duration> = samples.iter().map(|s| s.settle_to_verified).collect();
    times.sort();
    let pick = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    let requests: Vec<u64> = samples.iter().map(|s| s.requests).collect();
    let mean_requests = requests.iter().sum::<u64>() as f64 / requests.len().max(1) as f64;
    println!(
        "{name:<28} settle→verified: median {:>6.0} ms, min {:>6.0} ms, p90 {:>6.0} ms; REST requests per kick: mean {:.1}, max {}",
        pick(0.5).as_secs_f64() * 1000.0,
        pick(0.0).as_secs_f64() * 1000.0,
        pick(0.9).as_secs_f64() * 1000.0,
        mean_requests,
        requests.iter().max().copied().unwrap_or(0)
    );
}
