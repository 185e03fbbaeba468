//! The console's feed: queues, a snapshot of the active calls, then live events from the
//! Notifications API, with reconnects (and a re-read after each) and a polling fallback.

use std::time::Duration;

use tokio::sync::mpsc;
use tracing::Instrument;

use crate::live::Update;
use crate::platform::analytics::{ActiveCallPages, PAGE_SIZE};
use crate::platform::notifications::{self, Channels, Signal};
use crate::platform::retry::{retry_delay, with_retry};
use crate::platform::{ApiError, Client, FailureKind, RateBudget};
use crate::wire::{CallConversation, Queue};

mod status;
pub use status::{AuthProblem, ConnectionState, FeedEvent, RateFigures, UnwatchedQueue};

/// Which queues to watch.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum QueueSelection {
    #[default]
    All,
    /// Queue names or ids.
    Named(Vec<String>),
}

impl QueueSelection {
    /// The queues given on the command line, else the profile's, else every queue.
    pub(crate) fn given_or_profile(given: &[String], profile: Vec<String>) -> Self {
        let wanted = if given.is_empty() {
            profile
        } else {
            given.to_vec()
        };
        if wanted.is_empty() {
            QueueSelection::All
        } else {
            QueueSelection::Named(wanted)
        }
    }
}

/// While no socket can be had, poll this long before trying the socket again.
const POLL_SPELL: Duration = Duration::from_secs(60);

/// Picks the selected queues; an unknown name or id is an error that names it.
pub(crate) fn select_queues(
    all: &[Queue],
    selection: &QueueSelection,
) -> Result<Vec<Queue>, String> {
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

/// Reads the active calls of these queues from the analytics query alone (pages of 200, each
/// retried on a transient failure): no call is read on its own.
pub async fn read_active_calls(
    client: &Client,
    queue_ids: &[String],
) -> Result<Vec<CallConversation>, ApiError> {
    let mut pages = ActiveCallPages::new(queue_ids);
    let mut calls = Vec::new();
    while let Some(page) = next_page(client, &mut pages).await? {
        calls.extend(page);
    }
    Ok(calls)
}

/// One page, retried on 429 and transient failures.
async fn next_page(
    client: &Client,
    pages: &mut ActiveCallPages,
) -> Result<Option<Vec<CallConversation>>, ApiError> {
    let mut tries = 0u32;
    loop {
        match pages.next(client).await {
            Ok(page) => return Ok(page),
            Err(e) if tries < 4 && e.is_retryable() => {
                tries += 1;
                let delay = retry_delay(&e, tries);
                tracing::info!(error = %e, ?delay, "retrying an analytics page");
                tokio::time::sleep(delay).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Spawns the feed; it stops when the receiver drops.
pub fn watch(client: Client, queues: QueueSelection) -> mpsc::Receiver<FeedEvent> {
    watch_with_reads(client, queues).0
}

/// Asks the feed to read one call exactly (`GET`), within the budget: for a conference the
/// console opens whose row is known only from analytics.
#[derive(Clone, Debug)]
pub(crate) struct CallReads(mpsc::Sender<String>);

impl CallReads {
    /// Queues a read of this conversation; dropped when many are already waiting.
    pub(crate) fn read(&self, conversation_id: &str) {
        let _ = self.0.try_send(conversation_id.to_string());
    }
}

/// As [`watch`], with a handle to ask for single calls to be read.
pub(crate) fn watch_with_reads(
    client: Client,
    queues: QueueSelection,
) -> (mpsc::Receiver<FeedEvent>, CallReads) {
    let (tx, rx) = mpsc::channel(1024);
    let (reads_tx, reads) = mpsc::channel(16);
    tokio::spawn(watch_auth(client.clone(), tx.clone()));
    tokio::spawn(async move {
        let _ = Feed {
            // Every request of the feed leaves the kicks' share of the budget alone.
            client: client.for_reads(),
            tx,
            channels: Channels::default(),
            reads: tokio::sync::Mutex::new(reads),
        }
        .run(queues)
        .instrument(tracing::info_span!("feed"))
        .await;
    });
    (rx, CallReads(reads_tx))
}

/// How often the token's health is looked at (no request: what the last ones found).
const AUTH_CHECK: Duration = Duration::from_millis(500);

/// Tells the console whenever the token stops (or starts again) to work, at once: the status
/// line must not say `live` on a token that is refused, or a sign-in that has ended.
async fn watch_auth(client: Client, tx: mpsc::Sender<FeedEvent>) {
    let mut said = None;
    loop {
        let now = client.auth_problem().map(AuthProblem::from_client);
        if now != said {
            if tx.send(FeedEvent::Auth(now.clone())).await.is_err() {
                return;
            }
            said = now;
        }
        tokio::select! {
            _ = tx.closed() => return,
            _ = tokio::time::sleep(AUTH_CHECK) => {}
        }
    }
}

struct Feed {
    client: Client,
    tx: mpsc::Sender<FeedEvent>,
    /// Kept across listens: listening again reuses these rather than making channels.
    channels: Channels,
    reads: tokio::sync::Mutex<mpsc::Receiver<String>>,
}

/// A re-sync running beside the event loop; stopped when a newer one starts (or the feed ends).
struct Resync(Option<tokio::task::JoinHandle<()>>);

impl Resync {
    /// Stops it and waits until it has, so none of its pages (or its end) can land inside the
    /// next re-sync.
    async fn stop(mut self) {
        if let Some(task) = self.0.take() {
            task.abort();
            let _ = task.await;
        }
    }
}

impl Drop for Resync {
    fn drop(&mut self) {
        if let Some(task) = &self.0 {
            task.abort();
        }
    }
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
        let delay = crate::platform::retry::FEED_RETRY.delay(attempt, rand::random());
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
        self.send(FeedEvent::Model(Update::Queues(queues.clone())))
            .await?;
        let topics: Vec<String> = queue_ids
            .iter()
            .map(|id| notifications::queue_topic(id))
            .collect();

        // 2. Live events, with a re-sync from analytics after every (re)connect, run beside the
        //    events so neither waits for the other; polling while no socket can be had.
        let mut reconnects = 0u32;
        let mut unwatched = Vec::new();
        let mut reads = self.reads.lock().await;
        loop {
            let listening = self
                .listen(&topics)
                .instrument(tracing::info_span!("listen", attempt = reconnects));
            let mut events = match listening.await? {
                Ok(events) => events,
                Err(e) => {
                    self.poll_for_a_while(&read_ids, format!("no notifications: {e}"))
                        .await?;
                    continue;
                }
            };
            self.tell_unwatched(&queues, &mut unwatched).await?;
            let mut resync = self.start_resync(&read_ids).await?;
            self.send(FeedEvent::Connection(ConnectionState::Live))
                .await?;
            loop {
                let signal = tokio::select! {
                    _ = self.tx.closed() => return Err(Stopped),
                    Some(id) = reads.recv() => {
                        self.read_one(id);
                        continue;
                    }
                    signal = events.recv() => signal,
                };
                let Some(signal) = signal else { break };
                match signal {
                    Signal::Conversation(c) => {
                        self.send(FeedEvent::Model(Update::Conversation(c))).await?
                    }
                    Signal::Dropped => {
                        reconnects += 1;
                        self.send(FeedEvent::Connection(ConnectionState::Reconnecting {
                            attempt: reconnects,
                        }))
                        .await?;
                    }
                    Signal::Reconnected => {
                        // Said again now the socket is back, so waiting kicks re-read what
                        // the gap hid (the console re-reads on every "reconnecting").
                        self.send(FeedEvent::Connection(ConnectionState::Reconnecting {
                            attempt: reconnects.max(1),
                        }))
                        .await?;
                        std::mem::replace(&mut resync, Resync(None)).stop().await;
                        resync = self.start_resync(&read_ids).await?;
                        self.send(FeedEvent::Connection(ConnectionState::Live))
                            .await?;
                    }
                    Signal::Warning(w) => {
                        self.send(FeedEvent::Warning(w)).await?;
                        // A warning may be a new channel's refused topics.
                        self.tell_unwatched(&queues, &mut unwatched).await?;
                    }
                    Signal::ChannelNotice(w) => {
                        self.send(FeedEvent::ChannelNotice(w)).await?;
                        // A new channel: its refused topics may differ.
                        self.tell_unwatched(&queues, &mut unwatched).await?;
                    }
                }
            }
            // Every socket gave up: listen again (on the same channels while they serve).
            resync.stop().await;
            reconnects += 1;
            self.send(FeedEvent::Connection(ConnectionState::Reconnecting {
                attempt: reconnects,
            }))
            .await?;
        }
    }

    /// Tells the console which queues the platform refused to send events for, when that
    /// changed since `told`.
    async fn tell_unwatched(
        &self,
        queues: &[Queue],
        told: &mut Vec<UnwatchedQueue>,
    ) -> Result<(), Stopped> {
        let refused = self.channels.refused();
        let now: Vec<UnwatchedQueue> = queues
            .iter()
            .filter_map(|queue| {
                let topic = notifications::queue_topic(&queue.id);
                let refusal = refused.iter().find(|r| r.topic == topic)?;
                Some(UnwatchedQueue {
                    queue_id: queue.id.clone(),
                    name: queue.name.clone().unwrap_or_else(|| queue.id.clone()),
                    reason: refusal.reason.clone(),
                })
            })
            .collect();
        if now != *told {
            *told = now.clone();
            self.send(FeedEvent::Unwatched(now)).await?;
        }
        Ok(())
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

    /// Starts a re-sync from analytics beside the event loop (the old one, if any, stops).
    async fn start_resync(&self, queue_ids: &[String]) -> Result<Resync, Stopped> {
        // Sent here, in order with the events, so an event after it counts as newer.
        self.send(FeedEvent::Model(Update::ResyncStarted)).await?;
        let (client, tx, queue_ids) = (self.client.clone(), self.tx.clone(), queue_ids.to_vec());
        Ok(Resync(Some(tokio::spawn(async move {
            if resync_pages(&client, &tx, &queue_ids).await.is_ok() {
                catch_up(&client, &tx, &queue_ids).await;
            }
        }))))
    }

    /// A single call read exactly, in its own task so events keep flowing.
    fn read_one(&self, id: String) {
        let (client, tx) = (self.client.clone(), self.tx.clone());
        tokio::spawn(async move {
            let event = match with_retry(|| client.call(&id)).await {
                Ok(call) => FeedEvent::Model(Update::Conversation(call)),
                Err(e) if e.kind == FailureKind::NotFound => return,
                Err(e) => FeedEvent::Warning(format!("could not read call {id}: {e}")),
            };
            let _ = tx.send(event).await;
        });
    }

    /// Polls within the rate budget for `POLL_SPELL`, then lets the caller try the socket again.
    /// A read that works after one that did not ends the spell at once: the platform is back,
    /// so the socket is tried now and the status line does not keep an old reason.
    async fn poll_for_a_while(&self, queue_ids: &[String], reason: String) -> Result<(), Stopped> {
        self.send(FeedEvent::Warning(format!("{reason}; polling instead")))
            .await?;
        self.send(FeedEvent::Connection(ConnectionState::Polling { reason }))
            .await?;
        let until = tokio::time::Instant::now() + POLL_SPELL;
        let mut unreachable = false;
        while tokio::time::Instant::now() < until {
            self.send(FeedEvent::Model(Update::ResyncStarted)).await?;
            let calls = match resync_pages(&self.client, &self.tx, queue_ids).await? {
                Some(_) if unreachable => return Ok(()),
                Some(calls) => calls,
                None => {
                    unreachable = true;
                    0
                }
            };
            let interval = poll_interval(self.client.rate_budget(), calls);
            tokio::select! {
                _ = self.tx.closed() => return Err(Stopped),
                _ = tokio::time::sleep(interval) => {}
            }
        }
        Ok(())
    }
}

/// Reads every page of the active calls into the feed (`ResyncPage` each, then `ResyncDone`,
/// or `ResyncAbandoned` with a warning when a page cannot be read). Returns how many calls,
/// None when a page could not be read.
async fn resync_pages(
    client: &Client,
    tx: &mpsc::Sender<FeedEvent>,
    queue_ids: &[String],
) -> Result<Option<usize>, Stopped> {
    let send = |event| async { tx.send(event).await.map_err(|_| Stopped) };
    let mut pages = ActiveCallPages::new(queue_ids);
    let mut count = 0;
    loop {
        match next_page(client, &mut pages).await {
            Ok(Some(calls)) => {
                count += calls.len();
                send(FeedEvent::Model(Update::ResyncPage(calls))).await?;
                send(FeedEvent::RateBudget(client.rate_budget().into())).await?;
            }
            Ok(None) => {
                send(FeedEvent::Model(Update::ResyncDone)).await?;
                return Ok(Some(count));
            }
            Err(e) => {
                send(FeedEvent::Model(Update::ResyncAbandoned)).await?;
                send(FeedEvent::Warning(format!("re-reading calls: {e}"))).await?;
                return Ok(None);
            }
        }
    }
}

/// After a (re)connect's re-sync, the newest page of active calls is read again at these
/// times: analytics lags the world (a few seconds, the mock's fault up to 60 s), so a quiet call
/// that started just before the connect may be missing from the first read, and no event may
/// come for it. One request each; every live conference is on screen within 70 s.
const CATCH_UP_AFTER: [Duration; 4] = [
    Duration::from_secs(10),
    Duration::from_secs(20),
    Duration::from_secs(40),
    Duration::from_secs(70),
];

/// The catch-up reads (see [`CATCH_UP_AFTER`]), each retried as any read is; ends with the
/// feed or when one fails for good. A read that still fails on something passing (no answer,
/// 5xx, 429) leaves the later ones to run: these reads come seconds apart, so a kept-alive
/// connection the server has just closed is a common first failure, and ending there would
/// leave a quiet call off the screen for good.
async fn catch_up(client: &Client, tx: &mpsc::Sender<FeedEvent>, queue_ids: &[String]) {
    let start = tokio::time::Instant::now();
    for after in CATCH_UP_AFTER {
        tokio::select! {
            _ = tx.closed() => return,
            _ = tokio::time::sleep_until(start + after) => {}
        }
        let newest =
            with_retry(|| crate::platform::analytics::newest_active_calls(client, queue_ids));
        match newest.await {
            Ok(calls) if calls.is_empty() => {}
            Ok(calls) => {
                if tx
                    .send(FeedEvent::Model(Update::Discovered(calls)))
                    .await
                    .is_err()
                {
                    return;
                }
            }
            Err(e) if e.is_retryable() => {
                tracing::info!(error = %e, "catching up on lagging analytics; again at the next time");
            }
            Err(e) => {
                tracing::info!(error = %e, "catching up on lagging analytics");
                return;
            }
        }
    }
}

/// Polling uses at most half the budget: each poll costs one query per page of 200 calls; the
/// platform's common limit is 300 a minute.
pub(crate) fn poll_interval(budget: RateBudget, calls_hint: usize) -> Duration {
    let allowed = if budget.allowed == 0 {
        300
    } else {
        budget.allowed
    } as f64;
    let per_poll = (calls_hint / PAGE_SIZE as usize + 1) as f64;
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

    /// The platform is unreachable for the socket and the reads, then back: the first read that
    /// works ends the polling spell, and the socket is tried next (the fake's log shows the
    /// channel request right after that read, not another poll), so no stale "polling" stays.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn polling_ends_when_the_platform_answers_again() {
        use axum::routing::{get, post};
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::{Arc, Mutex};
        let up = Arc::new(AtomicBool::new(false));
        let log: Arc<Mutex<Vec<(&'static str, bool)>>> = Arc::default();
        let (query_up, query_log, channel_log) =
            (Arc::clone(&up), Arc::clone(&log), Arc::clone(&log));
        let (listener, _addr) = crate::platform::fake::bind().await;
        let app = axum::Router::new()
            .route(
                "/api/v2/routing/queues",
                get(|| async {
                    axum::Json(serde_json::json!({"entities": [{"id": "q1", "name": "Support"}], "pageCount": 1}))
                }),
            )
            .route(
                "/api/v2/analytics/conversations/details/query",
                post(move || async move {
                    let up = query_up.load(Ordering::SeqCst);
                    query_log.lock().unwrap().push(("query", up));
                    if up {
                        (axum::http::StatusCode::OK, r#"{"conversations": [], "totalHits": 0}"#)
                    } else {
                        (axum::http::StatusCode::BAD_REQUEST, r#"{"message":"down","code":"bad.request","status":400}"#)
                    }
                }),
            )
            .route(
                "/api/v2/notifications/channels",
                post(move || async move {
                    channel_log.lock().unwrap().push(("channel", false));
                    (axum::http::StatusCode::BAD_REQUEST, r#"{"message":"down","code":"bad.request","status":400}"#)
                }),
            );
        let client = crate::platform::fake::serve(listener, app);
        let mut feed = watch(client, QueueSelection::All);
        // Polling, and its first read failed: the platform comes back. (The guards only stop a
        // hang; they outlast the 60 s spell, so the order below is what decides.)
        let guard = Duration::from_secs(120);
        tokio::time::timeout(guard, async {
            while let Some(event) = feed.recv().await {
                if event == FeedEvent::Model(Update::ResyncAbandoned) {
                    return;
                }
            }
        })
        .await
        .expect("a failed poll");
        up.store(true, Ordering::SeqCst);
        // The next channel request (the socket tried again) ends the wait.
        tokio::time::timeout(guard, async {
            loop {
                let seen = log
                    .lock()
                    .unwrap()
                    .iter()
                    .skip_while(|e| !e.1)
                    .any(|e| e.0 == "channel");
                if seen {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await
        .expect("the socket tried again");
        let after: Vec<_> = log
            .lock()
            .unwrap()
            .iter()
            .skip_while(|e| !e.1)
            .copied()
            .collect();
        assert_eq!(
            after[..2],
            [("query", true), ("channel", false)],
            "{after:?}"
        );
        drop(feed);
    }

    /// A platform whose analytics query answers a full page of 200 calls, then a short page
    /// that repeats 50 of them (pages shift) while `totalHits` claims 10; counts the queries
    /// and any call GET.
    async fn platform_with_shifting_pages()
    -> (Client, std::sync::Arc<std::sync::Mutex<(usize, usize)>>) {
        use axum::routing::{get, post};
        use std::sync::{Arc, Mutex};
        let counts: Arc<Mutex<(usize, usize)>> = Arc::default();
        let (queries, gets) = (Arc::clone(&counts), Arc::clone(&counts));
        let (listener, _addr) = crate::platform::fake::bind().await;
        let app = axum::Router::new()
            .route(
                "/api/v2/analytics/conversations/details/query",
                post(move |axum::Json(body): axum::Json<serde_json::Value>| async move {
                    queries.lock().unwrap().0 += 1;
                    let page = body["paging"]["pageNumber"].as_i64().unwrap_or(1);
                    let ids = if page == 1 { 0..200 } else { 150..250 };
                    let conversations: Vec<_> = ids
                        .map(|n| serde_json::json!({
                            "conversationId": format!("c{n}"),
                            "participants": [{"participantId": format!("p{n}"), "purpose": "customer",
                                "sessions": [{"mediaType": "voice", "segments": [
                                    {"segmentType": "interact", "segmentStart": "2026-12-03T10:00:00.000Z"}]}]}]
                        }))
                        .collect();
                    axum::Json(serde_json::json!({"conversations": conversations, "totalHits": 10}))
                }),
            )
            .route(
                "/api/v2/conversations/calls/{id}",
                get(move || async move {
                    gets.lock().unwrap().1 += 1;
                    axum::http::StatusCode::NOT_FOUND
                }),
            );
        (crate::platform::fake::serve(listener, app), counts)
    }

    /// Pages are read until a short one, whatever `totalHits` says; a call repeated on a later
    /// page is kept once; no call is read on its own.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn active_calls_come_from_analytics_pages_deduplicated_with_no_get_per_call() {
        let (client, counts) = platform_with_shifting_pages().await;
        let calls = read_active_calls(&client.for_reads(), &[]).await.unwrap();
        assert_eq!(calls.len(), 250);
        let unique: std::collections::HashSet<_> = calls.iter().map(|c| c.id.clone()).collect();
        assert_eq!(unique.len(), 250);
        assert_eq!(
            calls[0].participants[0].id, "p0",
            "participant ids as analytics gives them"
        );
        assert_eq!(*counts.lock().unwrap(), (2, 0), "(queries, call GETs)");
    }

    /// A catch-up read that fails on something passing (here a 503; on the mock, often a
    /// kept-alive connection it closed while idle) is tried again: the call it finds still
    /// reaches the screen, at the first catch-up rather than never.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_catch_up_read_is_tried_again() {
        use axum::routing::post;
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let queries = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&queries);
        let (listener, _addr) = crate::platform::fake::bind().await;
        let app = axum::Router::new().route(
            "/api/v2/analytics/conversations/details/query",
            post(move || async move {
                if counted.fetch_add(1, Ordering::SeqCst) == 0 {
                    return (
                        axum::http::StatusCode::SERVICE_UNAVAILABLE,
                        r#"{"message":"busy","code":"service.unavailable","status":503}"#,
                    );
                }
                (
                    axum::http::StatusCode::OK,
                    r#"{"conversations": [{"conversationId": "c1", "participants": [{"participantId": "p1", "purpose": "customer",
                        "sessions": [{"mediaType": "voice", "segments": [
                            {"segmentType": "interact", "segmentStart": "2026-12-03T10:00:00.000Z"}]}]}]}], "totalHits": 1}"#,
                )
            }),
        );
        let client = crate::platform::fake::serve(listener, app).for_reads();
        let (tx, mut rx) = mpsc::channel(16);
        tokio::spawn(async move { catch_up(&client, &tx, &[]).await });
        // The guard only stops a hang: the first catch-up is 10 s in.
        let found = tokio::time::timeout(Duration::from_secs(60), rx.recv()).await;
        let Ok(Some(FeedEvent::Model(Update::Discovered(calls)))) = found else {
            panic!("no call found after the failed read: {found:?}");
        };
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].id, "c1");
        assert_eq!(
            queries.load(Ordering::SeqCst),
            2,
            "the failed read, then again"
        );
    }

    #[test]
    fn polling_stays_within_half_the_budget() {
        let budget = RateBudget {
            count: 0,
            allowed: 300,
            reset_secs: 60,
        };
        assert_eq!(poll_interval(budget, 1), Duration::from_secs(5));
        // 10,000 calls: 51 pages per poll, 150 a minute allowed → one poll every 20.4 s.
        let interval = poll_interval(budget, 10_000);
        assert!((interval.as_secs_f64() - 20.4).abs() < 0.01);
    }
}
