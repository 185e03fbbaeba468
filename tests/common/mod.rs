//! Shared by the integration tests: a mock platform on 127.0.0.1:0, a control client for its
//! `/mock/` API, and helpers to script calls and read the request log.
#![allow(dead_code)]

use confwatch::config::ConnectionConfig;
use confwatch::mock::{MockOptions, MockServer, Scenario};
use confwatch::platform::Client;
use confwatch::platform::models::{CallConversation, ParticipantState};
use reqwest::Method;
use serde_json::{Value, json};

pub const SUPPORT: &str = "Support";
pub const AVA: &str = "a0000000-0000-4000-8000-000000000001";
pub const BEN: &str = "a0000000-0000-4000-8000-000000000002";
pub const CHLOE: &str = "a0000000-0000-4000-8000-000000000003";
pub const VIEWER_ID: &str = "quiet-viewer";
pub const VIEWER_SECRET: &str = "quiet-viewer-secret";

pub struct Harness {
    pub mock: MockServer,
    /// The scenario's main client (every permission): the one under test.
    pub client: Client,
    /// Its own token (and rate window) for the control API.
    control: Client,
}

/// One leg to create: name, purpose, state, user id.
pub struct Leg(
    pub &'static str,
    pub &'static str,
    pub &'static str,
    pub Option<&'static str>,
);

impl Harness {
    /// The `quiet` scenario with these faults (`PUT /mock/faults`).
    pub async fn start(faults: Value) -> Harness {
        let mock = MockServer::start(MockOptions::loopback(
            Scenario::named("quiet").expect("quiet scenario"),
        ))
        .await
        .expect("mock starts");
        let config =
            ConnectionConfig::for_mock(&mock.base_url(), mock.client_id(), mock.client_secret());
        let client = Client::new(config.clone()).expect("client");
        let control = Client::new(config).expect("control client");
        let harness = Harness {
            mock,
            client,
            control,
        };
        harness.faults(faults).await;
        harness
    }

    /// A client of the scenario's viewer (no kick permission).
    pub fn viewer(&self) -> Client {
        Client::new(ConnectionConfig::for_mock(
            &self.mock.base_url(),
            VIEWER_ID,
            VIEWER_SECRET,
        ))
        .expect("viewer client")
    }

    pub async fn faults(&self, faults: Value) {
        let _: Value = self
            .control
            .send_json(Method::PUT, "/mock/faults", &faults)
            .await
            .expect("PUT /mock/faults");
    }

    /// Creates a call in Support with these legs.
    pub async fn call(&self, legs: &[Leg]) -> CallConversation {
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
        self.control
            .send_json(
                Method::POST,
                "/mock/conversations",
                &json!({ "queue": SUPPORT, "participants": participants }),
            )
            .await
            .expect("POST /mock/conversations")
    }

    /// The usual conference: customer, Ava (the target, in `state`), Ben; returns (call, Ava's leg id).
    pub async fn conference(&self, state: &'static str) -> (CallConversation, String) {
        let call = self
            .call(&[
                Leg("Casey Customer", "customer", "connected", None),
                Leg("Ava Reed", "agent", state, Some(AVA)),
                Leg("Ben Ortiz", "agent", "connected", Some(BEN)),
            ])
            .await;
        let target = leg_of(&call, "Ava Reed");
        (call, target)
    }

    pub async fn set_leg(&self, conversation_id: &str, participant_id: &str, change: Value) {
        self.control
            .send_no_content(
                Method::PATCH,
                &format!("/mock/conversations/{conversation_id}/participants/{participant_id}"),
                &change,
            )
            .await
            .expect("PATCH /mock/conversations/.../participants/...");
    }

    /// The platform requests the mock saw after `since` (the control API's own left out).
    pub async fn requests(&self, since: u64) -> Vec<Value> {
        let all: Vec<Value> = self
            .control
            .get(&format!("/mock/requests?since={since}"))
            .await
            .expect("GET /mock/requests");
        all.into_iter()
            .filter(|r| !r["path"].as_str().unwrap_or("").starts_with("/mock/"))
            .collect()
    }

    /// The newest sequence number in the log.
    pub async fn last_seq(&self) -> u64 {
        let all: Vec<Value> = self
            .control
            .get("/mock/requests?since=0")
            .await
            .expect("GET /mock/requests");
        all.last().and_then(|r| r["seq"].as_u64()).unwrap_or(0)
    }

    /// The call as it stands now (read with the control client).
    pub async fn read(&self, conversation_id: &str) -> CallConversation {
        self.control
            .call(conversation_id)
            .await
            .expect("GET the call")
    }

    pub async fn stop(self) {
        self.mock.shutdown().await;
    }
}

pub fn leg_of(call: &CallConversation, name: &str) -> String {
    call.participants
        .iter()
        .find(|p| p.name.as_deref() == Some(name))
        .map(|p| p.id.clone())
        .unwrap_or_else(|| panic!("no leg named {name}"))
}

/// The participant PATCHes in a request log: (seq, participant id, status).
pub fn participant_patches(log: &[Value]) -> Vec<(u64, String, u16)> {
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

/// The state of one leg.
pub fn state_of(call: &CallConversation, participant_id: &str) -> Option<ParticipantState> {
    call.participant(participant_id).map(|p| p.state.clone())
}
