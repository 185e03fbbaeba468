//! The mock's accept loop: HTTP/1.1 with header-read and body-read timeouts, an idle timeout and a cap on
//! open connections. When the cap is reached, the connection that has waited longest without a
//! request in progress is closed to make room, so idle or trickling peers cannot starve real
//! requests (axum::serve has none of these).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use super::faults::{AnswerDropped, LostAnswer};

/// How many connections the mock keeps open, and how long it waits for them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerLimits {
    /// Open HTTP connections (WebSockets, once upgraded, are bounded by the channels instead).
    pub max_connections: usize,
    /// A request's headers must arrive within this. hyper also runs this timer while a
    /// kept-alive connection waits for its next request, so it is the idle limit in practice
    /// between requests (seen in the tests' logs: a read after 10 s idle met a closed
    /// connection; hyperium/hyper#3828 discusses it).
    pub header_read_timeout: Duration,
    /// A connection with no request in progress for this long is closed (between requests the
    /// header-read timer usually ends it first).
    pub idle_timeout: Duration,
    /// A request's body must arrive within this of its headers; a late one is an error (and
    /// the connection closes), so a slow body cannot hold a slot as a busy request.
    pub body_read_timeout: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            // Well below the common 1,024 file descriptors per process.
            max_connections: 512,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            body_read_timeout: Duration::from_secs(10),
        }
    }
}

/// Request line and headers at most this large (hyper's default is about 400 KB).
const MAX_HEAD_BYTES: usize = 64 * 1024;

#[derive(Debug)]
struct Slot {
    in_flight: usize,
    last_active: Instant,
    close: CancellationToken,
}

/// The open connections, by number.
#[derive(Debug, Default)]
struct Registry {
    next: u64,
    slots: HashMap<u64, Slot>,
}

type SharedRegistry = Arc<Mutex<Registry>>;

fn lock(registry: &SharedRegistry) -> std::sync::MutexGuard<'_, Registry> {
    registry.lock().unwrap_or_else(|e| e.into_inner())
}

impl Registry {
    /// Makes room for one more connection; false when every open one is busy.
    fn make_room(&mut self, max: usize) -> bool {
        while self.slots.len() >= max.max(1) {
            let oldest_idle = self
                .slots
                .iter()
                .filter(|(_, s)| s.in_flight == 0)
                .min_by_key(|(_, s)| s.last_active)
                .map(|(id, _)| *id);
            let Some(id) = oldest_idle else {
                return false;
            };
            if let Some(slot) = self.slots.remove(&id) {
                slot.close.cancel();
            }
        }
        true
    }

    fn open(&mut self) -> (u64, CancellationToken) {
        self.next += 1;
        let close = CancellationToken::new();
        self.slots.insert(
            self.next,
            Slot {
                in_flight: 0,
                last_active: Instant::now(),
                close: close.clone(),
            },
        );
        (self.next, close)
    }

    /// When the connection falls idle for too long; `None` while a request is in progress.
    fn idle_deadline(&self, id: u64, idle: Duration) -> Option<Instant> {
        self.slots
            .get(&id)
            .filter(|s| s.in_flight == 0)
            .map(|s| s.last_active + idle)
    }
}

/// Marks one request in progress on a connection until dropped (also when the peer goes away).
struct InFlight {
    registry: SharedRegistry,
    id: u64,
}

impl InFlight {
    fn start(registry: &SharedRegistry, id: u64) -> InFlight {
        if let Some(slot) = lock(registry).slots.get_mut(&id) {
            slot.in_flight += 1;
            slot.last_active = Instant::now();
        }
        InFlight {
            registry: registry.clone(),
            id,
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Some(slot) = lock(&self.registry).slots.get_mut(&self.id) {
            slot.in_flight = slot.in_flight.saturating_sub(1);
            slot.last_active = Instant::now();
        }
    }
}

/// `body`, ended with an error once `limit` has passed since its headers came: a peer that
/// sends a `Content-Length` and then nothing (or a byte at a time) gets a 400 and the
/// connection closes, as a late header does.
fn with_deadline(body: Incoming, limit: Duration) -> Body {
    use futures::StreamExt;
    let deadline = tokio::time::Instant::now() + limit;
    let chunks = Body::new(body).into_data_stream();
    let bounded = futures::stream::unfold(Some(chunks), move |chunks| async move {
        let mut chunks = chunks?;
        match tokio::time::timeout_at(deadline, chunks.next()).await {
            Ok(Some(chunk)) => Some((chunk.map_err(std::io::Error::other), Some(chunks))),
            Ok(None) => None,
            Err(_) => {
                tracing::info!("mock: a request body was late; the connection is closed");
                let late = std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "the request body did not arrive in time",
                );
                Some((Err(late), None))
            }
        }
    });
    Body::from_stream(bounded)
}

/// Serves `app` until `cancel`; dropping (aborting) this future closes every connection.
pub(super) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ServerLimits,
    cancel: CancellationToken,
) {
    let registry: SharedRegistry = Arc::default();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(MAX_HEAD_BYTES);
    let mut connections = JoinSet::new();
    // One permit per open socket, held by its task until the socket is dropped: an evicted
    // connection's socket is really closed before a new one is accepted, so the mock never holds
    // more than `max_connections`, not even for the moment an eviction takes.
    let sockets = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    loop {
        while connections.try_join_next().is_some() {}
        let permit = match sockets.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                // Full: close the longest-idle connection (none while all are busy) and wait
                // for a socket to close; new clients wait in the listen backlog meanwhile.
                lock(&registry).make_room(limits.max_connections);
                let acquired = tokio::select! {
                    _ = cancel.cancelled() => break,
                    acquired = sockets.clone().acquire_owned() => acquired,
                };
                let Ok(permit) = acquired else { break };
                permit
            }
        };
        let accepted = tokio::select! {
            _ = cancel.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors, most likely: wait a little rather than spin.
                tracing::warn!("mock: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // Small frames go out at once (Nagle's algorithm would hold them up to ~40 ms).
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!("mock: cannot set TCP_NODELAY: {e}");
        }
        let (id, close) = {
            let mut open = lock(&registry);
            if !open.make_room(limits.max_connections) {
                tracing::warn!("mock: every connection is busy; refusing a new one");
                continue;
            }
            open.open()
        };
        let service = {
            let registry = registry.clone();
            let app = app.clone();
            hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
                let guard = InFlight::start(&registry, id);
                let app = app.clone();
                let request = request.map(|body| with_deadline(body, limits.body_read_timeout));
                async move {
                    let response = app.oneshot(request).await;
                    drop(guard);
                    match response {
                        // `lostAnswerRate`: an error here makes hyper close the connection
                        // without writing the answer.
                        Ok(response) if response.extensions().get::<LostAnswer>().is_some() => {
                            Err(AnswerDropped)
                        }
                        Ok(response) => Ok(response),
                        Err(never) => match never {},
                    }
                }
            })
        };
        let connection = http
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades();
        let registry = registry.clone();
        let cancel = cancel.clone();
        connections.spawn(async move {
            let _socket = permit;
            tokio::pin!(connection);
            let mut shutting_down = false;
            loop {
                let deadline = lock(&registry).idle_deadline(id, limits.idle_timeout);
                let wake = deadline.unwrap_or_else(|| Instant::now() + limits.idle_timeout);
                tokio::select! {
                    _ = &mut connection => break,
                    _ = close.cancelled() => break,
                    _ = cancel.cancelled(), if !shutting_down => {
                        shutting_down = true;
                        connection.as_mut().graceful_shutdown();
                    }
                    _ = tokio::time::sleep_until(wake.into()) => {
                        let idle = lock(&registry)
                            .idle_deadline(id, limits.idle_timeout)
                            .is_some_and(|d| d <= Instant::now());
                        if idle {
                            break;
                        }
                    }
                }
            }
            lock(&registry).slots.remove(&id);
        });
    }
    // Let busy connections finish briefly; the caller aborts this task after its own wait.
    while connections.join_next().await.is_some() {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_registry_closes_the_longest_idle_connection_and_never_a_busy_one() {
        let mut registry = Registry::default();
        let (first, first_close) = registry.open();
        let (second, _) = registry.open();
        registry.slots.get_mut(&second).unwrap().in_flight = 1;
        assert!(registry.make_room(2));
        assert!(first_close.is_cancelled());
        assert!(!registry.slots.contains_key(&first));
        assert!(registry.slots.contains_key(&second));
        let (_, _) = registry.open();
        registry.slots.values_mut().for_each(|s| s.in_flight = 1);
        assert!(!registry.make_room(2), "busy connections are never closed");
    }
}
