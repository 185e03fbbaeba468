//! Shared by the integration tests: one [`Harness`] runs the mock platform on 127.0.0.1:0 with a
//! scenario and holds a bearer token of the scenario's main client. Through it a test scripts
//! calls and faults with the `/mock/` control API, reads the request log, sends raw platform
//! requests (for the mock's own tests) and opens notification sockets; `client` is the product's
//! own platform client, the one under test in the kick, client and CLI tests. The binary's
//! tests run it with [`confwatch_in`] or [`confwatch_as`], isolated in a [`temp_dir`]; [`kick`]
//! runs a kick in a task, as the driver does.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use confwatch::kick::LockHistory;
use confwatch::kick::Wanted;
use confwatch::kick::{self, EventSource, KickOptions, KickRequest};
use confwatch::kick::{Outcome, Progress, Step};
use confwatch::mock::{MockOptions, MockServer, Scenario};
use confwatch::platform::Client;
use confwatch::platform::ConnectionConfig;
use confwatch::wire::{CallConversation, ParticipantState};
use futures::StreamExt;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

/// The quiet scenario's queues (by name, and by id) and agents.
pub(crate) const SUPPORT: &str = "Support";
pub(crate) const SUPPORT_ID: &str = "6f1c0b7e-0000-4000-8000-000000000001";
pub(crate) const SALES_ID: &str = "6f1c0b7e-0000-4000-8000-000000000002";
pub(crate) const AVA: &str = "a0000000-0000-4000-8000-000000000001";
pub(crate) const BEN: &str = "a0000000-0000-4000-8000-000000000002";
pub(crate) const CHLOE: &str = "a0000000-0000-4000-8000-000000000003";
/// The quiet scenario's second client: it may read, not kick.
pub(crate) const VIEWER_ID: &str = "quiet-viewer";
pub(crate) const VIEWER_SECRET: &str = "quiet-viewer-secret";

/// A notification socket.
pub(crate) type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A running mock and what a test needs to talk to it. Stop it with [`Harness::stop`].
pub(crate) struct Harness {
    pub mock: MockServer,
    /// The scenario's main client (every permission) as the product uses it: the one under test.
    /// It logs in on its first request, so its token (and rate window) is its own.
    pub client: Client,
    /// Plain HTTP, for raw requests.
    pub http: reqwest::Client,
    /// A bearer token of the main client, taken at start: the control API's and raw requests'.
    pub token: String,
    /// The whole `/oauth/token` answer that gave `token`.
    pub token_answer: Value,
}

/// One leg to create: name, purpose, state, user id.
pub(crate) struct Leg(
    pub &'static str,
    pub &'static str,
    pub &'static str,
    pub Option<&'static str>,
);

impl Harness {
    /// The built-in scenario `name` as it is, with a token of its main client.
    pub(crate) async fn scenario(name: &str) -> Harness {
        Harness::with_options(MockOptions::loopback(
            Scenario::named(name).expect("built-in scenario"),
        ))
        .await
    }

    /// A mock started with `options` (a changed scenario, other limits), with a token of its
    /// main client.
    pub(crate) async fn with_options(options: MockOptions) -> Harness {
        let mock = MockServer::start(options).await.expect("mock starts");
        let http = confwatch::platform::http_builder().build().unwrap();
        let answer = token_for(
            &http,
            &mock.base_url(),
            mock.client_id(),
            mock.client_secret(),
        )
        .await;
        assert_eq!(answer.status(), 200, "the main client logs in");
        let token_answer: Value = answer.json().await.expect("token answer");
        let token = token_answer["access_token"]
            .as_str()
            .expect("access_token")
            .to_string();
        let client = Client::new(ConnectionConfig::for_mock(
            &mock.base_url(),
            mock.client_id(),
            mock.client_secret(),
        ))
        .expect("client");
        Harness {
            mock,
            client,
            http,
            token,
            token_answer,
        }
    }

    /// The `quiet` scenario with these faults (`PUT /mock/faults`).
    pub(crate) async fn start(faults: Value) -> Harness {
        let harness = Harness::scenario("quiet").await;
        harness.faults(faults).await;
        harness
    }

    pub(crate) async fn stop(self) {
        self.mock.shutdown().await;
    }

    /// A client of the scenario's viewer (no kick permission).
    pub(crate) fn viewer(&self) -> Client {
        Client::new(ConnectionConfig::for_mock(
            &self.mock.base_url(),
            VIEWER_ID,
            VIEWER_SECRET,
        ))
        .expect("viewer client")
    }

    // Raw HTTP.

    /// `http://HOST:PORT{path}`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.mock.base_url())
    }

    /// `POST /oauth/token` with client credentials, as sent; the answer as it came.
    pub(crate) async fn token_for(&self, id: &str, secret: &str) -> reqwest::Response {
        token_for(&self.http, &self.mock.base_url(), id, secret).await
    }

    /// The JSON answer of a token request (whatever its status).
    pub(crate) async fn token_json(&self, id: &str, secret: &str) -> Value {
        self.token_for(id, secret)
            .await
            .json()
            .await
            .expect("a JSON answer")
    }

    /// A request with the harness's token and an optional JSON body.
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        self.send_as(&self.token, method, path, body).await
    }

    /// A request with another bearer token.
    pub(crate) async fn send_as(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut request = self.http.request(method, self.url(path)).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("the mock answers")
    }

    /// Status and body text.
    pub(crate) async fn text(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, String) {
        let answer = self.send(method, path, body).await;
        let status = answer.status().as_u16();
        (status, answer.text().await.expect("answer body"))
    }

    /// Status and JSON body (`Null` when the body is empty).
    pub(crate) async fn json(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let (status, text) = self.text(method, path, body).await;
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
        };
        (status, value)
    }

    /// The JSON answer of a request that must succeed.
    async fn ok_json(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let what = format!("{method} {path}");
        let (status, value) = self.json(method, path, body).await;
        assert!((200..300).contains(&status), "{what}: {status} {value}");
        value
    }

    // The control API.

    /// `PUT /mock/faults`: changes the faults it names; returns them all.
    pub(crate) async fn faults(&self, patch: Value) -> Value {
        let (status, body) = self.json(Method::PUT, "/mock/faults", Some(patch)).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Creates a call in Support with these legs.
    pub(crate) async fn call(&self, legs: &[Leg]) -> CallConversation {
        let participants: Vec<Value> = legs
            .iter()
            .map(|Leg(name, purpose, state, user)| {
                let mut p = json!({ "name": name, "purpose": purpose, "state": state });
                if let Some(user) = user {
                    p["userId"] = json!(user);
                }
                p
            })
            .collect();
        let call = self
            .ok_json(
                Method::POST,
                "/mock/conversations",
                Some(json!({ "queue": SUPPORT, "participants": participants })),
            )
            .await;
        serde_json::from_value(call).expect("a CallConversation")
    }

    /// The usual conference: Casey Customer connected, Ava Reed and Ben Ortiz in these states.
    pub(crate) async fn conference_with(
        &self,
        ava_state: &'static str,
        ben_state: &'static str,
    ) -> CallConversation {
        self.call(&[
            Leg("Casey Customer", "customer", "connected", None),
            Leg("Ava Reed", "agent", ava_state, Some(AVA)),
            Leg("Ben Ortiz", "agent", ben_state, Some(BEN)),
        ])
        .await
    }

    /// The usual conference with Ava (the target) in `state` and Ben connected; returns
    /// (call, Ava's leg id).
    pub(crate) async fn conference(&self, state: &'static str) -> (CallConversation, String) {
        let call = self.conference_with(state, "connected").await;
        let target = leg_of(&call, "Ava Reed");
        (call, target)
    }

    /// The mock API tests' conference, as JSON: Carla Customer and Ava Reed connected, Ben Ortiz
    /// in `ben_state`.
    pub(crate) async fn conference_json(&self, ben_state: &str) -> Value {
        let (status, call) = self
            .json(
                Method::POST,
                "/mock/conversations",
                Some(json!({"queue": "Support", "participants": [
                    {"name": "Carla Customer", "purpose": "customer", "state": "connected"},
                    {"name": "Ava Reed", "purpose": "agent", "state": "connected", "userId": AVA},
                    {"name": "Ben Ortiz", "purpose": "agent", "state": ben_state, "userId": BEN},
                ]})),
            )
            .await;
        assert_eq!(status, 201, "{call}");
        call
    }

    /// Changes a leg now (`afterMs` in `change` delays it).
    pub(crate) async fn set_leg(&self, conversation_id: &str, participant_id: &str, change: Value) {
        self.ok_json(
            Method::PATCH,
            &format!("/mock/conversations/{conversation_id}/participants/{participant_id}"),
            Some(change),
        )
        .await;
    }

    /// The platform requests the mock saw after `since` (the control API's own left out).
    pub(crate) async fn requests(&self, since: u64) -> Vec<Value> {
        let all = self
            .ok_json(Method::GET, &format!("/mock/requests?since={since}"), None)
            .await;
        all.as_array()
            .expect("a list of requests")
            .iter()
            .filter(|r| !r["path"].as_str().unwrap_or("").starts_with("/mock/"))
            .cloned()
            .collect()
    }

    /// The newest sequence number in the log.
    pub(crate) async fn last_seq(&self) -> u64 {
        let all = self
            .ok_json(Method::GET, "/mock/requests?since=0", None)
            .await;
        all.as_array()
            .and_then(|a| a.last())
            .and_then(|r| r["seq"].as_u64())
            .unwrap_or(0)
    }

    // Reading calls with the harness's token (its own rate window, not the client's).

    /// `GET /api/v2/conversations/calls/{id}`: status and JSON body.
    pub(crate) async fn call_answer(&self, id: &str) -> (u16, Value) {
        self.json(
            Method::GET,
            &format!("/api/v2/conversations/calls/{id}"),
            None,
        )
        .await
    }

    /// The call as JSON; it must be there.
    pub(crate) async fn get_call(&self, id: &str) -> Value {
        let (status, call) = self.call_answer(id).await;
        assert_eq!(status, 200, "{call}");
        call
    }

    /// The call as it stands now.
    pub(crate) async fn read(&self, conversation_id: &str) -> CallConversation {
        serde_json::from_value(self.get_call(conversation_id).await).expect("a CallConversation")
    }

    /// Re-reads the call until `done` holds (the platform applies changes asynchronously).
    pub(crate) async fn wait_for(&self, id: &str, done: impl Fn(&Value) -> bool) -> Value {
        for _ in 0..500 {
            let call = self.get_call(id).await;
            if done(&call) {
                return call;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("call {id} never reached the expected state");
    }

    // Notifications.

    /// A new channel subscribed to `topics`, and its socket.
    pub(crate) async fn channel(&self, topics: &[String]) -> (String, Socket) {
        let (status, channel) = self
            .json(Method::POST, "/api/v2/notifications/channels", None)
            .await;
        assert_eq!(status, 200);
        let id = channel["id"].as_str().unwrap().to_string();
        let body: Vec<Value> = topics.iter().map(|t| json!({"id": t})).collect();
        let (status, subs) = self
            .json(
                Method::PUT,
                &format!("/api/v2/notifications/channels/{id}/subscriptions"),
                Some(Value::Array(body)),
            )
            .await;
        assert_eq!(status, 200, "{subs}");
        let socket = connect(channel["connectUri"].as_str().unwrap()).await;
        (id, socket)
    }
}

/// A client of a stand-in server at `base` (not the mock), with credentials nobody checks.
pub(crate) fn client_of(base: &str) -> Client {
    Client::new(ConnectionConfig::for_mock(base, "id", "secret")).expect("client")
}

/// `POST {base}/oauth/token` with client credentials.
async fn token_for(
    http: &reqwest::Client,
    base: &str,
    id: &str,
    secret: &str,
) -> reqwest::Response {
    http.post(format!("{base}/oauth/token"))
        .basic_auth(id, Some(secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .expect("the mock answers")
}

/// Opens the socket at a channel's `connectUri`.
pub(crate) async fn connect(uri: &str) -> Socket {
    tokio_tungstenite::connect_async(uri)
        .await
        .expect("the socket opens")
        .0
}

/// The next frame for which `wanted` holds (a guard stops a hang; it asserts nothing about speed).
pub(crate) async fn frame_where(socket: &mut Socket, wanted: impl Fn(&Value) -> bool) -> Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a frame in time")
            .expect("socket open")
            .expect("frame");
        if let Message::Text(text) = message {
            let frame: Value = serde_json::from_str(text.as_str()).unwrap();
            if wanted(&frame) {
                return frame;
            }
        }
    }
}

/// The next frame of `topic`.
pub(crate) async fn next_frame(socket: &mut Socket, topic: &str) -> Value {
    frame_where(socket, |f| f["topicName"] == topic).await
}

/// Reads until the socket closes; returns the topics seen.
pub(crate) async fn read_until_closed(socket: &mut Socket) -> Vec<String> {
    let mut topics = Vec::new();
    while let Ok(Some(Ok(message))) =
        tokio::time::timeout(Duration::from_secs(10), socket.next()).await
    {
        match message {
            Message::Text(text) => {
                let frame: Value = serde_json::from_str(text.as_str()).unwrap();
                topics.push(frame["topicName"].as_str().unwrap().to_string());
            }
            Message::Close(_) => break,
            _ => {}
        }
    }
    topics
}

/// The id of the leg named `name`.
pub(crate) fn leg_of(call: &CallConversation, name: &str) -> String {
    call.participants
        .iter()
        .find(|p| p.name.as_deref() == Some(name))
        .map(|p| p.id.clone())
        .unwrap_or_else(|| panic!("no leg named {name}"))
}

/// The state of one leg.
pub(crate) fn state_of(call: &CallConversation, participant_id: &str) -> Option<ParticipantState> {
    call.participant(participant_id).map(|p| p.state.clone())
}

/// The participant PATCHes in a request log: (seq, participant id, status).
pub(crate) fn participant_patches(log: &[Value]) -> Vec<(u64, String, u16)> {
    log.iter()
        .filter(|r| {
            r["method"] == "PATCH"
                && r["path"]
                    .as_str()
                    .is_some_and(|p| p.contains("/participants/"))
        })
        .map(|r| {
            let path = r["path"].as_str().unwrap_or_default();
            let pid = path.rsplit('/').next().unwrap_or_default().to_string();
            (
                r["seq"].as_u64().unwrap_or(0),
                pid,
                r["status"].as_u64().unwrap_or(0) as u16,
            )
        })
        .collect()
}

/// Legs of a call answer kept as raw JSON, found by name (for the mock's own tests).
pub(crate) mod raw {
    use serde_json::Value;

    pub(crate) fn leg<'a>(call: &'a Value, name: &str) -> &'a Value {
        call["participants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap()
    }

    pub(crate) fn leg_id(call: &Value, name: &str) -> String {
        leg(call, name)["id"].as_str().unwrap().to_string()
    }

    pub(crate) fn state_of(call: &Value, name: &str) -> String {
        leg(call, name)["state"].as_str().unwrap().to_string()
    }
}

/// Next feed event that matches (a guard stops a hang; it asserts nothing about speed).
pub(crate) async fn next_matching(
    rx: &mut tokio::sync::mpsc::Receiver<confwatch::feed::FeedEvent>,
    wanted: impl Fn(&confwatch::feed::FeedEvent) -> bool,
) -> confwatch::feed::FeedEvent {
    let found = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(event) = rx.recv().await {
            if wanted(&event) {
                return Some(event);
            }
        }
        None
    })
    .await;
    match found {
        Ok(Some(event)) => event,
        _ => panic!("the feed never sent the expected event"),
    }
}

/// The calls of the next complete re-sync from analytics (its pages, up to `ResyncDone`).
pub(crate) async fn next_resync(
    feed: &mut tokio::sync::mpsc::Receiver<confwatch::feed::FeedEvent>,
) -> Vec<confwatch::wire::CallConversation> {
    next_matching(feed, |e| {
        *e == confwatch::feed::FeedEvent::Model(confwatch::live::Update::ResyncStarted)
    })
    .await;
    let mut calls = Vec::new();
    loop {
        match next_matching(feed, |e| {
            matches!(
                e,
                confwatch::feed::FeedEvent::Model(
                    confwatch::live::Update::ResyncPage(_) | confwatch::live::Update::ResyncDone
                )
            )
        })
        .await
        {
            confwatch::feed::FeedEvent::Model(confwatch::live::Update::ResyncPage(page)) => {
                calls.extend(page)
            }
            _ => return calls,
        }
    }
}

/// A fresh directory for one test's files (config, state, log, audit), named after `what`.
pub(crate) fn temp_dir(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("confwatch-{what}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The binary, isolated in `dir`: no credentials, region or profile from the environment; its
/// config, data, state (lock history, sign-in) and log under `dir`; no stdin; killed if dropped.
pub(crate) fn confwatch_in(dir: &Path) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_confwatch"));
    command
        .env_remove("GENESYSCLOUD_OAUTHCLIENT_ID")
        .env_remove("GENESYSCLOUD_OAUTHCLIENT_SECRET")
        .env_remove("GENESYSCLOUD_ACCESS_TOKEN")
        .env_remove("GENESYSCLOUD_REGION")
        .env_remove("CONFWATCH_PROFILE")
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("CONFWATCH_LOG", dir.join("confwatch.log"))
        .stdin(Stdio::null())
        .kill_on_drop(true);
    command
}

/// [`confwatch_in`] as the client `(id, secret)` of the platform at `base_url`: `args`, then
/// `--base-url` and `--client-id`; the secret in the environment, where a user puts it.
pub(crate) fn confwatch_as(
    dir: &Path,
    base_url: &str,
    (id, secret): (&str, &str),
    args: &[&str],
) -> tokio::process::Command {
    let mut command = confwatch_in(dir);
    command
        .args(args)
        .args(["--base-url", base_url, "--client-id", id])
        .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", secret);
    command
}

/// A kick running in a task, as the driver runs it: its progress and its outcome.
pub(crate) struct KickJob {
    progress: mpsc::UnboundedReceiver<Progress>,
    seen: Vec<Progress>,
    outcome: tokio::task::JoinHandle<Outcome>,
}

/// A kick that hears about the call through its own subscription.
pub(crate) fn kick(
    client: &Client,
    conversation_id: &str,
    wanted: Wanted,
    options: KickOptions,
) -> KickJob {
    kick_learning(client, conversation_id, wanted, options, Arc::default())
}

/// A kick that learns the lock into (and from) `history`.
pub(crate) fn kick_learning(
    client: &Client,
    conversation_id: &str,
    wanted: Wanted,
    options: KickOptions,
    history: Arc<Mutex<LockHistory>>,
) -> KickJob {
    let (tx, progress) = mpsc::unbounded_channel();
    let request = KickRequest {
        conversation_id: conversation_id.to_string(),
        wanted,
        force: false,
    };
    let config = options.machine_config(false);
    let client = client.clone();
    let outcome = tokio::spawn(async move {
        kick::run(
            client,
            request,
            config,
            EventSource::Subscribe,
            CancellationToken::new(),
            None,
            history,
            move |p| {
                let _ = tx.send(p);
            },
        )
        .await
    });
    KickJob {
        progress,
        seen: Vec::new(),
        outcome,
    }
}

impl KickJob {
    /// Waits for the first step that matches.
    pub(crate) async fn until(&mut self, wanted: impl Fn(&Step) -> bool) -> Step {
        while let Some(p) = self.progress.recv().await {
            self.seen.push(p.clone());
            if wanted(&p.step) {
                return p.step;
            }
        }
        panic!("the job ended without the step; saw {:?}", self.seen);
    }

    pub(crate) async fn finish(mut self) -> (Outcome, Vec<Progress>) {
        let outcome = self.outcome.await.expect("job task");
        while let Ok(p) = self.progress.try_recv() {
            self.seen.push(p);
        }
        (outcome, self.seen)
    }
}
