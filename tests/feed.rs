//! The feed's notification channel on a flaky network, against the mock on loopback behind a
//! small TCP proxy that can refuse new connections for a while.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::{Harness, next_matching};
use confwatch::config::ConnectionConfig;
use confwatch::live::{ConnectionState, FeedEvent, Update};
use confwatch::platform::{Client, QueueSelection, watch};
use serde_json::json;

/// Forwards TCP to the mock; while `refusing`, accepts a new connection and drops it at once
/// (counted in `refused`), as a network that is down for a moment. Open connections go on.
struct Proxy {
    url: String,
    refusing: Arc<AtomicBool>,
    refused: Arc<AtomicUsize>,
}

async fn proxy(target: SocketAddr) -> Proxy {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let refusing = Arc::new(AtomicBool::new(false));
    let refused = Arc::new(AtomicUsize::new(0));
    let (r, n) = (Arc::clone(&refusing), Arc::clone(&refused));
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            if r.load(Ordering::SeqCst) {
                n.fetch_add(1, Ordering::SeqCst);
                drop(inbound);
                continue;
            }
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    Proxy {
        url,
        refusing,
        refused,
    }
}

/// Drops on a flaky network (each reconnect refused twice before it gets through) reconnect to
/// the SAME channel: one channel in the whole run, events after every reconnect, and a re-read
/// (a snapshot) after each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnects_on_a_flaky_network_reuse_the_one_channel() {
    let h = Harness::start(json!({"rateLimitPerMinute": 0, "socketDropAfterSecs": 2})).await;
    let (call, target) = h.conference("connected").await;
    let target_addr: SocketAddr = h
        .mock
        .base_url()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .expect("the mock's address");
    let proxy = proxy(target_addr).await;
    let client = Client::new(ConnectionConfig::for_mock(
        &proxy.url,
        h.mock.client_id(),
        h.mock.client_secret(),
    ))
    .expect("client");
    let since = h.last_seq().await;
    let mut feed = watch(client, QueueSelection::All);
    next_matching(&mut feed, |e| {
        *e == FeedEvent::Connection(ConnectionState::Live)
    })
    .await;
    for round in 0..3 {
        // An event arrives on the socket as it now is.
        h.set_leg(&call.id, &target, json!({"held": round % 2 == 0}))
            .await;
        let event = next_matching(
            &mut feed,
            |e| matches!(e, FeedEvent::Model(Update::Conversation(c)) if c.id == call.id),
        )
        .await;
        assert!(matches!(event, FeedEvent::Model(Update::Conversation(_))));
        // The network goes down until two connection attempts were refused.
        let refused_before = proxy.refused.load(Ordering::SeqCst);
        proxy.refusing.store(true, Ordering::SeqCst);
        tokio::time::timeout(Duration::from_secs(30), async {
            while proxy.refused.load(Ordering::SeqCst) < refused_before + 2 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("the client tried to reconnect");
        proxy.refusing.store(false, Ordering::SeqCst);
        next_matching(&mut feed, |e| {
            matches!(
                e,
                FeedEvent::Connection(ConnectionState::Reconnecting { .. })
            )
        })
        .await;
        // The re-read after the reconnect: events are not durable.
        let snapshot = next_matching(&mut feed, |e| {
            matches!(e, FeedEvent::Model(Update::Snapshot(_)))
        })
        .await;
        let FeedEvent::Model(Update::Snapshot(calls)) = snapshot else {
            unreachable!()
        };
        assert!(calls.iter().any(|c| c.id == call.id), "round {round}");
        next_matching(&mut feed, |e| {
            *e == FeedEvent::Connection(ConnectionState::Live)
        })
        .await;
    }
    // And events still arrive after the last reconnect.
    h.set_leg(&call.id, &target, json!({"held": false})).await;
    next_matching(
        &mut feed,
        |e| matches!(e, FeedEvent::Model(Update::Conversation(c)) if c.id == call.id),
    )
    .await;
    let log = h.requests(since).await;
    let channel_posts: Vec<_> = log
        .iter()
        .filter(|r| r["method"] == "POST" && r["path"] == "/api/v2/notifications/channels")
        .collect();
    assert_eq!(channel_posts.len(), 1, "{channel_posts:?}");
    drop(feed);
    h.stop().await;
}

/// Listening again (after every socket gave up, or a failed listen) on the same `Channels`
/// reconnects to the channel it has, with its subscriptions still in place: no second channel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listening_again_reuses_the_channel() {
    use confwatch::platform::notifications::{self, Channels, Signal};
    let h = Harness::start(json!({"rateLimitPerMinute": 0})).await;
    let (call, target) = h.conference("connected").await;
    let since = h.last_seq().await;
    let channels = Channels::default();
    let topics = vec![notifications::queue_topic(common::SUPPORT_ID)];
    let first = notifications::listen_on(
        h.client.clone(),
        topics.clone(),
        notifications::HEARTBEAT_TIMEOUT,
        channels.clone(),
    )
    .await
    .expect("first listen");
    drop(first);
    let mut second = notifications::listen_on(
        h.client.clone(),
        topics,
        notifications::HEARTBEAT_TIMEOUT,
        channels,
    )
    .await
    .expect("second listen");
    h.set_leg(&call.id, &target, json!({"held": true})).await;
    let event = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(signal) = second.recv().await {
            if let Signal::Conversation(c) = signal {
                return Some(c.id);
            }
        }
        None
    })
    .await;
    assert_eq!(
        event,
        Ok(Some(call.id.clone())),
        "events on the reused channel"
    );
    let log = h.requests(since).await;
    let posts = log
        .iter()
        .filter(|r| r["method"] == "POST" && r["path"] == "/api/v2/notifications/channels")
        .count();
    let puts = log
        .iter()
        .filter(|r| {
            r["method"] == "PUT"
                && r["path"]
                    .as_str()
                    .is_some_and(|p| p.ends_with("/subscriptions"))
        })
        .count();
    assert_eq!((posts, puts), (1, 1), "{log:?}");
    drop(second);
    h.stop().await;
}
