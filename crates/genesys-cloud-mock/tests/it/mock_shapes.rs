//! Every JSON answer of the mock, checked key by key and enum value by enum value against the
//! platform's models (crates/genesys-cloud-models/tests/models.json, a copy of the official SDK's models): an official SDK
//! pointed at the mock must parse everything it sends.

use crate::harness;

use std::collections::BTreeSet;

use futures::SinkExt;
use harness::{AVA, BEN, Harness, SUPPORT_ID, VIEWER_ID, VIEWER_SECRET, connect, frame_where};
use reqwest::Method;
use serde_json::{Map, Value, json};
use tokio_tungstenite::tungstenite::Message;

/// Checks JSON values against the models of models.json.
struct Models {
    models: Map<String, Value>,
}

impl Models {
    fn load() -> Models {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../genesys-cloud-models/tests/models.json"
        ))
        .unwrap();
        let root: Value = serde_json::from_str(&text).unwrap();
        Models {
            models: root["models"].as_object().unwrap().clone(),
        }
    }

    /// Every problem of `value` as a `model`; empty when it conforms.
    fn check(&self, model: &str, value: &Value) -> Vec<String> {
        let mut problems = Vec::new();
        self.check_type(model, None, value, model, &mut problems);
        problems
    }

    fn check_type(
        &self,
        ty: &str,
        enumeration: Option<&Vec<Value>>,
        value: &Value,
        at: &str,
        problems: &mut Vec<String>,
    ) {
        if value.is_null() {
            problems.push(format!("{at}: null (absent values must be omitted)"));
            return;
        }
        if let Some(inner) = ty.strip_prefix("list[").and_then(|t| t.strip_suffix(']')) {
            match value.as_array() {
                Some(items) => {
                    for (i, item) in items.iter().enumerate() {
                        self.check_type(inner, None, item, &format!("{at}[{i}]"), problems);
                    }
                }
                None => problems.push(format!("{at}: expected a list, got {value}")),
            }
            return;
        }
        if let Some(inner) = ty
            .strip_prefix("dict(str, ")
            .and_then(|t| t.strip_suffix(')'))
        {
            match value.as_object() {
                Some(map) => {
                    for (key, item) in map {
                        self.check_type(inner, None, item, &format!("{at}.{key}"), problems);
                    }
                }
                None => problems.push(format!("{at}: expected an object, got {value}")),
            }
            return;
        }
        let ok = match ty {
            "str" => match value.as_str() {
                Some(text) => {
                    if let Some(values) = enumeration
                        && !values.iter().any(|v| v == text)
                    {
                        problems.push(format!("{at}: {text:?} is not one of the model's values"));
                    }
                    true
                }
                None => false,
            },
            "int" => value.is_i64() || value.is_u64(),
            "float" => value.is_number(),
            "bool" => value.is_boolean(),
            "object" => true,
            "datetime" => match value.as_str() {
                Some(text) => {
                    // ISO-8601 UTC with milliseconds: 2026-11-28T06:18:02.000Z
                    let shaped =
                        text.len() == 24 && text.ends_with('Z') && text.as_bytes()[19] == b'.';
                    if !shaped || chrono::DateTime::parse_from_rfc3339(text).is_err() {
                        problems.push(format!(
                            "{at}: {text:?} is not an ISO-8601 date with milliseconds"
                        ));
                    }
                    true
                }
                None => false,
            },
            model => {
                let Some(properties) = self
                    .models
                    .get(model)
                    .and_then(|m| m["properties"].as_object())
                else {
                    // Models deeper than the copy follows: the mock sends none of them.
                    problems.push(format!("{at}: model {model} is not in models.json"));
                    return;
                };
                let Some(object) = value.as_object() else {
                    problems.push(format!("{at}: expected a {model} object, got {value}"));
                    return;
                };
                for (key, item) in object {
                    match properties.get(key) {
                        Some(property) => {
                            let ty = property["type"].as_str().unwrap();
                            self.check_type(
                                ty,
                                property["enum"].as_array(),
                                item,
                                &format!("{at}.{key}"),
                                problems,
                            );
                        }
                        None => problems.push(format!("{at}: key {key:?} is not in {model}")),
                    }
                }
                true
            }
        };
        if !ok {
            problems.push(format!("{at}: expected {ty}, got {value}"));
        }
    }
}

/// Collects answers and frames with the model each must fit, then checks them all.
struct Collected {
    models: Models,
    checked: Vec<(String, String)>,
    problems: Vec<String>,
}

impl Collected {
    fn add(&mut self, kind: &str, model: &str, value: &Value) {
        for problem in self.models.check(model, value) {
            self.problems.push(format!("{kind}: {problem}"));
        }
        self.checked.push((kind.to_string(), model.to_string()));
    }

    /// A WebSocket frame: the envelope, then the body as the topic's model.
    fn frame(&mut self, kind: &str, frame: &Value) {
        let keys: BTreeSet<&str> = frame
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let allowed: BTreeSet<&str> = ["topicName", "version", "eventBody", "metadata"].into();
        if !keys.is_subset(&allowed) {
            self.problems
                .push(format!("{kind}: envelope keys {keys:?}"));
        }
        if let Some(meta) = frame.get("metadata") {
            let keys: Vec<&String> = meta.as_object().unwrap().keys().collect();
            if keys != ["CorrelationId"] || !meta["CorrelationId"].is_string() {
                self.problems.push(format!("{kind}: metadata {meta}"));
            }
        }
        let topic = frame["topicName"].as_str().unwrap();
        let model = if topic.ends_with(".conversations.calls") {
            "QueueConversationCallEventTopicCallConversation"
        } else if topic.ends_with(".conversations") {
            "Conversation"
        } else {
            "SystemMessageSystemMessage"
        };
        self.add(kind, model, &frame["eventBody"]);
    }
}

#[test]
fn the_checker_catches_what_an_sdk_would_choke_on() {
    let models = Models::load();
    let good = json!({"id": "p", "state": "connected", "disconnectType": "endpoint.donotdisturb", "startTime": "2026-11-28T06:18:02.000Z"});
    assert!(models.check("CallMediaParticipant", &good).is_empty());
    let event_spelling = json!({"id": "p", "disconnectType": "endpoint.dnd"});
    assert_eq!(
        models.check("CallMediaParticipant", &event_spelling).len(),
        1
    );
    assert!(
        models
            .check(
                "QueueConversationCallEventTopicCallMediaParticipant",
                &event_spelling
            )
            .is_empty()
    );
    assert_eq!(
        models
            .check(
                "CallMediaParticipant",
                &json!({"id": "p", "state": "scheduled"})
            )
            .len(),
        1
    );
    assert_eq!(
        models
            .check(
                "CallMediaParticipant",
                &json!({"id": "p", "disconnectType": null})
            )
            .len(),
        1
    );
    assert_eq!(
        models
            .check("CallMediaParticipant", &json!({"id": "p", "startTime": 5}))
            .len(),
        1
    );
    assert_eq!(
        models
            .check(
                "CallMediaParticipant",
                &json!({"id": "p", "startTime": "2026-11-28T06:18:02Z"})
            )
            .len(),
        1
    );
    assert_eq!(
        models
            .check("CallMediaParticipant", &json!({"id": "p", "bogus": 1}))
            .len(),
        1
    );
    assert_eq!(
        models
            .check(
                "CallConversation",
                &json!({"participants": [{"held": "yes"}]})
            )
            .len(),
        1
    );
    assert_eq!(
        models
            .check("ErrorBody", &json!({"messageParams": {"a": 1}}))
            .len(),
        1
    );
    assert_eq!(models.check("Call", &json!({"state": "parked"})).len(), 1);
    assert_eq!(
        models
            .check("AnalyticsSession", &json!({"mediaType": "call"}))
            .len(),
        1
    );
}

#[tokio::test]
async fn every_answer_and_frame_fits_the_platform_models() {
    let mut out = Collected {
        models: Models::load(),
        checked: Vec::new(),
        problems: Vec::new(),
    };
    let env = Harness::scenario("quiet").await;
    let token = &env.token_answer;
    let keys: BTreeSet<&str> = token
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["access_token", "expires_in", "token_type"].into());
    env.json(
        Method::PUT,
        "/mock/faults",
        Some(json!({"heartbeatSecs": 1})),
    )
    .await;

    // Notifications first, so every later change is seen as frames.
    let (status, channel) = env
        .json(Method::POST, "/api/v2/notifications/channels", None)
        .await;
    assert_eq!(status, 200);
    out.add("channel", "Channel", &channel);
    let id = channel["id"].as_str().unwrap();
    let topics = json!([
        {"id": format!("v2.routing.queues.{SUPPORT_ID}.conversations.calls")},
        {"id": format!("v2.routing.queues.{SUPPORT_ID}.conversations")},
        {"id": format!("v2.users.{BEN}.conversations.calls")},
        {"id": "v2.bogus.topic"},
    ]);
    let subs_path = format!("/api/v2/notifications/channels/{id}/subscriptions");
    let (status, subs) = env
        .json(
            Method::PUT,
            &format!("{subs_path}?ignoreErrors=true"),
            Some(topics.clone()),
        )
        .await;
    assert_eq!(status, 200);
    out.add(
        "subscriptions (with a rejection)",
        "ChannelTopicEntityListing",
        &subs,
    );
    let (_, listed) = env.json(Method::GET, &subs_path, None).await;
    out.add("subscriptions listed", "ChannelTopicEntityListing", &listed);
    let (status, rejected) = env.json(Method::POST, &subs_path, Some(topics)).await;
    assert_eq!(status, 400);
    out.add("subscription error 400", "ErrorBody", &rejected);
    let mut socket = connect(channel["connectUri"].as_str().unwrap()).await;

    // A conference with a ringing leg, a held one, then a kick.
    let (status, call) = env
        .json(
            Method::POST,
            "/mock/conversations",
            Some(json!({"queue": "Support", "participants": [
                {"name": "Carla", "purpose": "customer"},
                {"name": "Ava Reed", "purpose": "agent", "userId": AVA, "held": true},
                {"name": "Ben Ortiz", "purpose": "agent", "state": "alerting", "userId": BEN},
                {"name": "Ext", "purpose": "external", "state": "dialing"},
            ]})),
        )
        .await;
    assert_eq!(status, 201);
    out.add("control: created conversation", "CallConversation", &call);
    let conv = call["id"].as_str().unwrap().to_string();
    let ben = call["participants"][2]["id"].as_str().unwrap().to_string();
    let ext = call["participants"][3]["id"].as_str().unwrap().to_string();
    for (kind, want) in [
        ("queue calls event", ".conversations.calls"),
        ("queue generic event", ".conversations"),
    ] {
        let f = frame_where(&mut socket, |f| {
            let t = f["topicName"].as_str().unwrap_or("");
            t.starts_with("v2.routing") && t.ends_with(want)
        })
        .await;
        out.frame(kind, &f);
    }
    let f = frame_where(&mut socket, |f| {
        f["topicName"]
            .as_str()
            .unwrap_or("")
            .starts_with("v2.users")
    })
    .await;
    out.frame("user calls event", &f);

    // The external party hangs up with a do-not-disturb disconnect (spelled differently per shape).
    env.text(
        Method::PATCH,
        &format!("/mock/conversations/{conv}/participants/{ext}"),
        Some(json!({"state": "disconnected", "disconnectType": "endpoint.donotdisturb"})),
    )
    .await;
    env.text(
        Method::PATCH,
        &format!("/mock/conversations/{conv}/participants/{ben}"),
        Some(json!({"state": "connected"})),
    )
    .await;
    let kick = env
        .text(
            Method::PATCH,
            &format!("/api/v2/conversations/calls/{conv}/participants/{ben}"),
            Some(json!({"state": "disconnected"})),
        )
        .await;
    assert_eq!(kick, (202, String::new()), "202 with an empty body");
    let f = frame_where(&mut socket, |f| {
        f["topicName"]
            .as_str()
            .unwrap_or("")
            .ends_with(".conversations.calls")
            && f["eventBody"]["participants"][2]["state"] == "disconnected"
    })
    .await;
    assert_eq!(
        f["eventBody"]["participants"][3]["disconnectType"],
        "endpoint.dnd"
    );
    out.frame("event after a kick", &f);
    let (_, got) = env.call_answer(&conv).await;
    assert_eq!(
        got["participants"][3]["disconnectType"],
        "endpoint.donotdisturb"
    );
    out.add("GET call", "CallConversation", &got);
    let (_, generic) = env
        .json(Method::GET, &format!("/api/v2/conversations/{conv}"), None)
        .await;
    out.add("GET conversation", "Conversation", &generic);

    // Pong, heartbeat.
    socket
        .send(Message::Text(r#"{"message":"ping"}"#.into()))
        .await
        .unwrap();
    let pong = frame_where(&mut socket, |f| f["eventBody"]["message"] == "pong").await;
    out.frame("pong", &pong);
    let beat = frame_where(&mut socket, |f| {
        f["eventBody"]["message"] == "WebSocket Heartbeat"
    })
    .await;
    out.frame("heartbeat", &beat);

    // Queues and analytics.
    let (_, queues) = env
        .json(
            Method::GET,
            "/api/v2/routing/queues?pageSize=1&pageNumber=2",
            None,
        )
        .await;
    out.add("queues", "QueueEntityListing", &queues);
    let now = chrono::Utc::now();
    let interval = format!(
        "{}/{}",
        (now - chrono::Duration::hours(1)).to_rfc3339(),
        (now + chrono::Duration::hours(1)).to_rfc3339()
    );
    let query = json!({"interval": interval, "order": "desc"});
    let (status, analytics) = env
        .json(
            Method::POST,
            "/api/v2/analytics/conversations/details/query",
            Some(query),
        )
        .await;
    assert_eq!(status, 200);
    out.add(
        "analytics",
        "AnalyticsConversationQueryResponse",
        &analytics,
    );
    let (_, empty) = env
        .json(
            Method::POST,
            "/api/v2/analytics/conversations/details/query",
            Some(json!({"interval": interval, "paging": {"pageSize": 5, "pageNumber": 9}})),
        )
        .await;
    out.add(
        "analytics, empty page",
        "AnalyticsConversationQueryResponse",
        &empty,
    );

    // Every error kind.
    let kick_path = format!("/api/v2/conversations/calls/{conv}/participants/{ben}");
    let disconnect = json!({"state": "disconnected"});
    let (s400, e) = env
        .json(Method::PATCH, &kick_path, Some(disconnect.clone()))
        .await;
    assert_eq!(s400, 400);
    out.add("400 call.disconnected", "ErrorBody", &e);
    let (s404, e) = env
        .json(
            Method::PATCH,
            &format!("/api/v2/conversations/calls/{conv}/participants/x"),
            Some(disconnect.clone()),
        )
        .await;
    assert_eq!(s404, 404);
    out.add("404 not participant", "ErrorBody", &e);
    let (s404, e) = env.json(Method::GET, "/api/v2/nothing/here", None).await;
    assert_eq!(s404, 404);
    out.add("404 unknown route", "ErrorBody", &e);
    let answer = env
        .http
        .patch(env.url(&kick_path))
        .bearer_auth(&env.token)
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 415);
    out.add("415", "ErrorBody", &answer.json().await.unwrap());
    let (s405, e) = env
        .json(
            Method::DELETE,
            &format!("/api/v2/conversations/calls/{conv}"),
            None,
        )
        .await;
    assert_eq!(s405, 405);
    out.add("405", "ErrorBody", &e);
    let answer = env
        .http
        .get(env.url("/api/v2/routing/queues"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 401);
    out.add("401", "ErrorBody", &answer.json().await.unwrap());
    let viewer = env.token_json(VIEWER_ID, VIEWER_SECRET).await;
    let answer = env
        .http
        .patch(env.url(&kick_path))
        .bearer_auth(viewer["access_token"].as_str().unwrap())
        .json(&disconnect)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 403);
    out.add("403", "ErrorBody", &answer.json().await.unwrap());
    env.json(
        Method::PUT,
        "/mock/faults",
        Some(json!({"transitionLock": {"enabled": true, "settleMs": 600000}})),
    )
    .await;
    let ava = call["participants"][1]["id"].as_str().unwrap();
    let (s409, e) = env
        .json(
            Method::PATCH,
            &format!("/api/v2/conversations/calls/{conv}/participants/{ava}"),
            Some(disconnect.clone()),
        )
        .await;
    assert_eq!(s409, 409);
    out.add("409", "ErrorBody", &e);
    env.json(
        Method::PUT,
        "/mock/faults",
        Some(json!({"serverErrorRate": 1.0})),
    )
    .await;
    let (s503, e) = env.json(Method::GET, "/api/v2/routing/queues", None).await;
    assert_eq!(s503, 503);
    out.add("503", "ErrorBody", &e);
    env.json(
        Method::PUT,
        "/mock/faults",
        Some(json!({"serverErrorRate": 0.0, "rateLimitPerMinute": 1})),
    )
    .await;
    env.text(Method::GET, "/api/v2/routing/queues", None).await;
    let (s429, e) = env.json(Method::GET, "/api/v2/routing/queues", None).await;
    assert_eq!(s429, 429);
    out.add("429", "ErrorBody", &e);
    let (s400, e) = env.json(Method::POST, "/oauth/token", None).await;
    assert_eq!(s400, 401);
    out.add("token 401", "ErrorBody", &e);

    // socket_closing before a drop.
    env.json(
        Method::PUT,
        "/mock/faults",
        Some(json!({"socketDropAfterSecs": 1})),
    )
    .await;
    let mut dropped = connect(channel["connectUri"].as_str().unwrap()).await;
    let closing = frame_where(&mut dropped, |f| {
        f["topicName"] == "v2.system.socket_closing"
    })
    .await;
    out.frame("socket_closing", &closing);
    env.stop().await;

    // The demo's own world: every call it holds, as GET, generic and analytics, and its events.
    let demo = Harness::scenario("demo").await;
    let (_, queues) = demo.json(Method::GET, "/api/v2/routing/queues", None).await;
    out.add("demo queues", "QueueEntityListing", &queues);
    let (_, channel) = demo
        .json(Method::POST, "/api/v2/notifications/channels", None)
        .await;
    let topics: Vec<Value> = queues["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| json!({"id": format!("v2.routing.queues.{}.conversations.calls", q["id"].as_str().unwrap())}))
        .collect();
    let (status, _) = demo
        .json(
            Method::PUT,
            &format!(
                "/api/v2/notifications/channels/{}/subscriptions",
                channel["id"].as_str().unwrap()
            ),
            Some(Value::Array(topics)),
        )
        .await;
    assert_eq!(status, 200);
    let mut socket = connect(channel["connectUri"].as_str().unwrap()).await;
    for n in 0..2 {
        let f = frame_where(&mut socket, |f| {
            f["topicName"].as_str().unwrap_or("").ends_with(".calls")
        })
        .await;
        out.frame(&format!("demo event {n}"), &f);
    }
    let (_, analytics) = demo
        .json(
            Method::POST,
            "/api/v2/analytics/conversations/details/query",
            Some(json!({"interval": interval, "paging": {"pageSize": 100, "pageNumber": 1}})),
        )
        .await;
    out.add(
        "demo analytics",
        "AnalyticsConversationQueryResponse",
        &analytics,
    );
    let ids: Vec<String> = analytics["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["conversationId"].as_str().unwrap().to_string())
        .collect();
    assert!(ids.len() >= 8);
    for id in ids.iter().take(20) {
        let (_, call) = demo.call_answer(id).await;
        out.add("demo GET call", "CallConversation", &call);
        let (_, generic) = demo
            .json(Method::GET, &format!("/api/v2/conversations/{id}"), None)
            .await;
        out.add("demo GET conversation", "Conversation", &generic);
    }
    demo.stop().await;

    let models: BTreeSet<&str> = out.checked.iter().map(|(_, m)| m.as_str()).collect();
    assert_eq!(models.len(), 9, "every answer model was walked: {models:?}");
    assert!(
        out.problems.is_empty(),
        "{} problems:\n{}",
        out.problems.len(),
        out.problems.join("\n")
    );
}
