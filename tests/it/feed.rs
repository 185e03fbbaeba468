//! The feed's notification channel on a flaky network, against the mock on loopback behind a
//! small TCP proxy that can refuse new connections for a while.

use crate::common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::{Harness, next_matching, next_resync};
use confwatch::feed::{ConnectionState, FeedEvent};
use confwatch::feed::{QueueSelection, watch};
use confwatch::live::Update;
use confwatch::platform::Client;
use confwatch::platform::ConnectionConfig;
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
        let calls = next_resync(&mut feed).await;
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
    use confwatch::platform::{self, Channels, Signal};
    let h = Harness::start(json!({"rateLimitPerMinute": 0})).await;
    let (call, target) = h.conference("connected").await;
    let since = h.last_seq().await;
    let channels = Channels::default();
    let topics = vec![platform::queue_topic(common::SUPPORT_ID)];
    let first = platform::listen_on(
        h.client.clone(),
        topics.clone(),
        platform::HEARTBEAT_TIMEOUT,
        channels.clone(),
    )
    .await
    .expect("first listen");
    drop(first);
    let mut second = platform::listen_on(
        h.client.clone(),
        topics,
        platform::HEARTBEAT_TIMEOUT,
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

/// Calls the feed read one by one (`GET /api/v2/conversations/calls/{id}` or
/// `/api/v2/conversations/{id}`) in these log entries.
fn call_gets(log: &[serde_json::Value]) -> Vec<String> {
    log.iter()
        .filter(|r| r["method"] == "GET")
        .filter_map(|r| r["path"].as_str())
        .filter(|p| p.starts_with("/api/v2/conversations/"))
        .map(str::to_string)
        .collect()
}

/// The first screen and every re-sync come from analytics pages alone: with the mock's budget
/// on and the socket dropped every 2 s, neither the snapshot nor the re-sync after a reconnect
/// reads a call on its own. (Before issue 9 each sent one GET per call.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_snapshot_or_resync_sends_a_get_per_call() {
    let h = Harness::start(json!({"rateLimitPerMinute": 300, "socketDropAfterSecs": 2})).await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(h.conference("connected").await.0.id);
    }
    let since = h.last_seq().await;
    let mut feed = watch(h.client.clone(), QueueSelection::All);
    let first = next_resync(&mut feed).await;
    next_matching(&mut feed, |e| {
        matches!(
            e,
            FeedEvent::Connection(ConnectionState::Reconnecting { .. })
        )
    })
    .await;
    let second = next_resync(&mut feed).await;
    for calls in [&first, &second] {
        let mut found: Vec<_> = calls.iter().map(|c| c.id.clone()).collect();
        found.sort();
        let mut wanted = ids.clone();
        wanted.sort();
        assert_eq!(found, wanted);
        // Each row carries its participants, with the ids the kick will use.
        assert!(calls.iter().all(|c| c.participants.len() == 3));
    }
    let log = h.requests(since).await;
    assert_eq!(call_gets(&log), Vec::<String>::new(), "no GET per call");
    let queries = log
        .iter()
        .filter(|r| r["path"] == "/api/v2/analytics/conversations/details/query")
        .count();
    assert!(queries >= 2, "one page per re-sync: {queries}");
    drop(feed);
    h.stop().await;
}

/// The console shows "reconnecting" the moment the socket drops, not after the heartbeat
/// watchdog or the reconnect: here the mock drops it and refuses the new socket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_socket_shows_reconnecting_at_once() {
    // Each socket is closed 2 s after it connects.
    let h = Harness::start(json!({"rateLimitPerMinute": 300, "socketDropAfterSecs": 2})).await;
    let mut feed = watch(h.client.clone(), QueueSelection::All);
    next_matching(&mut feed, |e| {
        *e == FeedEvent::Connection(ConnectionState::Live)
    })
    .await;
    // Then the mock stops answering for a long while, as a mock that was killed.
    h.faults(json!({"latencyMs": 45_000})).await;
    // The next event is "reconnecting" (the drop), before any reconnect could finish: the
    // reconnect goes through the mock, whose 45 s latency outlasts the 30 s wait.
    let state = next_matching(&mut feed, |e| matches!(e, FeedEvent::Connection(_))).await;
    assert!(
        matches!(
            state,
            FeedEvent::Connection(ConnectionState::Reconnecting { attempt: 1 })
        ),
        "{state:?}"
    );
    drop(feed);
    h.stop().await;
}

/// The re-sync's pages: one analytics query each.
const PAGES_PATH: &str = "/api/v2/analytics/conversations/details/query";

/// Forwards HTTP to the mock at `mock`, holding every re-sync page after the first at the door
/// until a call has been read (`GET /api/v2/conversations/…` answered). What the mock logs is
/// then in the order the test needs, whatever the load: no page after the first comes before
/// that read. The wait is bounded so that a read that never comes fails the test's ordering
/// check rather than hanging it (a guard, not a measure: the client's requests time out at 15 s).
async fn pages_wait_for_a_read(mock: &str) -> String {
    use axum::body::Body;
    use axum::http::header;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let mock = mock.trim_end_matches('/').to_string();
    let http = reqwest::Client::new();
    let (read_tx, read_rx) = tokio::sync::watch::channel(false);
    let read_tx = Arc::new(read_tx);
    let pages = Arc::new(AtomicUsize::new(0));
    // Hop-by-hop headers are each connection's own; Host names the mock (its `connectUri`).
    let own = |name: &header::HeaderName| {
        [
            header::HOST,
            header::CONNECTION,
            header::CONTENT_LENGTH,
            header::TRANSFER_ENCODING,
        ]
        .contains(name)
    };
    let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
        let (http, mock, read_tx, mut read_rx, pages) = (
            http.clone(),
            mock.clone(),
            Arc::clone(&read_tx),
            read_rx.clone(),
            Arc::clone(&pages),
        );
        async move {
            let (parts, body) = request.into_parts();
            let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
            let path = parts.uri.path().to_string();
            if path == PAGES_PATH && pages.fetch_add(1, Ordering::SeqCst) >= 1 {
                let _ =
                    tokio::time::timeout(Duration::from_secs(10), read_rx.wait_for(|read| *read))
                        .await;
            }
            let target = parts.uri.path_and_query().map_or("/", |p| p.as_str());
            let mut forward = http
                .request(parts.method.clone(), format!("{mock}{target}"))
                .body(body);
            for (name, value) in parts.headers.iter().filter(|(n, _)| !own(n)) {
                forward = forward.header(name, value);
            }
            let answer = forward.send().await.unwrap();
            let mut response = axum::http::Response::builder().status(answer.status());
            for (name, value) in answer.headers().iter().filter(|(n, _)| !own(n)) {
                response = response.header(name, value);
            }
            let response = response
                .body(Body::from(answer.bytes().await.unwrap()))
                .unwrap();
            // Answered by the mock, so logged there before any page the read lets through.
            if parts.method == axum::http::Method::GET && path.starts_with("/api/v2/conversations/")
            {
                read_tx.send_replace(true);
            }
            response
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// While the feed re-syncs 10,000 calls from analytics, a kick's first request goes out at once:
/// it does not queue behind the re-sync's pages (the mock's request log shows it between them,
/// with pages of the same re-sync after it). The pages after the first wait at the door until a
/// call has been read, so a kick that queued behind them would come only after that wait, with
/// pages before it. The budget is the platform's 300 a minute.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kick_goes_out_at_once_during_a_10000_call_resync() {
    use confwatch::kick::{KickManager, KickOptions, Target};
    use genesys_cloud_mock::{MockOptions, Scenario};
    let mut scenario = Scenario::named("scale").expect("scale scenario");
    scenario.calls.changes_per_sec = 0.0;
    assert_eq!(
        scenario.faults.rate_limit_per_minute, 300,
        "the budget is on"
    );
    let h = Harness::with_options(MockOptions::loopback(scenario)).await;
    let door = pages_wait_for_a_read(&h.mock.base_url()).await;
    let client = Client::new(ConnectionConfig::for_mock(
        &door,
        h.mock.client_id(),
        h.mock.client_secret(),
    ))
    .expect("client");

    let mut feed = watch(client.clone(), QueueSelection::All);
    next_matching(&mut feed, |e| *e == FeedEvent::Model(Update::ResyncStarted)).await;
    let first_page = next_matching(&mut feed, |e| {
        matches!(e, FeedEvent::Model(Update::ResyncPage(_)))
    })
    .await;
    let FeedEvent::Model(Update::ResyncPage(calls)) = first_page else {
        unreachable!()
    };
    let (call, agent) = calls
        .iter()
        .find_map(|c| {
            let agent = c.participants.iter().find(|p| p.purpose() == "agent")?;
            (c.live_participants().count() >= 3).then(|| (c.id.clone(), agent.id.clone()))
        })
        .expect("a conference on the first page");
    let pressed_after = h.last_seq().await;
    let pressed = chrono::Utc::now();
    let dir = common::temp_dir("feed");
    let (progress, _progress_rx) = tokio::sync::mpsc::unbounded_channel();
    let manager = KickManager::new(
        client.clone(),
        KickOptions {
            audit_log: Some(dir.join("audit.jsonl")),
            ..Default::default()
        },
        progress,
    );
    manager.start(
        Target {
            conversation_id: call.clone(),
            participant_id: agent,
        },
        false,
    );
    // Let the re-sync finish, then read the log.
    let mut pages = 1;
    let page_or_end = |e: &FeedEvent| {
        matches!(
            e,
            FeedEvent::Model(Update::ResyncPage(_) | Update::ResyncDone)
        )
    };
    while let FeedEvent::Model(Update::ResyncPage(_)) = next_matching(&mut feed, page_or_end).await
    {
        pages += 1;
    }
    let entries = h.requests(pressed_after).await;
    let kick_path = format!("/api/v2/conversations/calls/{call}");
    let kick_at = entries
        .iter()
        .position(|r| r["method"] == "GET" && r["path"] == kick_path.as_str())
        .expect("the kick's read");
    let is_page = |r: &serde_json::Value| r["path"] == PAGES_PATH;
    let pages_before = entries[..kick_at].iter().filter(|r| is_page(r)).count();
    let pages_after = entries[kick_at..].iter().filter(|r| is_page(r)).count();
    let sent_at = entries[kick_at]["at"]
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .expect("a time");
    println!(
        "kick's first request answered {} ms after the press; {pages_before} page(s) before it, {pages_after} after, {pages} in the re-sync",
        (sent_at.to_utc() - pressed).num_milliseconds()
    );
    assert!(pages >= 45, "10,000 calls in pages of 200: {pages}");
    // The first page was answered before the press; the next waited for the kick's read.
    assert_eq!(
        pages_before, 0,
        "the kick waited behind {pages_before} pages"
    );
    assert!(pages_after > 0, "the re-sync was still running");
    assert!(
        call_gets(&entries).iter().all(|p| *p == kick_path),
        "no GET but the kick's own"
    );
    drop(feed);
    drop(manager);
    let _ = std::fs::remove_dir_all(&dir);
    h.stop().await;
}

/// A notification over the client's message cap (its own small cap, set on its connection, not
/// through the environment the test process shares) is refused with a warning that names the
/// size, the cap and the variable; the socket is reopened on the same channel, the calls are
/// re-read, and events arrive again: no hang, nothing held.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_over_the_cap_is_refused_and_the_feed_recovers() {
    const CAP: usize = 64 * 1024;
    let h = Harness::start(json!({"rateLimitPerMinute": 0})).await;
    let (call, target) = h.conference("connected").await;
    let config = ConnectionConfig::for_mock(
        &h.mock.base_url(),
        h.mock.client_id(),
        h.mock.client_secret(),
    )
    .with_max_answer_bytes(CAP);
    let client = Client::new(config).expect("client");
    let since = h.last_seq().await;
    let mut feed = watch(client, QueueSelection::All);
    next_matching(&mut feed, |e| {
        *e == FeedEvent::Connection(ConnectionState::Live)
    })
    .await;
    assert_eq!(h.oversized_notification(CAP + 1).await, 1, "one socket");
    let warning = next_matching(&mut feed, |e| matches!(e, FeedEvent::Warning(_))).await;
    let FeedEvent::Warning(text) = warning else {
        unreachable!()
    };
    assert!(text.contains("refused"), "{text}");
    assert!(text.contains(&format!("cap of {CAP} bytes")), "{text}");
    assert!(text.contains("CONFWATCH_MAX_ANSWER_BYTES"), "{text}");
    next_matching(&mut feed, |e| {
        matches!(
            e,
            FeedEvent::Connection(ConnectionState::Reconnecting { .. })
        )
    })
    .await;
    // The re-read (its pages may come after "live" again), then events as before.
    let calls = next_resync(&mut feed).await;
    assert!(calls.iter().any(|c| c.id == call.id), "{calls:?}");
    h.set_leg(&call.id, &target, json!({"held": true})).await;
    next_matching(
        &mut feed,
        |e| matches!(e, FeedEvent::Model(Update::Conversation(c)) if c.id == call.id),
    )
    .await;
    // The same channel throughout: the socket was reopened, not the channel replaced.
    let channel_posts = h
        .requests(since)
        .await
        .into_iter()
        .filter(|r| r["method"] == "POST" && r["path"] == "/api/v2/notifications/channels")
        .count();
    assert_eq!(channel_posts, 1);
    drop(feed);
    h.stop().await;
}
