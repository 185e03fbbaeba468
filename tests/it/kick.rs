//! The kick against the mock platform on loopback, one fault at a time. In every case only the
//! target is ever PATCHed, and success is reported only when the target is seen gone while the
//! others stay connected.

use crate::common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{
    AVA, BEN, Harness, KickJob, Leg, kick, kick_learning, leg_of, participant_patches, state_of,
};
use confwatch::config::Strategy;
use confwatch::kick::KickOptions;
use confwatch::kick::LockHistory;
use confwatch::kick::Wanted;
use confwatch::kick::{Outcome, OutcomeKind, Step};
use confwatch::wire::{CallConversation, ParticipantState};
use serde_json::json;
use tokio::sync::mpsc;

fn options() -> KickOptions {
    KickOptions {
        audit_log: None,
        ..KickOptions::default()
    }
}

/// The old strategy: wait for a settled leg before the first PATCH.
fn settled_first() -> KickOptions {
    KickOptions {
        strategy: Strategy::Settled,
        ..options()
    }
}

/// A conference with a ringing agent, kicked with the `settled` strategy: the job once it waits
/// for the leg to settle, and the step it reported.
async fn kick_a_ringing_agent(h: &Harness) -> (CallConversation, String, KickJob, Step) {
    let (call, target) = h.conference("alerting").await;
    let mut job = kick(
        &h.client,
        &call.id,
        Wanted::Participant(target.clone()),
        settled_first(),
    );
    let waiting = job.until(|s| matches!(s, Step::Waiting { .. })).await;
    (call, target, job, waiting)
}

/// The job's own request count must be the mock's log of its client: every platform request
/// (reads, PATCHes, channel and subscription calls), token requests and the socket upgrade
/// apart. Call before the test reads the call itself (same client id).
async fn assert_count_matches_the_log(h: &Harness, outcome: &Outcome) {
    let log = h.requests(0).await;
    let platform: Vec<String> = log
        .iter()
        .filter(|r| {
            let path = r["path"].as_str().unwrap_or_default();
            !path.starts_with("/oauth/") && !path.starts_with("/channels/")
        })
        .map(|r| format!("{} {}", r["method"], r["path"]))
        .collect();
    assert_eq!(
        outcome.requests as usize,
        platform.len(),
        "the kick's count against the mock's log: {platform:#?}"
    );
}

/// The invariants of every case: only `target` was PATCHed; and when the outcome is `removed`,
/// the target is gone and the others are still connected.
async fn check(h: &Harness, conversation_id: &str, target: &str, outcome: &Outcome) {
    let log = h.requests(0).await;
    for (_, pid, _) in participant_patches(&log) {
        assert_eq!(
            pid, target,
            "a participant other than the target was PATCHed"
        );
    }
    if outcome.outcome == OutcomeKind::Removed {
        let call = h.read(conversation_id).await;
        assert!(
            state_of(&call, target).is_some_and(|s| s.is_gone()),
            "removed but still there"
        );
        let others = call.live_participants().filter(|p| p.id != target).count();
        assert!(others >= 2, "the others must stay connected");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settled_target_is_one_get_one_patch_verified() {
    let h = Harness::start(json!({"rateLimitPerMinute": 0})).await;
    let (call, target) = h.conference("connected").await;
    let job = kick(
        &h.client,
        &call.id,
        Wanted::Participant(target.clone()),
        options(),
    );
    let (outcome, progress) = job.finish().await;
    assert_eq!(outcome.outcome, OutcomeKind::Removed, "{outcome:?}");
    // One GET, the channel and its subscription (to hear the leg go, opened beside the PATCH),
    // one PATCH, the subscription dropped when done; and one more GET when the channel opened
    // after the 202 (what came before it is read, not assumed).
    assert_eq!(outcome.attempts, 1, "{progress:?}");
    assert!((5..=6).contains(&outcome.requests), "{progress:?}");
    assert_count_matches_the_log(&h, &outcome).await;
    let log = h.requests(0).await;
    let gets = log
        .iter()
        .filter(|r| {
            r["method"] == "GET"
                && r["path"]
                    .as_str()
                    .unwrap_or("")
                    .starts_with("/api/v2/conversations/calls/")
        })
        .count();
    // One, and one more when the channel opened after the 202.
    assert!((1..=2).contains(&gets), "{gets} GETs");
    assert_eq!(participant_patches(&log).len(), 1);
    // The accepted PATCH's answer keeps its correlation id (for the job view and support).
    let accepted_id = progress.iter().find_map(|p| match &p.step {
        Step::Answer {
            status: 202,
            correlation_id,
            ..
        } => Some(correlation_id.clone()),
        _ => None,
    });
    assert!(
        accepted_id.flatten().is_some_and(|id| !id.is_empty()),
        "{progress:?}"
    );
    check(&h, &call.id, &target, &outcome).await;
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settled_strategy_patches_a_ringing_target_only_after_it_settles() {
    let h = Harness::start(json!({"rateLimitPerMinute": 0})).await;
    let (call, target, job, waiting) = kick_a_ringing_agent(&h).await;
    assert_eq!(
        waiting,
        Step::Waiting {
            state: ParticipantState::Alerting
        }
    );
    let before_settle = h.last_seq().await;
    assert!(
        participant_patches(&h.requests(0).await).is_empty(),
        "no PATCH while alerting"
    );
    h.set_leg(&call.id, &target, json!({"state": "connected"}))
        .await;
    let (outcome, _) = job.finish().await;
    assert_eq!(outcome.outcome, OutcomeKind::Removed, "{outcome:?}");
    let patches = participant_patches(&h.requests(0).await);
    assert_eq!(patches.len(), 1);
    assert!(
        patches[0].0 > before_settle,
        "the PATCH came after the leg settled"
    );
    assert_eq!(outcome.attempts, 1);
    check(&h, &call.id, &target, &outcome).await;
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflict_storm_backs_off_and_clears() {
    // The transition lock answers 409 until the leg has been settled for 600 ms.
    let h = Harness::start(json!({
        "rateLimitPerMinute": 0,
        "transitionLock": {"enabled": true, "settleMs": 600}
    }))
    .await;
    let (call, target) = h.conference("connected").await;
    let job = kick(
        &h.client,
        &call.id,
        Wanted::Participant(target.clone()),
        options(),
    );
    let (outcome, progress) = job.finish().await;
    assert_eq!(outcome.outcome, OutcomeKind::Removed, "{outcome:?}");
    let conflicts = progress
        .iter()
        .filter(|p| matches!(p.step, Step::Answer { status: 409, .. }))
        .count();
    let backoffs: Vec<u64> = progress
        .iter()
        .filter_map(|p| match &p.step {
            Step::Locked { retry_in_ms, .. } => Some(*retry_in_ms),
            // A 409 met before the channel opened (it opens beside the first PATCH).
            Step::Backoff {
                delay_ms, reason, ..
            } if reason.starts_with("409") => Some(*delay_ms),
            _ => None,
        })
        .collect();
    assert!(
        conflicts >= 1,
        "the lock must have answered 409 at least once"
    );
    assert_eq!(
        backoffs.len(),
        conflicts,
        "each 409 is followed by a visible wait for the lock"
    );
    assert_count_matches_the_log(&h, &outcome).await;
    let gets = h
        .requests(0)
        .await
        .iter()
        .filter(|r| r["method"] == "GET" && r["path"].as_str().unwrap_or("").contains("/calls/"))
        .count();
    // No GET after a 409 while the feed is up; one more when a 409 came before it was.
    assert!((1..=2).contains(&gets), "{gets} GETs");
    assert!(backoffs.iter().all(|d| *d <= 5000));
    assert!(outcome.attempts <= 8 && outcome.attempts == conflicts as u32 + 1);
    let log = h.requests(0).await;
    assert_eq!(
        participant_patches(&log)
            .iter()
            .filter(|(_, _, s)| *s == 409)
            .count(),
        conflicts
    );
    check(&h, &call.id, &target, &outcome).await;
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_is_honoured_to_the_end_of_retry_after() {
    // The token's window of two is already spent (as the console's feed may have spent it), so
    // the kick's first requests, its read and (a user target) its channel, sent side by side at
    // once, meet a full window: the read meets a 429 whose Retry-After ends the window, whichever
    // of the two arrives first, and the kick holds back (the limit is per token). Filling the
    // window here, not with the kick's own requests, keeps the race between its read, PATCH and
    // channel out of what is checked. A 3 s window (the platform's is 60 s) keeps the wait short.
    let h = Harness::start(json!({"rateLimitPerMinute": 2, "rateLimitWindowSecs": 3})).await;
    let (call, target) = h.conference("connected").await;
    for _ in 0..2 {
        h.client
            .call(&call.id)
            .await
            .expect("a read within the window");
    }
    let spent = h.last_seq().await;
    let job = kick(
        &h.client,
        &call.id,
        Wanted::User(AVA.into()),
        KickOptions {
            deadline: Duration::from_secs(120),
            ..options()
        },
    );
    let (outcome, progress) = job.finish().await;
    assert_eq!(outcome.outcome, OutcomeKind::Removed, "{outcome:?}");
    let retry_after_ms = progress
        .iter()
        .find_map(|p| match p.step {
            Step::RateLimited { retry_after_ms } => Some(retry_after_ms),
            _ => None,
        })
        .expect("a 429 was met");
    assert!(
        (1..=3_000).contains(&retry_after_ms),
        "Retry-After comes from the 3 s window: {retry_after_ms} ms"
    );
    let at = |r: &serde_json::Value| {
        chrono::DateTime::parse_from_rfc3339(r["at"].as_str().unwrap_or_default())
            .expect("log time")
            .timestamp_millis()
    };
    let kicks: Vec<serde_json::Value> = h
        .requests(spent)
        .await
        .into_iter()
        .filter(|r| {
            r["clientId"] == h.mock.client_id()
                && r["path"].as_str().unwrap_or("").starts_with("/api/v2/")
        })
        .collect();
    let first = kicks
        .iter()
        .filter(|r| r["status"] == 429)
        .map(at)
        .min()
        .expect("429 in the log");
    // Each side of the kick (its reads and PATCHes; its channel) sends one request at a time.
    // The first of each went out before any answer came back; every later one was sent once
    // its side had an answer, so after the 429 was known, and must come once Retry-After has
    // ended (the log's times are in whole ms).
    let channel = |r: &serde_json::Value| {
        r["path"]
            .as_str()
            .unwrap_or("")
            .starts_with("/api/v2/notifications/")
    };
    let firsts = [
        kicks.iter().position(|r| !channel(r)),
        kicks.iter().position(channel),
    ];
    for (i, r) in kicks.iter().enumerate() {
        if !firsts.contains(&Some(i)) {
            assert!(
                at(r) - first >= retry_after_ms as i64 - 1,
                "a request came before Retry-After ended: {kicks:#?}"
            );
        }
    }
    check(&h, &call.id, &target, &outcome).await;
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_back_off_then_succeed() {
    let h = Harness::start(json!({"rateLimitPerMinute": 0})).await;
    let (call, target, mut job, _) = kick_a_ringing_agent(&h).await;
    // Every request fails now; once the kick has backed off, the platform recovers.
    h.faults(json!({"serverErrorRate": 1.0, "serverErrorStatus": 503}))
        .await;
    h.set_leg(&call.id, &target, json!({"state": "connected"}))
        .await;
    job.until(|s| matches!(s, Step::Backoff { .. })).await;
    h.faults(json!({"serverErrorRate": 0.0})).await;
    let (outcome, _) = job.finish().await;
    assert_eq!(outcome.outcome, OutcomeKind::Removed, "{outcome:?}");
    assert!(h.requests(0).await.iter().any(|r| r["status"] == 503));
    check(&h, &call.id, &target, &outcome).await;
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_expiring_mid_kick_is_refreshed() {
    let h = Harness::start(json!({"rateLimitPerMinute": 0, "tokenLifetimeSecs": 1})).await;
    let (call, target, job, _) = kick_a_ringing_agent(&h).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    h.set_leg(&call.id, &target, json!({"state": "connected"}))
        .await;
    let (outcome, _) = job.finish().await;
    assert_eq!(outcome.outcome, OutcomeKind::Removed, "{outcome:?}");
    let logins = h
        .requests(0)
        .await
        .iter()
        .filter(|r| r["path"] == "/oauth/token" && r["clientId"] == h.mock.client_id())
        .count();
    assert!(
        logins >= 3,
        "the control client's login, then the kick's, then a refresh: {logins}"
    );
    check(&h, &call.id, &target, &outcome).await;
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_dropped_mid_kick_still_sees_the_leg_settle() {
    let h = Harness::start(json!({"rateLimitPerMinute": 0, "socketDropAfterSecs": 1})).await;
    let (call, target, job, _) = kick_a_ringing_agent(&h).await;
    // The socket drops after a second; the leg settles around then.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    h.set_leg(&call.id, &target, json!({"state": "connected"}))
        .await;
    let (outcome, _) = job.finish().await;
    assert_eq!(outcome.outcome, OutcomeKind::Removed, "{outcome:?}");
    assert_eq!(outcome.attempts, 1);
    check(&h, &call.id, &target, &outcome).await;
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn already_gone_target_sends_no_patch() {
    let h = Harness::start(json!({"rateLimitPerMinute": 0})).await;
    let call = h
        .call(&[
            Leg("Casey Customer", "customer", "connected", None),
            Leg("Ava Reed", "agent", "disconnected", Some(AVA)),
            Leg("Ben Ortiz", "agent", "connected", Some(BEN)),
            Leg("Chloe Nakamura", "agent", "connected", Some(common::CHLOE)),
        ])
        .await;
    let target = leg_of(&call, "Ava Reed");
    let (outcome, _) = kick(
        &h.client,
        &call.id,
        Wanted::Participant(target.clone()),
        options(),
    )
    .finish()
    .await;
    assert_eq!(outcome.outcome, OutcomeKind::AlreadyGone, "{outcome:?}");
    assert!(participant_patches(&h.requests(0).await).is_empty());
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customer_and_last_other_party_are_refused() {
    let h = Harness::start(json!({"rateLimitPerMinute": 0})).await;
    let (call, _) = h.conference("connected").await;
    let customer = leg_of(&call, "Casey Customer");
    let (outcome, _) = kick(
        &h.client,
        &call.id,
        Wanted::Participant(customer),
        options(),
    )
    .finish()
    .await;
    assert_eq!(outcome.outcome, OutcomeKind::Refused, "{outcome:?}");
    assert!(outcome.message.contains("customer"));

    let two = h
        .call(&[
            Leg("Dana Customer", "customer", "connected", None),
            Leg("Ava Reed", "agent", "connected", Some(AVA)),
        ])
        .await;
    let agent = leg_of(&two, "Ava Reed");
    let (outcome, _) = kick(
        &h.client,
        &two.id,
        Wanted::Participant(agent.clone()),
        options(),
    )
    .finish()
    .await;
    assert_eq!(outcome.outcome, OutcomeKind::Refused, "{outcome:?}");
    assert!(
        outcome.message.contains("ending the call for them")
            && outcome.message.contains("Dana Customer (customer) stays"),
        "{}",
        outcome.message
    );
    assert!(participant_patches(&h.requests(0).await).is_empty());
    assert_eq!(
        state_of(&h.read(&two.id).await, &agent),
        Some(ParticipantState::Connected)
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_permission_stops_with_the_permission_needed() {
    let h = Harness::start(json!({"rateLimitPerMinute": 0})).await;
    let (call, target) = h.conference("connected").await;
    let (outcome, _) = kick(
        &h.viewer(),
        &call.id,
        Wanted::Participant(target.clone()),
        options(),
    )
    .finish()
    .await;
    assert_eq!(outcome.outcome, OutcomeKind::Failed, "{outcome:?}");
    assert_eq!(outcome.status, Some(403));
    assert!(
        outcome
            .message
            .contains("conversation:communication:disconnect"),
        "{}",
        outcome.message
    );
    assert_eq!(outcome.attempts, 1, "a 403 is final");
    check(&h, &call.id, &target, &outcome).await;
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_conversation_is_a_clear_failure() {
    let h = Harness::start(json!({"rateLimitPerMinute": 0})).await;
    let missing = "0b7f3c2a-1111-4222-8333-444455556666";
    let (outcome, _) = kick(
        &h.client,
        missing,
        Wanted::Participant("0b7f3c2a-0000-4000-8000-000000000000".into()),
        options(),
    )
    .finish()
    .await;
    assert_eq!(outcome.outcome, OutcomeKind::Failed);
    assert!(
        outcome
            .message
            .contains(&format!("conversation {missing} not found")),
        "{}",
        outcome.message
    );
    assert!(participant_patches(&h.requests(0).await).is_empty());
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_user_twice_removes_the_live_leg() {
    let h = Harness::start(json!({"rateLimitPerMinute": 0})).await;
    let call = h
        .call(&[
            Leg("Casey Customer", "customer", "connected", None),
            Leg("Ava Reed (first leg)", "agent", "terminated", Some(AVA)),
            Leg("Ava Reed", "agent", "connected", Some(AVA)),
            Leg("Ben Ortiz", "agent", "connected", Some(BEN)),
        ])
        .await;
    let live = leg_of(&call, "Ava Reed");
    let (outcome, _) = kick(&h.client, &call.id, Wanted::User(AVA.into()), options())
        .finish()
        .await;
    assert_eq!(outcome.outcome, OutcomeKind::Removed, "{outcome:?}");
    let patches = participant_patches(&h.requests(0).await);
    assert_eq!(patches.len(), 1);
    assert_eq!(patches[0].1, live);
    check(&h, &call.id, &live, &outcome).await;
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_faults_still_remove_only_the_target() {
    // Latency with jitter, the transition lock, occasional 503s, sockets dropping every second
    // and two-second tokens, all at once.
    let h = Harness::start(json!({
        "rateLimitPerMinute": 0,
        "latencyMs": 20,
        "jitterMs": 20,
        "transitionLock": {"enabled": true, "settleMs": 300},
        "serverErrorRate": 0.1,
        "serverErrorStatus": 503,
        "socketDropAfterSecs": 1,
        "tokenLifetimeSecs": 2
    }))
    .await;
    let (call, target) = h.conference("alerting").await;
    let mut job = kick(
        &h.client,
        &call.id,
        Wanted::Participant(target.clone()),
        options(),
    );
    job.until(|s| matches!(s, Step::Waiting { .. })).await;
    h.set_leg(
        &call.id,
        &target,
        json!({"state": "connected", "afterMs": 500}),
    )
    .await;
    let (outcome, _) = job.finish().await;
    assert_eq!(outcome.outcome, OutcomeKind::Removed, "{outcome:?}");
    assert!(outcome.attempts <= 8);
    // The check reads the call back: without the 503s, so only the kick is judged, not that read.
    h.faults(json!({"serverErrorRate": 0.0})).await;
    check(&h, &call.id, &target, &outcome).await;
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manager_joins_a_second_request_and_cancels() {
    use confwatch::kick::{KickManager, Target};
    let h = Harness::start(json!({"rateLimitPerMinute": 0})).await;
    let (call, target) = h.conference("alerting").await;
    let audit = std::env::temp_dir().join(format!("confwatch-kick-{}.jsonl", uuid::Uuid::new_v4()));
    let (tx, mut progress) = mpsc::unbounded_channel();
    let manager = KickManager::new(
        h.client.clone(),
        KickOptions {
            audit_log: Some(audit.clone()),
            strategy: Strategy::Settled,
            ..KickOptions::default()
        },
        tx,
    );
    let key = Target {
        conversation_id: call.id.clone(),
        participant_id: target.clone(),
    };
    assert!(manager.start(key.clone(), false));
    let mut steps = Vec::new();
    while let Some(p) = progress.recv().await {
        steps.push(p.step.clone());
        if matches!(p.step, Step::Waiting { .. }) {
            break;
        }
    }
    assert!(!manager.start(key.clone(), false), "a second press joins");
    let joined = progress.recv().await.expect("joined");
    assert_eq!(
        joined.step,
        Step::Started {
            name: None,
            purpose: None,
            joined: true
        }
    );
    manager.cancel(&key);
    let finished = loop {
        let p = progress.recv().await.expect("progress");
        if let Step::Finished(outcome) = p.step {
            break outcome;
        }
    };
    assert_eq!(finished.outcome, OutcomeKind::Cancelled);
    assert!(participant_patches(&h.requests(0).await).is_empty());
    let lines = std::fs::read_to_string(&audit)
        .expect("audit file")
        .lines()
        .count();
    assert!(
        lines >= 3,
        "request, started, waiting, finished are audited"
    );
    std::fs::remove_file(&audit).ok();
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manager_fed_by_the_console_feed_needs_two_requests() {
    use confwatch::feed::{ConnectionState, FeedEvent};
    use confwatch::feed::{QueueSelection, watch};
    use confwatch::kick::{KickManager, Target};
    use confwatch::live::Update;
    let h = Harness::start(json!({"rateLimitPerMinute": 0})).await;
    let (call, target) = h.conference("alerting").await;
    let audit = std::env::temp_dir().join(format!("confwatch-kick-{}.jsonl", uuid::Uuid::new_v4()));
    let (tx, mut progress) = mpsc::unbounded_channel();
    let manager = KickManager::new(
        h.client.clone(),
        KickOptions {
            audit_log: Some(audit.clone()),
            strategy: Strategy::Settled,
            ..KickOptions::default()
        },
        tx,
    );
    let mut feed = watch(h.client.clone(), QueueSelection::All);
    while let Some(event) = feed.recv().await {
        if event == FeedEvent::Connection(ConnectionState::Live) {
            break;
        }
    }
    let fed = manager.clone();
    let forward = tokio::spawn(async move {
        while let Some(event) = feed.recv().await {
            if let FeedEvent::Model(Update::Conversation(c)) = event {
                fed.on_conversation(&c);
            }
        }
    });
    manager.start(
        Target {
            conversation_id: call.id.clone(),
            participant_id: target.clone(),
        },
        false,
    );
    let outcome = loop {
        let p = progress.recv().await.expect("progress");
        match p.step {
            Step::Waiting { .. } => {
                h.set_leg(&call.id, &target, json!({"state": "connected"}))
                    .await
            }
            Step::Finished(outcome) => break outcome,
            _ => {}
        }
    };
    assert_eq!(outcome.outcome, OutcomeKind::Removed, "{outcome:?}");
    assert_eq!(
        (outcome.attempts, outcome.requests),
        (1, 2),
        "one GET, one PATCH: the rest came as events"
    );
    check(&h, &call.id, &target, &outcome).await;
    forward.abort();
    std::fs::remove_file(&audit).ok();
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_a_user_falls_back_to_the_generic_endpoint() {
    let h = Harness::start(json!({"rateLimitPerMinute": 0, "callsPathNotAUser": true})).await;
    let (call, target) = h.conference("connected").await;
    let (outcome, progress) = kick(
        &h.client,
        &call.id,
        Wanted::Participant(target.clone()),
        options(),
    )
    .finish()
    .await;
    assert_eq!(outcome.outcome, OutcomeKind::Removed, "{outcome:?}");
    assert!(progress.iter().any(
        |p| matches!(&p.step, Step::Answer { status: 400, code: Some(c), .. } if c == "not.a.user")
    ));
    let patches: Vec<String> = h
        .requests(0)
        .await
        .iter()
        .filter(|r| r["method"] == "PATCH")
        .map(|r| format!("{} {}", r["status"], r["path"].as_str().unwrap_or_default()))
        .collect();
    assert_eq!(
        patches,
        [
            format!(
                "400 /api/v2/conversations/calls/{}/participants/{target}",
                call.id
            ),
            format!(
                "202 /api/v2/conversations/{}/participants/{target}",
                call.id
            ),
        ]
    );
    check(&h, &call.id, &target, &outcome).await;
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ringing_leg_that_never_answers_is_removed_at_once_with_the_lock_off() {
    let h = Harness::start(json!({"rateLimitPerMinute": 0})).await;
    let (call, target) = h.conference("alerting").await;
    let (outcome, progress) = kick(
        &h.client,
        &call.id,
        Wanted::Participant(target.clone()),
        options(),
    )
    .finish()
    .await;
    assert_eq!(outcome.outcome, OutcomeKind::Removed, "{outcome:?}");
    assert_eq!(outcome.attempts, 1, "one PATCH, no wait: {progress:?}");
    assert!(
        !progress
            .iter()
            .any(|p| matches!(p.step, Step::Waiting { .. }))
    );
    assert_count_matches_the_log(&h, &outcome).await;
    check(&h, &call.id, &target, &outcome).await;
    h.stop().await;
}

/// The demo's lock (400 ms after a leg's change) and a leg that settles 1.2 s after the kick
/// starts: the first kick backs off as without history; the next ones retry at the learned time.
/// Between the 409 and the retry nothing is read: the feed says when the leg settled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_the_lock_the_kick_waits_for_the_settle_and_learns_the_lock() {
    let h = Harness::start(json!({
        "rateLimitPerMinute": 0,
        "transitionLock": {"enabled": true, "settleMs": 400}
    }))
    .await;
    let history: Arc<Mutex<LockHistory>> = Arc::default();
    let mut learned_seen = 0;
    for round in 0..4 {
        let since = h.last_seq().await;
        let (call, target) = h.conference("alerting").await;
        let mut job = kick_learning(
            &h.client,
            &call.id,
            Wanted::Participant(target.clone()),
            options(),
            Arc::clone(&history),
        );
        job.until(|s| matches!(s, Step::Answer { status: 409, .. }))
            .await;
        h.set_leg(
            &call.id,
            &target,
            json!({"state": "connected", "afterMs": 1200}),
        )
        .await;
        let (outcome, progress) = job.finish().await;
        assert_eq!(outcome.outcome, OutcomeKind::Removed, "{outcome:?}");
        let log = h.requests(since).await;
        let gets = log
            .iter()
            .filter(|r| {
                r["method"] == "GET" && r["path"].as_str().unwrap_or("").contains("/calls/")
            })
            .count();
        // One read, then the feed (one more when the first 409 came before the channel opened).
        assert!(
            (1..=2).contains(&gets),
            "round {round}: one read, then the feed: {log:#?}"
        );
        let learned = progress
            .iter()
            .any(|p| matches!(p.step, Step::Locked { learned: true, .. }));
        if round > 0 {
            assert!(learned, "round {round} uses what the earlier ones learned");
            assert!(
                outcome.attempts <= 6,
                "round {round}: the eager PATCH, at most four learned tries, the fallback: {progress:?}"
            );
            learned_seen += 1;
        }
        for (_, pid, _) in participant_patches(&log) {
            assert_eq!(pid, target, "only the target is PATCHed");
        }
        let now = h.read(&call.id).await;
        assert!(state_of(&now, &target).is_some_and(|s| s.is_gone()));
        assert_eq!(now.live_participants().count(), 2, "the others stay");
    }
    assert_eq!(learned_seen, 3);
    assert!(!history.lock().unwrap().samples().is_empty());
    h.stop().await;
}

/// The console learns the lock across runs too: a manager with a history file saves what its
/// kick learned, and the next run's first kick under the lock already retries at the learned
/// time (before, each console session started from nothing).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_console_learns_about_the_lock_outlives_the_session() {
    use confwatch::kick::{KickManager, Target};
    let h = Harness::start(json!({
        "rateLimitPerMinute": 0,
        "transitionLock": {"enabled": true, "settleMs": 400}
    }))
    .await;
    let file = common::temp_dir("lock-history").join("lock-history.json");
    let run = async |round: u32| {
        let (tx, mut progress) = mpsc::unbounded_channel();
        let manager = KickManager::standalone(
            h.client.clone(),
            KickOptions {
                no_audit: true,
                lock_history: Some(file.clone()),
                ..KickOptions::default()
            },
            tx,
        );
        let (call, target) = h.conference("alerting").await;
        let key = Target {
            conversation_id: call.id.clone(),
            participant_id: target.clone(),
        };
        assert!(manager.start(key, false));
        let mut steps = Vec::new();
        let outcome = loop {
            let p = progress.recv().await.expect("progress");
            if matches!(p.step, Step::Answer { status: 409, .. }) && steps.len() < 8 {
                h.set_leg(
                    &call.id,
                    &target,
                    json!({"state": "connected", "afterMs": 1200}),
                )
                .await;
            }
            if let Step::Finished(outcome) = &p.step {
                break outcome.clone();
            }
            steps.push(p.step);
        };
        assert_eq!(
            outcome.outcome,
            OutcomeKind::Removed,
            "round {round}: {outcome:?}"
        );
        steps
    };
    let first = run(0).await;
    assert!(
        !first
            .iter()
            .any(|s| matches!(s, Step::Locked { learned: true, .. })),
        "nothing to learn from yet: {first:?}"
    );
    let saved = LockHistory::load(&file);
    assert!(
        !saved.samples().is_empty(),
        "the first session's lesson is on disk"
    );
    let second = run(1).await;
    assert!(
        second
            .iter()
            .any(|s| matches!(s, Step::Locked { learned: true, .. })),
        "a new session's first kick uses it: {second:?}"
    );
    std::fs::remove_dir_all(file.parent().unwrap()).ok();
    h.stop().await;
}

/// A platform that never answers: the whole kick, token request included, ends at its deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deadline_holds_against_a_platform_that_never_answers() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    // Accepts connections and never answers.
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let client = common::client_of(&base);
    let started = std::time::Instant::now();
    let (outcome, _) = kick(
        &client,
        "3f1c9a2e-8d4b-4c1e-9f7a-2b6d5e8c1a90",
        Wanted::Participant("3f1c9a2e-8d4b-4c1e-9f7a-2b6d5e8c1a91".into()),
        KickOptions {
            deadline: Duration::from_secs(2),
            ..options()
        },
    )
    .finish()
    .await;
    assert_eq!(outcome.outcome, OutcomeKind::TimedOut, "{outcome:?}");
    // Before the fix this took the client's 15 s request timeout; the bound is generous.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the 2 s deadline did not hold: {:?}",
        started.elapsed()
    );
    silent.abort();
}
