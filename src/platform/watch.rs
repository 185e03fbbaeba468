//! The console's feed: queues, a snapshot of the active calls, then live events from the
//! Notifications API, with reconnects (and a re-read after each) and a polling fallback.

use std::time::Duration;

use futures::StreamExt;
use tokio::sync::mpsc;

use super::error::{ApiError, FailureKind};
use super::http::Client;
use super::models::{CallConversation, Queue};
use super::notifications::{self, Channels, Signal};
use crate::live::{ConnectionState, FeedEvent, RateBudget, Update};

/// Which queues to watch.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum QueueSelection {
    #[default]
    All,
    /// Queue names or ids.
    Named(Vec<String>),
}

/// Requests in flight at once while reading calls, when the budget has room.
const READ_CONCURRENCY: usize = 4;
/// A read has no deadline of its own: a wild `Retry-After` on a 5xx must not stall the feed.
const MAX_SERVER_WAIT: Duration = Duration::from_secs(30);
/// A call a snapshot could not read (transient failure) is read once more this much later.
const REREAD_AFTER: Duration = Duration::from_secs(2);
/// While no socket can be had, poll this long before trying the socket again.
const POLL_SPELL: Duration = Duration::from_secs(60);

/// Picks the selected queues; an unknown name or id is an error that names it.
pub fn select_queues(all: &[Queue], selection: &QueueSelection) -> Result<Vec<Queue>, String> {
    match selection {
        QueueSelection::All => Ok(all.to_vec()),
        QueueSelection::Named(wanted) => wanted
            .iter()
            .map(|w| {
                all.iter()
                    .find(|q| {
                        q.id == *w || q.name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(w))
                    })
                    .cloned()
                    .ok_or_else(|| format!("no queue named or with id {w:?}"))
            })
            .collect(),
    }
}

/// Reads the active calls of these queues: the analytics query, then a GET per call,
/// concurrently while the rate budget has room. A 429 waits its Retry-After; a call that ended
/// meanwhile (404) is skipped; any other failed GET fails the whole read (see
/// [`read_active_calls_skipping`] for a read that goes on without it).
pub async fn read_active_calls(
    client: &Client,
    queue_ids: &[String],
) -> Result<Vec<CallConversation>, ApiError> {
    let read = read_active_calls_skipping(client, queue_ids).await?;
    match read.failed.into_iter().next() {
        Some((_, error)) => Err(error),
        None => Ok(read.calls),
    }
}

/// The active calls that could be read, and the calls whose GET failed (other than 404).
#[derive(Debug, Default)]
pub struct ActiveCalls {
    pub calls: Vec<CallConversation>,
    /// Conversation id and why its GET failed (after the usual retries).
    pub failed: Vec<(String, ApiError)>,
}

/// As [`read_active_calls`], but one call that cannot be read does not sink the others.
pub async fn read_active_calls_skipping(
    client: &Client,
    queue_ids: &[String],
) -> Result<ActiveCalls, ApiError> {
    let ids = with_retry(|| client.active_conversation_ids(queue_ids)).await?;
    let concurrency = if budget_is_low(client.rate_budget(), ids.len()) {
        1
    } else {
        READ_CONCURRENCY
    };
    let results: Vec<(String, Result<CallConversation, ApiError>)> = futures::stream::iter(ids)
        .map(|id| async move {
            let result = with_retry(|| client.call(&id)).await;
            (id, result)
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let mut read = ActiveCalls::default();
    for (id, result) in results {
        match result {
            Ok(call) => read.calls.push(call),
            Err(e) if e.kind == FailureKind::NotFound => {}
            Err(e) => read.failed.push((id, e)),
        }
    }
    Ok(read)
}

fn budget_is_low(budget: RateBudget, needed: usize) -> bool {
    budget.allowed > 0 && (budget.remaining() as usize) < needed * 2
}

/// Retries a read on 429 (after exactly Retry-After) and on transient failures (short backoff,
/// or a 5xx's Retry-After when longer), a few times.
pub async fn with_retry<T, F, Fut>(mut request: F) -> Result<T, ApiError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ApiError>>,
{
    let mut tries = 0u32;
    loop {
        match request().await {
            Ok(value) => return Ok(value),
            Err(e) if tries < 4 && e.is_retryable() => {
                tries += 1;
                let delay = match e.kind {
                    FailureKind::RateLimited { retry_after } => retry_after,
                    // A 5xx's Retry-After is a floor under the backoff, as in the official SDKs.
                    _ => Duration::from_millis(100u64 << tries)
                        .mul_f64(rand::random::<f64>())
                        .max(
                            e.server_retry_after()
                                .unwrap_or_default()
                                .min(MAX_SERVER_WAIT),
                        ),
                };
                tracing::info!(error = %e, ?delay, "retrying a read");
                tokio::time::sleep(delay).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Spawns the feed; it stops when the receiver drops.
pub fn watch(client: Client, queues: QueueSelection) -> mpsc::Receiver<FeedEvent> {
    let (tx, rx) = mpsc::channel(1024);
    tokio::spawn(async move {
        let _ = Feed {
            client,
            tx,
            channels: Channels::default(),
        }
        .run(queues)
        .await;
    });
    rx
}

struct Feed {
    client: Client,
    tx: mpsc::Sender<FeedEvent>,
    /// Kept across listens: listening again reuses these rather than making channels.
    channels: Channels,
}

/// The receiver is gone: stop.
struct Stopped;

impl Feed {
    async fn send(&self, event: FeedEvent) -> Result<(), Stopped> {
        self.tx.send(event).await.map_err(|_| Stopped)
    }

    async fn offline(&self, reason: String, attempt: u32) -> Result<(), Stopped> {
        self.send(FeedEvent::Connection(ConnectionState::Offline { reason }))
            .await?;
        let delay = Duration::from_secs(1u64 << attempt.min(5));
        tokio::select! {
            _ = self.tx.closed() => Err(Stopped),
            _ = tokio::time::sleep(delay) => Ok(()),
        }
    }

    async fn run(&self, selection: QueueSelection) -> Result<(), Stopped> {
        self.send(FeedEvent::Connection(ConnectionState::Connecting))
            .await?;
        // 1. The queues (retried until they can be read).
        let mut attempt = 0;
        let queues = loop {
            match with_retry(|| self.client.queues()).await {
                Ok(all) => match select_queues(&all, &selection) {
                    Ok(queues) => break queues,
                    Err(e) => {
                        self.send(FeedEvent::Warning(e.clone())).await?;
                        self.send(FeedEvent::Connection(ConnectionState::Offline {
                            reason: e,
                        }))
                        .await?;
                        return Ok(());
                    }
                },
                Err(e) => {
                    attempt += 1;
                    self.offline(format!("reading queues: {e}"), attempt)
                        .await?;
                }
            }
        };
        let queue_ids: Vec<String> = queues.iter().map(|q| q.id.clone()).collect();
        // "All queues" leaves the queue filter out of the details query (one predicate per
        // queue could reach a request limit at hundreds of queues); topics still name each.
        let read_ids = match selection {
            QueueSelection::All => Vec::new(),
            QueueSelection::Named(_) => queue_ids.clone(),
        };
        self.send(FeedEvent::Model(Update::Queues(queues))).await?;
        let topics: Vec<String> = queue_ids
            .iter()
            .map(|id| notifications::queue_topic(id))
            .collect();

        // 2. Live events, with a re-read after every (re)connect; polling while no socket can be had.
        let mut reconnects = 0u32;
        loop {
            let mut events = match self.listen(&topics).await? {
                Ok(events) => events,
                Err(e) => {
                    self.poll_for_a_while(&read_ids, format!("no notifications: {e}"))
                        .await?;
                    continue;
                }
            };
            let (_, mut reread) = self.snapshot(&read_ids).await?;
            let mut reread_at = tokio::time::Instant::now() + REREAD_AFTER;
            self.send(FeedEvent::Connection(ConnectionState::Live))
                .await?;
            loop {
                let signal = tokio::select! {
                    _ = self.tx.closed() => return Err(Stopped),
                    _ = tokio::time::sleep_until(reread_at), if !reread.is_empty() => {
                        self.reread(std::mem::take(&mut reread)).await?;
                        continue;
                    }
                    signal = events.recv() => signal,
                };
                let Some(signal) = signal else { break };
                match signal {
                    Signal::Conversation(c) => {
                        self.send(FeedEvent::Model(Update::Conversation(c))).await?
                    }
                    Signal::Reconnected => {
                        reconnects += 1;
                        self.send(FeedEvent::Connection(ConnectionState::Reconnecting {
                            attempt: reconnects,
                        }))
                        .await?;
                        (_, reread) = self.snapshot(&read_ids).await?;
                        reread_at = tokio::time::Instant::now() + REREAD_AFTER;
                        self.send(FeedEvent::Connection(ConnectionState::Live))
                            .await?;
                    }
                    Signal::Warning(w) => self.send(FeedEvent::Warning(w)).await?,
                }
            }
            // Every socket gave up: listen again (on the same channels while they serve).
            reconnects += 1;
            self.send(FeedEvent::Connection(ConnectionState::Reconnecting {
                attempt: reconnects,
            }))
            .await?;
        }
    }

    /// Opens the notification channels. A 429 on the way is waited out (a few times) rather
    /// than taken as "no socket": polling would spend more of the same budget.
    async fn listen(
        &self,
        topics: &[String],
    ) -> Result<Result<mpsc::Receiver<Signal>, ApiError>, Stopped> {
        let mut tries = 0;
        loop {
            let listening = notifications::listen_on(
                self.client.clone(),
                topics.to_vec(),
                notifications::HEARTBEAT_TIMEOUT,
                self.channels.clone(),
            );
            match listening.await {
                Err(ApiError {
                    kind: FailureKind::RateLimited { retry_after },
                    ..
                }) if tries < 4 => {
                    tries += 1;
                    tokio::select! {
                        _ = self.tx.closed() => return Err(Stopped),
                        _ = tokio::time::sleep(retry_after) => {}
                    }
                }
                other => return Ok(other),
            }
        }
    }

    /// Re-reads every active call (`Update::Snapshot`); a failure is shown, not fatal, and a
    /// call that cannot be read is left out with a warning. Returns how many calls it read and
    /// the ids worth reading once more later (their failure was transient).
    async fn snapshot(&self, queue_ids: &[String]) -> Result<(usize, Vec<String>), Stopped> {
        let mut reread = Vec::new();
        let count = match read_active_calls_skipping(&self.client, queue_ids).await {
            Ok(read) => {
                let count = read.calls.len();
                self.send(FeedEvent::Model(Update::Snapshot(read.calls)))
                    .await?;
                for (id, e) in read.failed {
                    self.send(FeedEvent::Warning(format!("could not read call {id}: {e}")))
                        .await?;
                    if e.is_retryable() {
                        reread.push(id);
                    }
                }
                count
            }
            Err(e) => {
                self.send(FeedEvent::Warning(format!("re-reading calls: {e}")))
                    .await?;
                0
            }
        };
        self.send(FeedEvent::RateBudget(self.client.rate_budget()))
            .await?;
        Ok((count, reread))
    }

    /// The second (and last) try at calls a snapshot could not read.
    async fn reread(&self, ids: Vec<String>) -> Result<(), Stopped> {
        for id in ids {
            match with_retry(|| self.client.call(&id)).await {
                Ok(call) => {
                    self.send(FeedEvent::Model(Update::Conversation(call)))
                        .await?
                }
                Err(e) if e.kind == FailureKind::NotFound => {}
                Err(e) => {
                    self.send(FeedEvent::Warning(format!("could not read call {id}: {e}")))
                        .await?
                }
            }
        }
        Ok(())
    }

    /// Polls within the rate budget for `POLL_SPELL`, then lets the caller try the socket again.
    async fn poll_for_a_while(&self, queue_ids: &[String], reason: String) -> Result<(), Stopped> {
        self.send(FeedEvent::Warning(format!("{reason}; polling instead")))
            .await?;
        self.send(FeedEvent::Connection(ConnectionState::Polling { reason }))
            .await?;
        let until = tokio::time::Instant::now() + POLL_SPELL;
        while tokio::time::Instant::now() < until {
            // The next poll reads every call again anyway.
            let (calls, _) = self.snapshot(queue_ids).await?;
            let interval = poll_interval(self.client.rate_budget(), calls);
            tokio::select! {
                _ = self.tx.closed() => return Err(Stopped),
                _ = tokio::time::sleep(interval) => {}
            }
        }
        Ok(())
    }
}

/// Polling uses at most half the budget: each poll costs about one query per queue page plus a
/// GET per call; the platform's common limit is 300 a minute.
pub fn poll_interval(budget: RateBudget, calls_hint: usize) -> Duration {
    let allowed = if budget.allowed == 0 {
        300
    } else {
        budget.allowed
    } as f64;
    let per_poll = (calls_hint.max(1) + 1) as f64;
    let secs = per_poll * 60.0 / (allowed / 2.0);
    Duration::from_secs_f64(secs.clamp(5.0, 60.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue(id: &str, name: &str) -> Queue {
        Queue {
            id: id.into(),
            name: Some(name.into()),
            ..Default::default()
        }
    }

    #[test]
    fn queues_are_selected_by_name_or_id() {
        let all = vec![queue("q1", "Sales"), queue("q2", "Support")];
        let picked = select_queues(
            &all,
            &QueueSelection::Named(vec!["support".into(), "q1".into()]),
        )
        .unwrap();
        assert_eq!(
            picked.iter().map(|q| q.id.as_str()).collect::<Vec<_>>(),
            ["q2", "q1"]
        );
        let err = select_queues(&all, &QueueSelection::Named(vec!["Billing".into()])).unwrap_err();
        assert!(err.contains("Billing"));
    }

    /// A platform whose first channel request meets a 429 (Retry-After 0.2 s); then all is well.
    async fn platform_rate_limited_once() -> Client {
        use axum::routing::{get, post, put};
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let channel_requests = Arc::new(AtomicUsize::new(0));
        let (listener, addr) = crate::platform::fake::bind().await;
        let app = axum::Router::new()
            .route(
                "/api/v2/routing/queues",
                get(|| async {
                    axum::Json(serde_json::json!({"entities": [{"id": "q1", "name": "Support"}], "pageCount": 1}))
                }),
            )
            .route(
                "/api/v2/analytics/conversations/details/query",
                post(|| async { axum::Json(serde_json::json!({"conversations": [], "totalHits": 0})) }),
            )
            .route(
                "/api/v2/notifications/channels",
                post(move || async move {
                    if channel_requests.fetch_add(1, Ordering::SeqCst) == 0 {
                        return (
                            axum::http::StatusCode::TOO_MANY_REQUESTS,
                            [("retry-after", "0.2")],
                            r#"{"message":"Rate limit exceeded","code":"too.many.requests","status":429}"#.to_string(),
                        );
                    }
                    let body = serde_json::json!({"id": "ch1", "connectUri": format!("ws://{addr}/ws")});
                    (axum::http::StatusCode::OK, [("retry-after", "0")], body.to_string())
                }),
            )
            .route(
                "/api/v2/notifications/channels/{id}/subscriptions",
                put(|| async { axum::Json(serde_json::json!({"entities": []})) }),
            )
            .route(
                "/ws",
                get(|ws: axum::extract::ws::WebSocketUpgrade| async move {
                    ws.on_upgrade(|mut socket| async move { while let Some(Ok(_)) = socket.recv().await {} })
                }),
            );
        crate::platform::fake::serve(listener, app)
    }

    /// A 429 on the way to a socket is a wait, not a reason to poll (polling costs more budget).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_rate_limited_subscription_waits_and_goes_live_instead_of_polling() {
        let client = platform_rate_limited_once().await;
        let mut feed = watch(client, QueueSelection::All);
        // The guard only stops a hang.
        let state = tokio::time::timeout(Duration::from_secs(20), async {
            while let Some(event) = feed.recv().await {
                if let FeedEvent::Connection(
                    state @ (ConnectionState::Live | ConnectionState::Polling { .. }),
                ) = event
                {
                    return Some(state);
                }
            }
            None
        })
        .await;
        assert_eq!(state, Ok(Some(ConnectionState::Live)));
    }

    /// A platform with four active calls in one queue: c1 reads fine, c2 answers 503 to its
    /// first five GETs (more than one read's retries), c3 has ended (404), c4 is forbidden (403).
    /// Counts the GETs of each call.
    async fn platform_with_an_unreadable_call() -> (
        Client,
        std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, usize>>>,
    ) {
        use axum::extract::Path;
        use axum::http::StatusCode;
        use axum::routing::{get, post, put};
        use std::sync::{Arc, Mutex};
        let hits: Arc<Mutex<std::collections::HashMap<String, usize>>> = Arc::default();
        let counted = Arc::clone(&hits);
        let (listener, addr) = crate::platform::fake::bind().await;
        let app = axum::Router::new()
            .route(
                "/api/v2/routing/queues",
                get(|| async {
                    axum::Json(serde_json::json!({"entities": [{"id": "q1", "name": "Support"}], "pageCount": 1}))
                }),
            )
            .route(
                "/api/v2/analytics/conversations/details/query",
                post(|| async {
                    let conversations: Vec<_> = ["c1", "c2", "c3", "c4"]
                        .iter()
                        .map(|id| serde_json::json!({"conversationId": id}))
                        .collect();
                    axum::Json(serde_json::json!({"conversations": conversations, "totalHits": 4}))
                }),
            )
            .route(
                "/api/v2/conversations/calls/{id}",
                get(move |Path(id): Path<String>| async move {
                    let n = {
                        let mut hits = counted.lock().unwrap();
                        let n = hits.entry(id.clone()).or_default();
                        *n += 1;
                        *n
                    };
                    let call = serde_json::json!({"id": id, "participants": []}).to_string();
                    let fail = |status: StatusCode, code: &str| {
                        let body = serde_json::json!({"message": "no", "code": code, "status": status.as_u16()});
                        (status, body.to_string())
                    };
                    match id.as_str() {
                        "c2" if n <= 5 => fail(StatusCode::SERVICE_UNAVAILABLE, "service.unavailable"),
                        "c3" => fail(StatusCode::NOT_FOUND, "not.found"),
                        "c4" => fail(StatusCode::FORBIDDEN, "missing.any.permissions"),
                        _ => (StatusCode::OK, call),
                    }
                }),
            )
            .route(
                "/api/v2/notifications/channels",
                post(move || async move {
                    axum::Json(serde_json::json!({"id": "ch1", "connectUri": format!("ws://{addr}/ws")}))
                }),
            )
            .route(
                "/api/v2/notifications/channels/{id}/subscriptions",
                put(|| async { axum::Json(serde_json::json!({"entities": []})) }),
            )
            .route(
                "/ws",
                get(|ws: axum::extract::ws::WebSocketUpgrade| async move {
                    ws.on_upgrade(|mut socket| async move { while let Some(Ok(_)) = socket.recv().await {} })
                }),
            );
        let client = crate::platform::fake::serve(listener, app);
        (client, hits)
    }

    /// One call that cannot be read is left out with a warning naming it; the rest of the
    /// snapshot still applies; an ended call (404) is skipped silently; a transient failure is
    /// read once more later, a final one (403) is not.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_unreadable_call_is_skipped_with_a_warning_and_the_snapshot_still_applies() {
        let (client, hits) = platform_with_an_unreadable_call().await;
        let mut feed = watch(client, QueueSelection::All);
        let mut snapshot = None;
        let mut warnings = Vec::new();
        // The guard only stops a hang.
        let reread = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(event) = feed.recv().await {
                match event {
                    FeedEvent::Model(Update::Snapshot(calls)) if snapshot.is_none() => {
                        snapshot = Some(calls.iter().map(|c| c.id.clone()).collect::<Vec<_>>())
                    }
                    FeedEvent::Warning(w) => warnings.push(w),
                    FeedEvent::Model(Update::Conversation(c)) => return Some(c.id),
                    _ => {}
                }
            }
            None
        })
        .await;
        assert_eq!(
            snapshot,
            Some(vec!["c1".to_string()]),
            "warnings: {warnings:?}"
        );
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("c2") && w.contains("503")),
            "{warnings:?}"
        );
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("c4") && w.contains("403")),
            "{warnings:?}"
        );
        assert!(!warnings.iter().any(|w| w.contains("c3")), "{warnings:?}");
        assert_eq!(
            reread,
            Ok(Some("c2".to_string())),
            "the transient failure was re-read"
        );
        let hits = hits.lock().unwrap().clone();
        assert_eq!(
            hits.get("c2"),
            Some(&6),
            "five failed GETs, then the re-read"
        );
        assert_eq!(hits.get("c4"), Some(&1), "a 403 is not read again");
    }

    #[test]
    fn polling_stays_within_half_the_budget() {
        let budget = RateBudget {
            count: 0,
            allowed: 300,
            reset_secs: 60,
        };
        assert_eq!(poll_interval(budget, 1), Duration::from_secs(5));
        // 50 calls: 51 requests per poll, 150 a minute allowed → one poll every 20.4 s.
        let interval = poll_interval(budget, 50);
        assert!((interval.as_secs_f64() - 20.4).abs() < 0.01);
    }
}
