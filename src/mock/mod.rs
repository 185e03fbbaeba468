//! The mock Genesys Cloud platform (axum): the platform's HTTP and WebSocket API over a
//! simulated contact center, with faults and a control API under `/mock/`.
//! Each platform behaviour simulated here has its source and certainty in `docs/platform.md`.
//!
//! One module per job: `routes` (platform API and the layer in front of it), `auth` (clients,
//! tokens, permissions, rate limit), `world` (calls and legs), `simulation` (the world in
//! motion), `scenario` (files), `faults`, `notifications` (channels and sockets), `control`
//! (`/mock/`), `shapes` (JSON shapes), `requestlog`, `errors`, `state`, `cli`.

mod auth;
mod cli;
mod control;
mod errors;
mod faults;
mod notifications;
mod requestlog;
mod routes;
mod scenario;
mod shapes;
mod simulation;
mod state;
mod world;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use color_eyre::eyre::{Result, WrapErr};
use tokio::task::JoinHandle;

pub use cli::{MockArgs, run};
pub use faults::{Faults, TransitionLock};
pub use requestlog::LoggedRequest;
pub use scenario::Scenario;

use auth::{Auth, Client};
use state::Shared;

/// How often the world moves and due changes are applied.
const TICK: Duration = Duration::from_millis(10);

/// Where and what the mock serves.
#[derive(Clone, Debug)]
pub struct MockOptions {
    pub bind: IpAddr,
    /// 0 picks a free port.
    pub port: u16,
    pub scenario: Scenario,
    /// Overrides the scenario's seed.
    pub seed: Option<u64>,
}

impl MockOptions {
    /// 127.0.0.1 on a free port.
    pub fn loopback(scenario: Scenario) -> Self {
        MockOptions {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            scenario,
            seed: None,
        }
    }
}

/// A running mock platform. Stop it with [`MockServer::shutdown`].
pub struct MockServer {
    shared: Arc<Shared>,
    client_id: String,
    client_secret: String,
    server: JoinHandle<()>,
}

impl fmt::Debug for MockServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockServer")
            .field("base_url", &self.base_url())
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .finish()
    }
}

fn random_secret() -> String {
    format!("{}", uuid::Uuid::new_v4().simple())
}

impl MockServer {
    /// Binds, builds the scenario's world and starts serving.
    pub async fn start(options: MockOptions) -> Result<MockServer> {
        Self::start_with_main_client(options, None).await
    }

    /// As [`MockServer::start`], with the main client's id and secret given.
    pub async fn start_with_main_client(
        options: MockOptions,
        main_client: Option<(String, String)>,
    ) -> Result<MockServer> {
        let scenario = options.scenario;
        scenario.validate()?;
        let seed = options.seed.unwrap_or(scenario.seed);
        let mut clients: Vec<Client> = scenario
            .clients
            .iter()
            .map(|c| Client {
                id: c.id.clone(),
                secret: c.secret.clone().unwrap_or_else(random_secret),
                permissions: c.permissions.clone(),
            })
            .collect();
        if let (Some((id, secret)), Some(main)) = (main_client, clients.first_mut()) {
            main.id = id;
            main.secret = secret;
        }
        let Some(main) = clients.first() else {
            color_eyre::eyre::bail!("a scenario needs at least one OAuth client");
        };
        let client_id = main.id.clone();
        let client_secret = main.secret.clone();

        let listener = tokio::net::TcpListener::bind(SocketAddr::new(options.bind, options.port))
            .await
            .wrap_err_with(|| format!("cannot bind {}:{}", options.bind, options.port))?;
        let local_addr = listener.local_addr()?;
        let state = simulation::initial_state(&scenario, seed, Auth::new(clients));
        let shared = Arc::new(Shared::new(state, scenario, seed, local_addr));

        let app =
            routes::platform_router(shared.clone()).merge(control::control_router(shared.clone()));
        let cancel = shared.cancel.clone();
        // Small frames go out at once (Nagle's algorithm would hold them up to ~40 ms).
        let listener = axum::serve::ListenerExt::tap_io(listener, |stream| {
            if let Err(e) = stream.set_nodelay(true) {
                tracing::debug!("mock: cannot set TCP_NODELAY: {e}");
            }
        });
        let server = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move { cancel.cancelled().await })
                .await;
            if let Err(e) = served {
                tracing::error!("mock: server stopped: {e}");
            }
        });
        shared.tracker.spawn(clock(shared.clone()));
        tracing::info!(%local_addr, seed, scenario = %shared.scenario.name, "mock: listening");
        Ok(MockServer {
            shared,
            client_id,
            client_secret,
            server,
        })
    }

    /// `http://HOST:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.shared.local_addr)
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local_addr
    }

    /// The scenario's main OAuth client (all permissions).
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    pub fn client_secret(&self) -> &str {
        &self.client_secret
    }

    /// Stops serving, closes every socket and stops the simulation.
    pub async fn shutdown(self) {
        self.shared.cancel.cancel();
        self.shared.tracker.close();
        {
            let mut state = self.shared.lock();
            tracing::info!(
                frames = state.hub.frames_queued,
                slow_sockets_dropped = state.hub.slow_sockets_dropped,
                "mock: shutting down"
            );
            state.hub.disconnect_all();
        }
        let mut server = self.server;
        // Open keep-alive connections may hold graceful shutdown; do not wait for them long.
        if tokio::time::timeout(Duration::from_secs(2), &mut server)
            .await
            .is_err()
        {
            server.abort();
        }
        let _ = tokio::time::timeout(Duration::from_secs(2), self.shared.tracker.wait()).await;
    }
}

/// Moves the world every tick and sends what changed.
async fn clock(shared: Arc<Shared>) {
    let mut interval = tokio::time::interval(TICK);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shared.cancel.cancelled() => break,
            _ = interval.tick() => {
                let mut state = shared.lock();
                simulation::tick(&mut state, &shared.scenario);
                state.flush();
            }
        }
    }
}
