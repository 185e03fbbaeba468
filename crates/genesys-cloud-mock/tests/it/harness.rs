//! The mock's test harness: one [`Harness`] runs the mock on 127.0.0.1:0 with a scenario and
//! holds a bearer token of the scenario's main client. Through it a test scripts calls and
//! faults with the `/mock/` control API, reads the request log, sends raw platform requests and
//! opens notification sockets. The app's integration tests include this file too (`#[path]` in
//! its `tests/it/common.rs`) and add the product's own client on top.

// Two test binaries share this file and each uses a different part of it.
#![allow(dead_code)]

use std::time::Duration;

use futures::StreamExt;
use genesys_cloud_mock::{MockOptions, MockServer, Scenario};
use genesys_cloud_models::{CallConversation, ParticipantState};
use reqwest::Method;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

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
        // reqwest is built without a TLS provider of its own (the app picks ring): install it.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::new();
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
        Harness {
            mock,
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

    /// `POST /mock/notifications/oversized`: one heartbeat padded with `bytes` characters to
    /// every connected socket; how many took it.
    pub(crate) async fn oversized_notification(&self, bytes: usize) -> u64 {
        let answer = self
            .ok_json(
                Method::POST,
                "/mock/notifications/oversized",
                Some(json!({ "bytes": bytes })),
            )
            .await;
        answer["sockets"].as_u64().expect("a socket count")
    }

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

    /// Transfers a call to another queue (`POST /mock/conversations/{id}/transfer`, body as
    /// `transfer`); returns the call as a GET shows it then.
    pub(crate) async fn transfer(&self, conversation_id: &str, transfer: Value) -> Value {
        self.ok_json(
            Method::POST,
            &format!("/mock/conversations/{conversation_id}/transfer"),
            Some(transfer),
        )
        .await
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

/// A mock command line (`command()` gives the program and any arguments before the mock's
/// flags) refuses a remote bind without `--allow-remote`, and prints where it listens and the
/// main client's id and secret, in that order, as scripts read them.
pub(crate) fn the_cli_prints_where_it_listens_and_refuses_remote_binds(
    command: impl Fn() -> std::process::Command,
) {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let refused = command().args(["--bind", "0.0.0.0"]).output().unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--allow-remote"));

    let mut child = command()
        .args(["--scenario", "quiet", "--client-id", "me"])
        .args(["--client-secret", "s3cret"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let second = lines.next().unwrap().unwrap();
    let third = lines.next().unwrap().unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let url = first
        .strip_prefix("listening on http://127.0.0.1:")
        .expect(&first);
    assert!(url.parse::<u16>().unwrap() > 0);
    assert_eq!(second, "client id: me");
    assert_eq!(third, "client secret: s3cret");
}
