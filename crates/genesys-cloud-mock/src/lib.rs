//! The mock Genesys Cloud platform (axum): the platform's HTTP and WebSocket API over a
//! simulated contact center, with faults and a control API under `/mock/`.
//! Each platform behaviour simulated here has its source and certainty in `docs/platform.md`.
//!
//! One module per job: `routes` (platform API and the layer in front of it), `auth` (clients,
//! tokens, permissions, rate limit), `world` (calls and legs), `simulation` (the world in
//! motion), `scenario` (files), `faults`, `notifications` (channels and sockets), `control`
//! (`/mock/`), `shapes` (JSON shapes), `requestlog`, `errors`, `state`, `cli`.

mod auth;
mod body;
mod cli;
mod control;
mod errors;
mod faults;
mod hub;
mod ids;
mod listener;
mod notifications;
mod requestlog;
mod routes;
mod scenario;
mod shapes;
mod signin;
mod simulation;
mod state;
mod users;
mod world;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use color_eyre::eyre::{Result, WrapErr};
use genesys_cloud_models::Secret;
use tokio::task::JoinHandle;

pub use cli::{MockArgs, run};
pub use faults::{Faults, TransitionLock};
pub use listener::ServerLimits;
pub use requestlog::LoggedRequest;
pub use scenario::Scenario;

use auth::{Auth, OAuthClient};
use state::Shared;

/// How often the world moves and due changes are applied.
const TICK: Duration = Duration::from_millis(10);

/// Where and what the mock serves.
#[derive(Clone, Debug)]
pub struct MockOptions {
    pub(crate) bind: IpAddr,
    /// 0 picks a free port.
    pub(crate) port: u16,
    pub(crate) scenario: Scenario,
    /// Overrides the scenario's seed.
    pub(crate) seed: Option<u64>,
    /// Connection cap and timeouts.
    pub limits: ServerLimits,
}

impl MockOptions {
    /// 127.0.0.1 on a free port.
    pub fn loopback(scenario: Scenario) -> Self {
        MockOptions {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            scenario,
            seed: None,
            limits: ServerLimits::default(),
        }
    }
}

/// A running mock platform. Stop it with [`MockServer::shutdown`].
pub struct MockServer {
    shared: Arc<Shared>,
    client_id: String,
    client_secret: Secret,
    server: JoinHandle<()>,
}

impl fmt::Debug for MockServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockServer")
            .field("base_url", &self.base_url())
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .finish()
    }
}

fn random_secret() -> Secret {
    Secret::new(uuid::Uuid::new_v4().simple().to_string())
}

/// The scenario's OAuth clients (a missing secret is made at random).
fn clients_of(scenario: &Scenario) -> Vec<OAuthClient> {
    scenario
        .clients
        .iter()
        .map(|c| OAuthClient {
            id: c.id.clone(),
            secret: c.secret.clone().unwrap_or_else(random_secret),
            permissions: c.permissions.clone(),
        })
        .collect()
}

/// Every route: the platform's, the control API, and the body cap and error shape over both;
/// each request in its own span, so concurrent requests can be told apart in the log.
fn app(shared: Arc<Shared>) -> axum::Router {
    let routes =
        routes::platform_router(shared.clone()).merge(control::control_router(shared.clone()));
    errors::with_platform_errors(routes).layer(axum::middleware::from_fn(request_span))
}

async fn request_span(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use tracing::Instrument;
    let span = tracing::info_span!(
        "mock_request",
        method = %request.method(),
        path = %untrusted_input::clip(request.uri().path(), 200)
    );
    next.run(request).instrument(span).await
}

impl MockServer {
    /// Binds, builds the scenario's world and starts serving.
    pub async fn start(options: MockOptions) -> Result<MockServer> {
        Self::start_with_main_client(options, None).await
    }

    /// As [`MockServer::start`], with the main client's id and secret given.
    pub(crate) async fn start_with_main_client(
        options: MockOptions,
        main_client: Option<(String, Secret)>,
    ) -> Result<MockServer> {
        let scenario = options.scenario;
        scenario.validate()?;
        let seed = options.seed.unwrap_or(scenario.seed);
        let mut clients = clients_of(&scenario);
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
        let mut auth = Auth::new(clients);
        auth.signin = users::Signin::new(
            scenario.users.clone(),
            scenario
                .clients
                .iter()
                .map(|c| (c.id.clone(), c.redirect_uris.clone()))
                .collect(),
            Duration::from_millis(scenario.signin.code_lifetime_ms),
            scenario.signin.org_name.clone(),
        );
        let state = simulation::initial_state(&scenario, seed, auth);
        let shared = Arc::new(Shared::new(state, scenario, seed, local_addr));

        let server = tokio::spawn(listener::serve(
            listener,
            app(shared.clone()),
            options.limits,
            shared.cancel.clone(),
        ));
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
        self.client_secret.expose()
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

#[cfg(test)]
mod fuzz {
    //! Random bytes and random JSON into every route's request decoding, through the whole
    //! router (no network): no panic, and every error answer is an `ErrorBody`.

    use super::*;
    use axum::body::Body;
    use axum::http::{Method, Request};
    use proptest::prelude::*;
    use std::time::Instant;
    use tower::ServiceExt;

    fn shared() -> (Arc<Shared>, String) {
        let scenario = Scenario::named("quiet").unwrap();
        let mut auth = Auth::new(clients_of(&scenario));
        let token = auth.issue("quiet-admin", Duration::from_secs(600), Instant::now());
        let state = simulation::initial_state(&scenario, 1, auth);
        let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 9);
        (Arc::new(Shared::new(state, scenario, 1, addr)), token)
    }

    const ROUTES: &[(&str, &str)] = &[
        ("POST", "/oauth/token"),
        ("POST", "/api/v2/analytics/conversations/details/query"),
        ("PATCH", "/api/v2/conversations/c/participants/p"),
        ("PATCH", "/api/v2/conversations/calls/c/participants/p"),
        ("POST", "/api/v2/notifications/channels/x/subscriptions"),
        ("PUT", "/api/v2/notifications/channels/x/subscriptions"),
        ("GET", "/api/v2/routing/queues"),
        ("POST", "/mock/conversations"),
        ("PATCH", "/mock/conversations/c/participants/p"),
        ("PUT", "/mock/faults"),
        ("GET", "/mock/requests"),
        ("POST", "/mock/notifications/oversized"),
        ("GET", "/channels/x"),
    ];

    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<u64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_map(serde_json::Value::from),
            ".{0,12}".prop_map(serde_json::Value::from),
            prop_oneof![
                Just("disconnected"),
                Just("connected"),
                Just("2026-01-01T00:00:00Z/2026-01-02T00:00:00Z"),
                Just("Support"),
                Just("agent"),
            ]
            .prop_map(serde_json::Value::from),
        ];
        let keys = prop_oneof![
            Just("state".to_string()),
            Just("held".to_string()),
            Just("interval".to_string()),
            Just("paging".to_string()),
            Just("pageSize".to_string()),
            Just("pageNumber".to_string()),
            Just("participants".to_string()),
            Just("queue".to_string()),
            Just("id".to_string()),
            Just("afterMs".to_string()),
            Just("latencyMs".to_string()),
            Just("segmentFilters".to_string()),
            "[a-zA-Z]{1,8}",
        ];
        leaf.prop_recursive(4, 48, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
                prop::collection::btree_map(keys.clone(), inner, 0..6)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn body() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..256),
            json_value().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn random_requests_never_panic_and_errors_are_error_bodies(
            route in 0..ROUTES.len(),
            body in body(),
            json_type in any::<bool>(),
            query in "[a-zA-Z=&%0-9]{0,24}",
            with_token in any::<bool>(),
        ) {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let (shared, token) = shared();
            let (method, path) = ROUTES[route];
            let mut request = Request::builder()
                .method(Method::from_bytes(method.as_bytes()).unwrap())
                .uri(format!("{path}?{query}"))
                .header("content-type", if json_type { "application/json" } else { "text/plain" });
            if with_token {
                request = request.header("authorization", format!("Bearer {token}"));
            } else if path == "/oauth/token" {
                request = request.header("authorization", "Basic cXVpZXQtdmlld2VyOnF1aWV0LXZpZXdlci1zZWNyZXQ=");
            }
            let request = request.body(Body::from(body)).unwrap();
            let answer = runtime.block_on(async {
                let response = app(shared.clone()).oneshot(request).await.unwrap();
                let status = response.status();
                let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
                (status, bytes)
            });
            shared.cancel.cancel();
            let (status, bytes) = answer;
            if status.is_client_error() || status.is_server_error() {
                let error: serde_json::Value = serde_json::from_slice(&bytes)
                    .unwrap_or_else(|e| panic!("{method} {path}: {status} not JSON ({e})"));
                prop_assert_eq!(error["status"].as_u64(), Some(u64::from(status.as_u16())));
            }
        }
    }
}
