//! Issue 10 (platform fidelity) against the mock on loopback: the platform's 20-channel limit with
//! eviction, and the system messages `no_longer_subscribed` and `token_revoked`, during a
//! console session and during a kick. The console's feed must notice, make a new channel,
//! re-read and say so; a kick must still finish and leave no subscriptions behind.

use crate::common;

use std::time::Duration;

use common::{Harness, KickJob, SUPPORT_ID, leg_of, next_matching};
use confwatch::config::Strategy;
use confwatch::feed::{ConnectionState, FeedEvent};
use confwatch::feed::{QueueSelection, watch};
use confwatch::kick::KickOptions;
use confwatch::kick::Wanted;
use confwatch::kick::{OutcomeKind, Step};
use confwatch::live::Update;
use confwatch::platform;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::mpsc;

fn is_notice(event: &FeedEvent, words: &str) -> bool {
    matches!(event, FeedEvent::ChannelNotice(w) if w.contains(words))
}

/// How many channels the client has made so far (from the mock's request log).
async fn channel_posts(h: &Harness) -> usize {
    h.requests(0)
        .await
        .iter()
        .filter(|r| r["method"] == "POST" && r["path"] == "/api/v2/notifications/channels")
        .count()
}

/// Waits until the client has made `n` channels (the guard only stops a hang).
async fn until_channel_posts(h: &Harness, n: usize) {
    tokio::time::timeout(Duration::from_secs(30), async {
        while channel_posts(h).await < n {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the client made a new channel");
}

/// After a notice: the feed re-syncs (from analytics), is live again, and events flow.
async fn feed_recovers(h: &Harness, feed: &mut mpsc::Receiver<FeedEvent>) {
    next_matching(feed, |e| {
        matches!(e, FeedEvent::Model(Update::ResyncStarted))
    })
    .await;
    next_matching(feed, |e| *e == FeedEvent::Connection(ConnectionState::Live)).await;
    let (call, _) = h.conference("connected").await;
    next_matching(
        feed,
        |e| matches!(e, FeedEvent::Model(Update::Conversation(c)) if c.id == call.id),
    )
    .await;
}

/// 25 channels on one client: the feed's (the least recently used once 19 newer ones have
/// sockets) is evicted with the 21st. The feed notices, makes a new channel, re-reads, says so,
/// and its events flow again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_five_channels_evict_the_feeds_and_it_recovers() {
    let h = Harness::start(json!({"rateLimitPerMinute": 0})).await;
    let mut feed = watch(h.client.clone(), QueueSelection::All);
    next_matching(&mut feed, |e| {
        *e == FeedEvent::Connection(ConnectionState::Live)
    })
    .await;
    assert_eq!(channel_posts(&h).await, 1);
    // A channel with a socket is evicted only when none without one is left: each has one.
    let topics = vec![platform::queue_topic(SUPPORT_ID)];
    let mut others = Vec::new();
    for _ in 0..24 {
        others.push(h.channel(&topics).await);
    }
    let notice = next_matching(&mut feed, |e| is_notice(e, "opening a new channel")).await;
    feed_recovers(&h, &mut feed).await;
    // One new channel for the feed, no more (the evicted others do not come back).
    assert_eq!(channel_posts(&h).await, 26, "{notice:?}");
    drop(feed);
    h.stop().await;
}

/// A system message during a console session: the feed makes a new channel, re-reads, and
/// says which message came and what it did.
async fn console_recovers_from(fault: &str, message: &str) {
    let h = Harness::start(json!({"rateLimitPerMinute": 0, fault: 2})).await;
    let mut feed = watch(h.client.clone(), QueueSelection::All);
    next_matching(&mut feed, |e| {
        *e == FeedEvent::Connection(ConnectionState::Live)
    })
    .await;
    let notice = next_matching(&mut feed, |e| is_notice(e, message)).await;
    let FeedEvent::ChannelNotice(text) = &notice else {
        unreachable!()
    };
    assert!(text.contains("opening a new channel"), "{text}");
    // Once is enough for this test: new sockets get no more messages.
    h.faults(json!({fault: 0})).await;
    feed_recovers(&h, &mut feed).await;
    assert!(channel_posts(&h).await >= 2);
    drop(feed);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_recovers_from_no_longer_subscribed() {
    console_recovers_from("noLongerSubscribedAfterSecs", "no_longer_subscribed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_recovers_from_token_revoked() {
    console_recovers_from("tokenRevokedAfterSecs", "token_revoked").await;
}

/// The channels the client subscribed (from the request log) and their subscriptions now.
async fn subscriptions_left(h: &Harness) -> Vec<(String, Value)> {
    let mut ids: Vec<String> = h
        .requests(0)
        .await
        .iter()
        .filter(|r| r["method"] == "PUT")
        .filter_map(|r| {
            r["path"]
                .as_str()?
                .strip_prefix("/api/v2/notifications/channels/")?
                .strip_suffix("/subscriptions")
                .map(str::to_string)
        })
        .collect();
    ids.sort();
    ids.dedup();
    let mut left = Vec::new();
    for id in ids {
        let (status, listing) = h
            .json(
                Method::GET,
                &format!("/api/v2/notifications/channels/{id}/subscriptions"),
                None,
            )
            .await;
        // A channel that is gone (404) has none either.
        if status == 200
            && listing["entities"]
                .as_array()
                .is_some_and(|e| !e.is_empty())
        {
            left.push((id, listing));
        }
    }
    left
}

/// A kick of `target` with `strategy`, no audit file.
fn kick_of(h: &Harness, conversation_id: &str, target: &str, strategy: Strategy) -> KickJob {
    let options = KickOptions {
        audit_log: None,
        strategy,
        ..KickOptions::default()
    };
    common::kick(
        &h.client,
        conversation_id,
        Wanted::Participant(target.to_string()),
        options,
    )
}

/// A system message while a kick waits for its ringing target (the `settled` strategy, so that
/// it waits on the feed): the kick makes a new channel, re-reads, still removes the target, and
/// leaves no subscriptions behind.
async fn kick_survives(fault: &str) {
    let h = Harness::start(json!({"rateLimitPerMinute": 0, fault: 1})).await;
    let call = h.conference_with("alerting", "connected").await;
    let target = leg_of(&call, "Ava Reed");
    let mut job = kick_of(&h, &call.id, &target, Strategy::Settled);
    job.until(|s| matches!(s, Step::Waiting { .. })).await;
    // The platform stops the kick's channel; the kick makes another.
    until_channel_posts(&h, 2).await;
    h.faults(json!({fault: 0})).await;
    h.set_leg(&call.id, &target, json!({"state": "connected"}))
        .await;
    let (outcome, _) = tokio::time::timeout(Duration::from_secs(60), job.finish())
        .await
        .expect("the kick finished");
    assert_eq!(outcome.outcome, OutcomeKind::Removed, "{outcome:?}");
    let after = h.get_call(&call.id).await;
    assert_eq!(common::raw::state_of(&after, "Ava Reed"), "disconnected");
    assert_eq!(common::raw::state_of(&after, "Ben Ortiz"), "connected");
    assert_eq!(subscriptions_left(&h).await, Vec::new());
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kick_finishes_despite_no_longer_subscribed() {
    kick_survives("noLongerSubscribedAfterSecs").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kick_finishes_despite_token_revoked() {
    kick_survives("tokenRevokedAfterSecs").await;
}

/// A kick with no fault at all leaves no subscriptions behind either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kick_leaves_no_subscriptions_behind() {
    let h = Harness::start(json!({"rateLimitPerMinute": 0})).await;
    let call = h.conference_with("alerting", "connected").await;
    let target = leg_of(&call, "Ava Reed");
    let job = kick_of(&h, &call.id, &target, Strategy::default());
    until_channel_posts(&h, 1).await;
    h.set_leg(&call.id, &target, json!({"state": "connected"}))
        .await;
    let (outcome, _) = job.finish().await;
    assert_eq!(outcome.outcome, OutcomeKind::Removed, "{outcome:?}");
    assert_eq!(subscriptions_left(&h).await, Vec::new());
    h.stop().await;
}
