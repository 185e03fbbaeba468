//! The platform client against the mock on loopback: the feed (snapshot, live events,
//! reconnects), queue selection, the rate budget; and the request pipeline's error handling
//! against a tiny local server (malformed answers, one token refresh on 401).

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use common::{Harness, next_matching, next_resync};
use confwatch::feed::{ConnectionState, FeedEvent};
use confwatch::feed::{QueueSelection, watch};
use confwatch::live::Update;
use confwatch::platform::ConnectionConfig;
use confwatch::platform::{Client, FailureKind};
use confwatch::wire::ParticipantState;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feed_sends_queues_snapshot_then_live_changes() {
    let h = Harness::start(json!({"rateLimitPerMinute": 300})).await;
    let (call, target) = h.conference("alerting").await;
    let mut feed = watch(h.client.clone(), QueueSelection::All);
    let queues = next_matching(&mut feed, |e| {
        matches!(e, FeedEvent::Model(Update::Queues(_)))
    })
    .await;
    let FeedEvent::Model(Update::Queues(queues)) = queues else {
        unreachable!()
    };
    let mut names: Vec<_> = queues.iter().filter_map(|q| q.name.clone()).collect();
    names.sort();
    assert_eq!(names, ["Sales", "Support"]);
    // The re-sync from analytics runs beside the live events: "live" comes at its start, and the
    // budget the client counted with its pages.
    next_matching(&mut feed, |e| *e == FeedEvent::Model(Update::ResyncStarted)).await;
    let (mut calls, mut live, mut budget) = (Vec::new(), false, None);
    loop {
        match next_matching(&mut feed, |_| true).await {
            FeedEvent::Model(Update::ResyncPage(page)) => calls.extend(page),
            FeedEvent::Model(Update::ResyncDone) => break,
            FeedEvent::Connection(ConnectionState::Live) => live = true,
            FeedEvent::RateBudget(b) => budget = Some(b),
            _ => {}
        }
    }
    assert!(live);
    assert_eq!(
        calls.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        [call.id.as_str()]
    );
    assert!(
        budget.is_some_and(|b| b.allowed == 300 && b.count > 0),
        "{budget:?}"
    );

    h.set_leg(&call.id, &target, json!({"state": "connected"}))
        .await;
    let event = next_matching(&mut feed, |e| {
        matches!(e, FeedEvent::Model(Update::Conversation(_)))
    })
    .await;
    let FeedEvent::Model(Update::Conversation(changed)) = event else {
        unreachable!()
    };
    assert_eq!(changed.id, call.id);
    assert_eq!(
        common::state_of(&changed, &target),
        Some(ParticipantState::Connected)
    );
    drop(feed);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feed_reconnects_and_rereads_after_a_drop() {
    let h = Harness::start(json!({"rateLimitPerMinute": 0, "socketDropAfterSecs": 1})).await;
    let (call, _) = h.conference("connected").await;
    let mut feed = watch(h.client.clone(), QueueSelection::All);
    next_matching(&mut feed, |e| {
        *e == FeedEvent::Connection(ConnectionState::Live)
    })
    .await;
    next_matching(&mut feed, |e| {
        matches!(
            e,
            FeedEvent::Connection(ConnectionState::Reconnecting { .. })
        )
    })
    .await;
    // The re-read after the reconnect: events are not durable.
    let calls = next_resync(&mut feed).await;
    assert!(calls.iter().any(|c| c.id == call.id));
    next_matching(&mut feed, |e| {
        *e == FeedEvent::Connection(ConnectionState::Live)
    })
    .await;
    drop(feed);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn named_queues_limit_the_snapshot() {
    let h = Harness::start(json!({"rateLimitPerMinute": 0})).await;
    h.conference("connected").await;
    let mut feed = watch(
        h.client.clone(),
        QueueSelection::Named(vec!["sales".into()]),
    );
    let queues = next_matching(&mut feed, |e| {
        matches!(e, FeedEvent::Model(Update::Queues(_)))
    })
    .await;
    assert!(
        matches!(&queues, FeedEvent::Model(Update::Queues(q)) if q.len() == 1 && q[0].name.as_deref() == Some("Sales"))
    );
    assert_eq!(next_resync(&mut feed).await, Vec::new());
    drop(feed);

    let mut feed = watch(
        h.client.clone(),
        QueueSelection::Named(vec!["Billing".into()]),
    );
    let warning = next_matching(&mut feed, |e| matches!(e, FeedEvent::Warning(_))).await;
    assert!(matches!(warning, FeedEvent::Warning(w) if w.contains("Billing")));
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_and_their_participants_are_read() {
    let h = Harness::start(json!({"rateLimitPerMinute": 0})).await;
    let call = h.conference_with("connected", "alerting").await;
    let read = h.client.call(&call.id).await.expect("GET the call");
    assert_eq!(read.participants.len(), 3);
    let active = h.client.active_calls(&[]).await.expect("analytics query");
    assert_eq!(active.len(), 1);
    assert_eq!(active[0].id, call.id);
    // Analytics names every participant by the same id the conversations API uses.
    let mut from_analytics: Vec<_> = active[0]
        .participants
        .iter()
        .map(|p| p.id.clone())
        .collect();
    let mut from_get: Vec<_> = read.participants.iter().map(|p| p.id.clone()).collect();
    from_analytics.sort();
    from_get.sort();
    assert_eq!(from_analytics, from_get);
    let err = h
        .client
        .call("0b7f3c2a-1111-4222-8333-444455556666")
        .await
        .unwrap_err();
    assert_eq!(err.kind, FailureKind::NotFound);
    assert!(err.to_string().contains("GET /api/v2/conversations/calls/"));
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_secret_is_a_clear_error_without_the_secret() {
    let h = Harness::start(json!({})).await;
    let secret = "not-the-right-secret-123";
    let client = Client::new(ConnectionConfig::for_mock(
        &h.mock.base_url(),
        h.mock.client_id(),
        secret,
    ))
    .unwrap();
    let err = client.queues().await.unwrap_err();
    assert_eq!(err.kind, FailureKind::Unauthorized);
    let text = format!("{err} {err:?}");
    assert!(text.contains("login refused"), "{text}");
    assert!(!text.contains(secret), "the secret leaked: {text}");
    h.stop().await;
}

/// A tiny server for what the mock never does: a malformed answer, and a 401 for a token it
/// issued (to see the one refresh).
async fn tiny_server() -> (String, Arc<AtomicUsize>, tokio::task::JoinHandle<()>) {
    let logins = Arc::new(AtomicUsize::new(0));
    let counter = logins.clone();
    let app = Router::new()
        .route(
            "/oauth/token",
            post(move || {
                let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
                async move {
                    axum::Json(json!({"access_token": format!("token-{n}"), "token_type": "bearer", "expires_in": 3600}))
                }
            }),
        )
        .route(
            "/api/v2/conversations/calls/{id}",
            get(|headers: axum::http::HeaderMap| async move {
                let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
                if auth == "Bearer token-1" {
                    // The first token is refused, as an expired one is.
                    return (StatusCode::UNAUTHORIZED, axum::Json(json!({"message": "expired", "code": "bad.credentials", "status": 401}))).into_response();
                }
                (StatusCode::OK, "{\"id\": 42, \"participants\": \"nope\"").into_response()
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (base, logins, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_refreshes_once_and_a_malformed_answer_names_the_endpoint() {
    let (base, logins, server) = tiny_server().await;
    let client = common::client_of(&base);
    let err = client.call("c1").await.unwrap_err();
    assert_eq!(
        logins.load(Ordering::SeqCst),
        2,
        "one refresh after the 401"
    );
    assert_eq!(err.kind, FailureKind::Malformed);
    assert!(
        err.to_string()
            .contains("GET /api/v2/conversations/calls/c1"),
        "{err}"
    );
    server.abort();
}

/// A platform whose WebSocket cannot be reached: the feed must say so and poll instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feed_falls_back_to_polling_without_a_socket() {
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead_uri = format!("ws://{}/channel", closed.local_addr().unwrap());
    drop(closed);
    let app = Router::new()
        .route(
            "/oauth/token",
            post(|| async { axum::Json(json!({"access_token": "t", "token_type": "bearer", "expires_in": 3600})) }),
        )
        .route(
            "/api/v2/routing/queues",
            get(|| async { axum::Json(json!({"entities": [{"id": "q1", "name": "Support"}], "pageCount": 1})) }),
        )
        .route(
            "/api/v2/analytics/conversations/details/query",
            post(|| async { axum::Json(json!({"conversations": [{"conversationId": "c1"}], "totalHits": 1})) }),
        )
        .route(
            "/api/v2/conversations/calls/{id}",
            get(|| async {
                axum::Json(json!({"id": "c1", "participants": [
                    {"id": "p1", "purpose": "customer", "state": "connected"},
                    {"id": "p2", "purpose": "agent", "state": "connected"},
                    {"id": "p3", "purpose": "agent", "state": "alerting"}
                ]}))
            }),
        )
        .route(
            "/api/v2/notifications/channels",
            post(move || {
                let uri = dead_uri.clone();
                async move { axum::Json(json!({"id": "ch1", "connectUri": uri})) }
            }),
        )
        .route(
            "/api/v2/notifications/channels/{id}/subscriptions",
            axum::routing::put(|| async {
                axum::Json(json!({"entities": [{"id": "v2.routing.queues.q1.conversations.calls", "state": "Permitted"}]}))
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let client = common::client_of(&base);
    let mut feed = watch(client, QueueSelection::All);
    let polling = next_matching(&mut feed, |e| {
        matches!(e, FeedEvent::Connection(ConnectionState::Polling { .. }))
    })
    .await;
    assert!(
        matches!(&polling, FeedEvent::Connection(ConnectionState::Polling { reason }) if reason.contains("WebSocket")),
        "{polling:?}"
    );
    let calls = next_resync(&mut feed).await;
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].id, "c1");
    drop(feed);
    server.abort();
}

/// Subscriptions are split over channels at 1,000 topics; a rejected topic becomes a warning.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_are_split_over_channels_and_rejections_reported() {
    let sizes = Arc::new(std::sync::Mutex::new(Vec::<usize>::new()));
    let seen = sizes.clone();
    let channels = Arc::new(AtomicUsize::new(0));
    let made = channels.clone();
    let app = Router::new()
        .route(
            "/oauth/token",
            post(|| async { axum::Json(json!({"access_token": "t", "token_type": "bearer", "expires_in": 3600})) }),
        )
        .route(
            "/api/v2/notifications/channels",
            post(move || {
                let n = made.fetch_add(1, Ordering::SeqCst);
                async move { axum::Json(json!({"id": format!("ch{n}"), "connectUri": "ws://127.0.0.1:9/x"})) }
            }),
        )
        .route(
            "/api/v2/notifications/channels/{id}/subscriptions",
            axum::routing::put(move |axum::Json(topics): axum::Json<Vec<serde_json::Value>>| {
                seen.lock().unwrap().push(topics.len());
                async move {
                    let entities: Vec<serde_json::Value> = topics
                        .iter()
                        .map(|t| {
                            if t["id"] == "v2.routing.queues.q7.conversations.calls" {
                                json!({"id": t["id"], "state": "Rejected", "rejectionReason": "no access", "missingPermissions": ["routing:queue:view"]})
                            } else {
                                json!({"id": t["id"], "state": "Permitted"})
                            }
                        })
                        .collect();
                    axum::Json(json!({ "entities": entities }))
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let client = common::client_of(&base);
    let topics: Vec<String> = (0..1001)
        .map(|i| confwatch::platform::queue_topic(&format!("q{i}")))
        .collect();
    let (opened, warnings) = client.open_channels(&topics).await.expect("channels");
    assert_eq!(opened.len(), 2);
    assert_eq!(*sizes.lock().unwrap(), vec![1000, 1]);
    assert_eq!(channels.load(Ordering::SeqCst), 2);
    assert_eq!(warnings.len(), 1);
    assert!(
        warnings[0].contains("q7") && warnings[0].contains("routing:queue:view"),
        "{warnings:?}"
    );
    server.abort();
}

/// A socket that goes silent (no heartbeat) counts as dead: the client reconnects and says so,
/// so its owner re-reads what the silence may have hidden.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_socket_trips_the_heartbeat_watchdog() {
    use axum::extract::ws::WebSocketUpgrade;
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = connections.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new()
        .route(
            "/oauth/token",
            post(|| async {
                axum::Json(json!({"access_token": "t", "token_type": "bearer", "expires_in": 3600}))
            }),
        )
        .route(
            "/api/v2/notifications/channels",
            post(move || async move {
                axum::Json(json!({"id": "ch1", "connectUri": format!("ws://{addr}/ws")}))
            }),
        )
        .route(
            "/api/v2/notifications/channels/{id}/subscriptions",
            axum::routing::put(|| async { axum::Json(json!({"entities": []})) }),
        )
        .route(
            "/ws",
            get(move |ws: WebSocketUpgrade| {
                counted.fetch_add(1, Ordering::SeqCst);
                async move {
                    // Accepts, reads, and never says a word.
                    ws.on_upgrade(|mut socket| async move {
                        while let Some(Ok(_)) = socket.recv().await {}
                    })
                }
            }),
        );
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let client = common::client_of(&format!("http://{addr}"));
    let mut signals = confwatch::platform::listen_with(
        client,
        vec!["v2.users.u1.conversations.calls".into()],
        Duration::from_millis(300),
    )
    .await
    .expect("listen")
    .events;
    use confwatch::platform::Signal;
    let mut next = async || {
        tokio::time::timeout(Duration::from_secs(30), signals.recv())
            .await
            .expect("a signal")
    };
    // Told at once that the socket is gone, then that it is back.
    assert_eq!(next().await, Some(Signal::Dropped));
    assert_eq!(next().await, Some(Signal::Reconnected));
    assert!(connections.load(Ordering::SeqCst) >= 2);
    drop(signals);
    server.abort();
}

/// The mock follows the platform's documented query rules: the queue list's `name` is the exact
/// name with leading/trailing `*` wildcards (not a prefix); the details query returns calls that
/// started on a day the interval touches, pages of at most 200, and with `analyticsLagSecs` a
/// new call shows only that long after it starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mock_follows_the_documented_query_rules() {
    use reqwest::Method;
    let h = Harness::start(json!({"rateLimitPerMinute": 300})).await;
    let names = |body: &serde_json::Value| -> Vec<String> {
        body["entities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| q["name"].as_str().unwrap().to_string())
            .collect()
    };
    for (filter, wanted) in [
        ("Sup", vec![]),
        ("Support", vec!["Support"]),
        ("Sup*", vec!["Support"]),
        ("*port", vec!["Support"]),
        ("*ale*", vec!["Sales"]),
    ] {
        let (status, body) = h
            .json(
                Method::GET,
                &format!("/api/v2/routing/queues?name={filter}"),
                None,
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(names(&body), wanted, "name={filter}");
    }

    let (call, _) = h.conference("connected").await;
    let query = |interval: String, size: i64| {
        json!({"interval": interval, "paging": {"pageSize": size, "pageNumber": 1},
               "conversationFilters": [{"type": "and", "predicates": [
                   {"type": "dimension", "dimension": "conversationEnd", "operator": "notExists"}]}]})
    };
    let path = "/api/v2/analytics/conversations/details/query";
    let today = chrono::Utc::now().date_naive();
    let day = |d: chrono::NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc()
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string()
    };
    let found = |body: &serde_json::Value| {
        body["conversations"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["conversationId"] == call.id.as_str()))
    };
    // An interval of one minute this morning touches today: the call that started now is in it.
    let early = format!(
        "{}/{}",
        day(today),
        day(today).replace("00:00:00", "00:01:00")
    );
    let (status, body) = h.json(Method::POST, path, Some(query(early, 200))).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        found(&body),
        "started on a day the interval touches: {body}"
    );
    // Yesterday only: not in it.
    let yesterday = format!("{}/{}", day(today.pred_opt().unwrap()), day(today));
    let (_, body) = h
        .json(Method::POST, path, Some(query(yesterday, 200)))
        .await;
    assert!(!found(&body), "{body}");
    // 200 a page at most.
    let whole = format!("{}/{}", day(today), day(today.succ_opt().unwrap()));
    let (status, _) = h
        .json(Method::POST, path, Some(query(whole.clone(), 201)))
        .await;
    assert_eq!(status, 400);

    // Analytics lags: a new call shows only after `analyticsLagSecs`.
    h.faults(json!({"analyticsLagSecs": 2})).await;
    let (late, _) = h.conference("connected").await;
    let (_, body) = h
        .json(Method::POST, path, Some(query(whole.clone(), 200)))
        .await;
    let has = |body: &serde_json::Value, id: &str| {
        body["conversations"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["conversationId"] == id))
    };
    assert!(!has(&body, &late.id), "too new for analytics");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (_, body) = h.json(Method::POST, path, Some(query(whole, 200))).await;
    assert!(has(&body, &late.id), "shown once the lag has passed");
    h.stop().await;
}
