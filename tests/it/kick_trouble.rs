//! The kick through a platform in trouble (an outage, lost answers) and under each shape of
//! the transition lock, against the mock on loopback.

use crate::common;

use common::{Harness, kick, participant_patches, state_of};
use confwatch::kick::{KickOptions, OutcomeKind, Step, Wanted};
use confwatch::platform::{Client, ConnectionConfig};
use serde_json::json;

fn options() -> KickOptions {
    KickOptions {
        audit_log: None,
        ..KickOptions::default()
    }
}

/// A client that has no token yet: its first request fetches one (as `confwatch kick` does).
fn fresh_client(h: &Harness) -> Client {
    Client::new(ConnectionConfig::for_mock(
        &h.mock.base_url(),
        h.mock.client_id(),
        h.mock.client_secret(),
    ))
    .expect("client")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_fetch_rides_out_an_outage_shorter_than_the_deadline() {
    let h = Harness::start(json!({"rateLimitPerMinute": 0})).await;
    let (call, target) = h.conference("connected").await;
    let since = h.last_seq().await;
    // Every answer, the token endpoint's too, is 503 for 1.5 s from now.
    h.faults(json!({"outageForMs": 1500, "outageStatus": 503}))
        .await;
    let job = kick(
        &fresh_client(&h),
        &call.id,
        Wanted::Participant(target.clone()),
        options(),
    );
    let (outcome, progress) = job.finish().await;
    assert_eq!(outcome.outcome, OutcomeKind::Removed, "{progress:?}");
    let log = h.requests(since).await;
    assert!(
        log.iter()
            .any(|r| r["path"] == "/oauth/token" && r["status"] == 503),
        "the token endpoint was down: {log:#?}"
    );
    let patches = participant_patches(&log);
    assert_eq!(
        patches.len(),
        1,
        "the PATCH left once, after the token: {log:#?}"
    );
    assert_eq!(patches[0].2, 202);
    let troubled = progress
        .iter()
        .filter(|p| {
            matches!(
                p.step,
                Step::Backoff {
                    trouble: Some(503),
                    ..
                }
            )
        })
        .count();
    assert!(
        troubled >= 1,
        "the retries were shown as trouble: {progress:?}"
    );
    let now = h.read(&call.id).await;
    assert!(state_of(&now, &target).is_some_and(|s| s.is_gone()));
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_is_read_before_another_patch_and_recorded() {
    let h = Harness::start(json!({"rateLimitPerMinute": 0, "lostAnswerRate": 1.0})).await;
    let (call, target) = h.conference("connected").await;
    let job = kick(
        &h.client,
        &call.id,
        Wanted::Participant(target.clone()),
        options(),
    );
    let (outcome, progress) = job.finish().await;
    assert_eq!(outcome.outcome, OutcomeKind::Removed, "{progress:?}");
    let log = h.requests(0).await;
    let patches = participant_patches(&log);
    assert!(
        (1..=2).contains(&patches.len()),
        "a read, not a blind resend: {patches:?}"
    );
    // What the audit gets (every step): the lost answer, and what the check found.
    assert!(
        progress
            .iter()
            .any(|p| matches!(p.step, Step::Answer { status: 0, .. })),
        "{progress:?}"
    );
    assert!(
        outcome
            .message
            .starts_with("attempt 1 got no answer; then seen disconnected"),
        "{}",
        outcome.message
    );
    let now = h.read(&call.id).await;
    assert!(state_of(&now, &target).is_some_and(|s| s.is_gone()));
    h.stop().await;
}

/// Each shape of the lock (the reports do not say which the platform has): the kick removes a
/// ringing agent once they answer, and a connected one, PATCHing only the target, within the
/// attempts; on `after_change` a ringing leg is not refused at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kick_removes_under_every_shape_of_lock() {
    for (shape, lock) in [
        (
            "always",
            json!({"enabled": true, "mode": "always", "settleMs": 400}),
        ),
        (
            "after_change",
            json!({"enabled": true, "mode": "after_change", "settleMs": 400}),
        ),
        ("off", json!({"enabled": false})),
    ] {
        let h = Harness::start(json!({"rateLimitPerMinute": 0, "transitionLock": lock})).await;
        for ava in ["alerting", "connected"] {
            let (call, target) = h.conference(ava).await;
            let since = h.last_seq().await;
            let mut job = kick(
                &h.client,
                &call.id,
                Wanted::Participant(target.clone()),
                options(),
            );
            let first = job.until(|s| matches!(s, Step::Answer { .. })).await;
            if ava == "alerting" && shape != "always" {
                assert!(
                    matches!(first, Step::Answer { status: 202, .. }),
                    "{shape}: a ringing leg is not locked: {first:?}"
                );
            }
            if ava == "alerting" && shape == "always" {
                h.set_leg(
                    &call.id,
                    &target,
                    json!({"state": "connected", "afterMs": 300}),
                )
                .await;
            }
            let (outcome, progress) = job.finish().await;
            let log = h.requests(since).await;
            let patches = participant_patches(&log);
            assert!(
                patches.iter().all(|(_, pid, _)| *pid == target),
                "{shape}/{ava}: only the target"
            );
            assert_eq!(
                outcome.outcome,
                OutcomeKind::Removed,
                "{shape}/{ava}: {progress:?}"
            );
            assert!(
                patches.len() <= 6,
                "{shape}/{ava}: {} PATCHes",
                patches.len()
            );
            let now = h.read(&call.id).await;
            assert!(
                state_of(&now, &target).is_some_and(|s| s.is_gone()),
                "{shape}/{ava}: still there"
            );
        }
        h.stop().await;
    }
}
