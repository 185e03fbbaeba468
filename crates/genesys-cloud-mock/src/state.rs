//! What the server shares between requests, the clock task and the sockets.

use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rand::Rng;
use rand::rngs::StdRng;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::auth::Auth;
use super::faults::Faults;
use super::hub::Hub;
use super::ids::new_id;
use super::requestlog::RequestLog;
use super::scenario::Scenario;
use super::simulation::roster::Simulation;
use super::world::World;

/// Everything behind the one lock. The lock is never held across an `.await`.
#[derive(Debug)]
pub(super) struct State {
    pub(crate) world: World,
    pub(crate) hub: Hub,
    pub(crate) auth: Auth,
    pub(crate) faults: Faults,
    pub(crate) rng: StdRng,
    pub(crate) simulation: Simulation,
}

impl State {
    /// Sends every change made since the last flush to the subscribers.
    pub(super) fn flush(&mut self) {
        let changed = self.world.take_changed();
        if changed.is_empty() {
            return;
        }
        let deliver_at = Instant::now() + Duration::from_millis(self.faults.event_latency_ms);
        for id in changed {
            if let Some(call) = self.world.call(&id) {
                self.hub.publish(call, deliver_at);
            }
        }
    }

    /// A uniformly random duration in `[min, max]` milliseconds.
    pub(super) fn random_ms(&mut self, range: [u64; 2]) -> Duration {
        Duration::from_millis(self.rng.random_range(range[0]..=range[1]))
    }

    /// A new id made from the seeded generator (so a seed gives the same world).
    pub(super) fn new_id(&mut self) -> String {
        new_id(&mut self.rng)
    }
}

#[derive(Debug)]
pub(super) struct Shared {
    state: Mutex<State>,
    log: Mutex<RequestLog>,
    pub(crate) scenario: Scenario,
    pub(crate) seed: u64,
    pub(crate) local_addr: SocketAddr,
    pub(crate) cancel: CancellationToken,
    pub(crate) tracker: TaskTracker,
}

impl Shared {
    pub(super) fn new(
        state: State,
        scenario: Scenario,
        seed: u64,
        local_addr: SocketAddr,
    ) -> Shared {
        Shared {
            state: Mutex::new(state),
            log: Mutex::new(RequestLog::default()),
            scenario,
            seed,
            local_addr,
            cancel: CancellationToken::new(),
            tracker: TaskTracker::new(),
        }
    }

    /// The state; a panic elsewhere while holding the lock does not stop the server.
    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn log(&self) -> MutexGuard<'_, RequestLog> {
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }
}
