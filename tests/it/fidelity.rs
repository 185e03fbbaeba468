//! Issue 10 (platform fidelity) against the mock on loopback: the platform's 20-channel limit with
//! eviction, and the system messages `no_longer_subscribed` and `token_revoked`, during a
//! console session and during a kick. The console's feed must notice, make a new channel,
//! re-read and say so; a kick must still finish and leave no subscriptions behind.

use crate::common;

use std::time::Duration;

use common::{Harness, KickJob, SALES_ID, SUPPORT_ID, leg_of, next_matching};
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

/// An invalid topic (a queue that no longer exists) fails the whole subscription with 400
/// `notification.invalid.topic`, `ignoreErrors` or not: the client drops the topic the message
/// names, subscribes the others, and says which one it dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_topic_is_dropped_and_the_others_subscribed() {
    let h = Harness::start(json!({"rateLimitPerMinute": 0})).await;
    let gone = platform::queue_topic("6f1c0b7e-0000-4000-8000-0000000000ff");
    let topics = vec![
        platform::queue_topic(SUPPORT_ID),
        gone.clone(),
        platform::queue_topic(common::SALES_ID),
    ];
    let (channels, warnings) = h.client.open_channels(&topics).await.expect("channels");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains(&gone) && warnings[0].contains("invalid"),
        "{warnings:?}"
    );
    let (_, listed) = h
        .json(
            Method::GET,
            &format!(
                "/api/v2/notifications/channels/{}/subscriptions",
                channels[0].id
            ),
            None,
        )
        .await;
    let mut ids: Vec<&str> = listed["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    ids.sort();
    let mut expected = vec![topics[0].as_str(), topics[2].as_str()];
    expected.sort();
    assert_eq!(ids, expected);
    // The two requests: the refused PUT, then the PUT without the invalid topic.
    let puts: Vec<u64> = h
        .requests(0)
        .await
        .into_iter()
        .filter(|r| r["method"] == "PUT")
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(puts, [400, 200]);
    h.stop().await;
}

/// A channel closes when the token that made it expires: the console gets a new token, makes a
/// new channel, says so, re-reads, and its events flow again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_closed_by_its_token_expiring_is_replaced() {
    let h = Harness::start(json!({"rateLimitPerMinute": 0})).await;
    h.faults(json!({"tokenLifetimeSecs": 3})).await;
    // The client's first token is fetched now, under the short lifetime.
    let mut feed = watch(h.client.clone(), QueueSelection::All);
    next_matching(&mut feed, |e| {
        *e == FeedEvent::Connection(ConnectionState::Live)
    })
    .await;
    // The feed's channel belongs to a 3 s token; the tokens after it live long.
    h.faults(json!({"tokenLifetimeSecs": 86400})).await;
    next_matching(&mut feed, |e| is_notice(e, "opened a new channel")).await;
    feed_recovers(&h, &mut feed).await;
    assert!(channel_posts(&h).await >= 2);
    drop(feed);
    h.stop().await;
}

/// A channel lives `channelLifetimeSecs` (the platform's 24 h, 3 s here) unless subscribed
/// again: one nobody renews ends with its socket and cannot be connected to again; the
/// console's is renewed before its end, on the same channel and socket, so events keep coming
/// without a gap and no new channel is made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_near_its_end_is_renewed_without_a_gap() {
    let h = Harness::start(json!({"rateLimitPerMinute": 0, "channelLifetimeSecs": 3})).await;
    let topics = vec![platform::queue_topic(SUPPORT_ID)];
    let (left_alone, mut socket) = h.channel(&topics).await;
    common::read_until_closed(&mut socket).await;
    let upgrade = tokio_tungstenite::connect_async(format!(
        "{}/channels/{left_alone}",
        h.mock.base_url().replacen("http", "ws", 1)
    ))
    .await;
    assert!(upgrade.is_err(), "a channel past its life is gone");

    let mut feed = watch(h.client.clone(), QueueSelection::All);
    next_matching(&mut feed, |e| {
        *e == FeedEvent::Connection(ConnectionState::Live)
    })
    .await;
    let posts = channel_posts(&h).await;
    // Three lives later the same channel still delivers, and it was subscribed again.
    tokio::time::sleep(Duration::from_secs(9)).await;
    let (call, _) = h.conference("connected").await;
    let mut events = Vec::new();
    loop {
        let event = next_matching(&mut feed, |_| true).await;
        let done = matches!(&event, FeedEvent::Model(Update::Conversation(c)) if c.id == call.id);
        events.push(event);
        if done {
            break;
        }
    }
    assert_eq!(channel_posts(&h).await, posts, "no new channel was needed");
    let renewals = h
        .requests(0)
        .await
        .iter()
        .filter(|r| r["method"] == "PUT" && r["status"] == 200)
        .count();
    assert!(renewals >= 4, "{renewals} subscriptions");
    assert!(
        !events.iter().any(|e| matches!(
            e,
            FeedEvent::Connection(ConnectionState::Reconnecting { .. })
        )),
        "{events:?}"
    );
    drop(feed);
    h.stop().await;
}

/// A client without the conversation topics' permission: the whole `PUT` is 403
/// `notification.unauthorized.topic`, with `ignoreErrors=true` each topic comes back `Rejected`
/// naming the permission; the console's feed says every queue is not watched, and why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_without_the_topic_permission_is_told_which_one() {
    let h = Harness::start(json!({"rateLimitPerMinute": 0})).await;
    let answer = h.token_json("quiet-blind", "quiet-blind-secret").await;
    let token = answer["access_token"].as_str().unwrap();
    let channel: Value = h
        .send_as(token, Method::POST, "/api/v2/notifications/channels", None)
        .await
        .json()
        .await
        .unwrap();
    let path = format!(
        "/api/v2/notifications/channels/{}/subscriptions",
        channel["id"].as_str().unwrap()
    );
    let topics = json!([{"id": platform::queue_topic(SUPPORT_ID)}]);
    let whole = h
        .send_as(token, Method::PUT, &path, Some(topics.clone()))
        .await;
    assert_eq!(whole.status(), 403);
    let body: Value = whole.json().await.unwrap();
    assert_eq!(body["code"], "notification.unauthorized.topic");
    let partial: Value = h
        .send_as(
            token,
            Method::PUT,
            &format!("{path}?ignoreErrors=true"),
            Some(topics),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(partial["entities"][0]["state"], "Rejected");
    assert_eq!(
        partial["entities"][0]["missingPermissions"],
        json!(["conversation:communication:view"])
    );

    let blind = confwatch::platform::Client::new(confwatch::platform::ConnectionConfig::for_mock(
        &h.mock.base_url(),
        "quiet-blind",
        "quiet-blind-secret",
    ))
    .unwrap();
    let mut feed = watch(blind, QueueSelection::All);
    let unwatched = next_matching(&mut feed, |e| matches!(e, FeedEvent::Unwatched(_))).await;
    let FeedEvent::Unwatched(queues) = unwatched else {
        unreachable!()
    };
    let mut names: Vec<&str> = queues.iter().map(|q| q.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["Sales", "Support"]);
    assert!(
        queues
            .iter()
            .all(|q| q.reason.contains("conversation:communication:view")),
        "{queues:?}"
    );
    drop(feed);
    h.stop().await;
}

/// A call that went through an IVR and a queue (their legs ended, `ivr` and `acd`) is kept by
/// the analytics read of its queue and by the console's model: its live parties are the
/// customer and the two agents, and a kick on it reads and removes as on any other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_with_ivr_and_acd_legs_is_kept_and_kicked() {
    use common::Leg;
    let h = Harness::start(json!({"rateLimitPerMinute": 0})).await;
    let call = h
        .call(&[
            Leg("Casey Customer", "customer", "connected", None),
            Leg("Main Menu", "ivr", "disconnected", None),
            Leg("Support Queue", "acd", "disconnected", None),
            Leg("Ava Reed", "agent", "connected", Some(common::AVA)),
            Leg("Ben Ortiz", "agent", "connected", Some(common::BEN)),
        ])
        .await;
    let read = confwatch::feed::read_active_calls(&h.client, &[SUPPORT_ID.to_string()])
        .await
        .expect("analytics read");
    let found = read
        .iter()
        .find(|c| c.id == call.id)
        .expect("the call kept");
    assert_eq!(found.participants.len(), 5);
    let mut model = confwatch::live::LiveModel::default();
    model.apply(Update::Snapshot(read.clone()), chrono::Utc::now());
    let row = model
        .conferences()
        .into_iter()
        .find(|r| r.conversation_id == call.id)
        .expect("shown as a conference");
    assert_eq!(row.live_parties, 3);
    assert_eq!(row.queue_id.as_deref(), Some(SUPPORT_ID));

    let ava = leg_of(&call, "Ava Reed");
    let job = common::kick(
        &h.client,
        &call.id,
        Wanted::Participant(ava),
        KickOptions::default(),
    );
    let (outcome, _) = job.finish().await;
    assert_eq!(outcome.outcome, OutcomeKind::Removed, "{outcome:?}");
    h.stop().await;
}

/// A conference in Support transferred to Sales (Ava and Ben leave as `transfer`, Dev of Sales
/// takes it): the console, watching every queue, hears of it on both queues' topics and keeps
/// one row, counted in Sales, with both `acd` legs ended and Dev and the customer live.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_transferred_to_another_queue_shows_once_in_its_new_queue() {
    use common::Leg;
    let h = Harness::start(json!({"rateLimitPerMinute": 0})).await;
    let mut feed = watch(h.client.clone(), QueueSelection::All);
    let mut model = confwatch::live::LiveModel::default();
    let apply = |model: &mut confwatch::live::LiveModel, event: &FeedEvent| {
        if let FeedEvent::Model(update) = event {
            model.apply(update.clone(), chrono::Utc::now());
        }
    };
    // Every event is applied (the queues' names come first).
    loop {
        let event = next_matching(&mut feed, |_| true).await;
        apply(&mut model, &event);
        if event == FeedEvent::Connection(ConnectionState::Live) {
            break;
        }
    }
    let call = h
        .call(&[
            Leg("Casey Customer", "customer", "connected", None),
            Leg("Support", "acd", "disconnected", None),
            Leg("Ava Reed", "agent", "connected", Some(common::AVA)),
            Leg("Ben Ortiz", "agent", "connected", Some(common::BEN)),
        ])
        .await;
    h.transfer(
        &call.id,
        json!({"queue": "Sales", "agent": {"name": "Dev Patel", "purpose": "agent"}}),
    )
    .await;
    // The transferred call comes once per queue topic; every event is applied.
    let mut heard = Vec::new();
    while heard.len() < 2 {
        let event = next_matching(&mut feed, |e| matches!(e, FeedEvent::Model(_))).await;
        if let FeedEvent::Model(Update::Conversation(c)) = &event
            && c.id == call.id
            && c.participants.len() == 6
        {
            heard.push(c.clone());
        }
        apply(&mut model, &event);
    }
    let rows: Vec<_> = model
        .conferences()
        .into_iter()
        .filter(|r| r.conversation_id == call.id)
        .collect();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].queue_id.as_deref(), Some(SALES_ID));
    assert_eq!(rows[0].queue_name.as_deref(), Some("Sales"));
    assert_eq!(rows[0].live_queue_ids, [SALES_ID]);
    assert_eq!(rows[0].live_parties, 2);
    let shown: Vec<String> = model
        .participants(&call.id, chrono::Utc::now())
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(shown.len(), 6, "each leg once: {shown:?}");
    let after = &heard[1];
    let acd: Vec<(Option<&str>, bool)> = after
        .participants
        .iter()
        .filter(|p| p.purpose() == confwatch::wire::Purpose::Acd)
        .map(|p| (p.queue_id(), p.state.is_live()))
        .collect();
    assert_eq!(acd, [(Some(SUPPORT_ID), false), (Some(SALES_ID), false)]);
    let live: Vec<(Option<&str>, Option<&str>)> = after
        .live_participants()
        .map(|p| (p.name.as_deref(), p.queue_id()))
        .collect();
    assert_eq!(
        live,
        [
            (Some("Casey Customer"), None),
            (Some("Dev Patel"), Some(SALES_ID))
        ]
    );
    drop(feed);
    h.stop().await;
}

/// The statuses of the client's details queries after request `since`.
async fn analytics_statuses(h: &Harness, since: u64) -> Vec<u64> {
    h.requests(since)
        .await
        .iter()
        .filter(|r| r["path"] == "/api/v2/analytics/conversations/details/query")
        .filter_map(|r| r["status"].as_u64())
        .collect()
}

/// An analytics answer over the size limit (400 `response.entity.too.large`, "Reduce
/// pageSize"): the read asks again with smaller pages and still finds every call, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_too_large_analytics_answer_is_read_again_in_smaller_pages() {
    let h = Harness::start(json!({"rateLimitPerMinute": 0})).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(h.conference("connected").await.0.id);
    }
    // Room for one call a page, not two (a call's answer is well under 3,000 bytes here).
    let one = confwatch::feed::read_active_calls(&h.client, &[])
        .await
        .unwrap();
    assert_eq!(one.len(), 3);
    h.faults(json!({"analyticsResponseLimitBytes": 3_000}))
        .await;
    let since = h.last_seq().await;
    let read = confwatch::feed::read_active_calls(&h.client, &[])
        .await
        .expect("read in smaller pages");
    let mut found: Vec<String> = read.into_iter().map(|c| c.id).collect();
    found.sort();
    ids.sort();
    assert_eq!(found, ids);
    // Refused at 200, 100, 50, 25 and 5 calls a page (all three calls each time); read at 1
    // a page: three calls, then an empty page.
    assert_eq!(
        analytics_statuses(&h, since).await,
        [400, 400, 400, 400, 400, 200, 200, 200, 200]
    );
    h.stop().await;
}

/// Even one call over the limit: the console's feed says why it cannot re-read (the platform's
/// words and code), keeps the rows it had, and stays live on its events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_analytics_answer_too_large_even_for_one_call_is_told_and_the_feed_goes_on() {
    let h =
        Harness::start(json!({"rateLimitPerMinute": 0, "analyticsResponseLimitBytes": 100})).await;
    h.conference("connected").await;
    let mut feed = watch(h.client.clone(), QueueSelection::All);
    let warning = next_matching(&mut feed, |e| matches!(e, FeedEvent::Warning(_))).await;
    let FeedEvent::Warning(text) = warning else {
        unreachable!()
    };
    assert!(text.contains("re-reading calls"), "{text}");
    assert!(text.contains("response.entity.too.large"), "{text}");
    assert!(text.contains("Reduce pageSize"), "{text}");
    // Events still come, and the feed never fell back to polling or offline.
    let (call, _) = h.conference("connected").await;
    let mut states = Vec::new();
    loop {
        match next_matching(&mut feed, |_| true).await {
            FeedEvent::Connection(state) => states.push(state),
            FeedEvent::Model(Update::Conversation(c)) if c.id == call.id => break,
            _ => {}
        }
    }
    assert!(
        states.iter().all(|s| *s == ConnectionState::Live),
        "{states:?}"
    );
    drop(feed);
    h.stop().await;
}
