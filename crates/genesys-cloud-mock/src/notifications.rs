//! The Notifications API: channels (at most 20 per client, the least recently used evicted
//! first), their subscriptions, and the WebSocket that delivers every change of a subscribed
//! queue's or user's calls, heartbeats, pongs, `socket_closing` and the system messages
//! `no_longer_subscribed` and `token_revoked`. Sources and how sure: `docs/platform.md`.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use tokio::sync::mpsc;

use super::auth::{COMMUNICATION_VIEW, Caller, OAuthClient};
use super::body::JsonBody;
use super::errors::ErrorReply;
use super::hub::{
    HubFrame, MAX_TOPICS, NO_LONGER_SUBSCRIBED_TOPIC, TOKEN_REVOKED_TOPIC, system_frame,
    system_message_frame,
};
use super::state::Shared;
use super::world::World;
use genesys_cloud_models::{
    Channel, ChannelTopic, ChannelTopicEntityListing, HEARTBEAT_TOPIC, SOCKET_CLOSING_TOPIC,
    Timestamp, TopicState,
};

const CHANNEL_LIFETIME_HOURS: i64 = 24;
/// Why a topic is refused: the reason, and the permissions it lacks.
fn check_topic(
    topic: &str,
    world: &World,
    client: &OAuthClient,
) -> Result<(), (String, Vec<String>)> {
    let known = if let Some(rest) = topic.strip_prefix("v2.routing.queues.") {
        let queue_id = rest
            .strip_suffix(".conversations.calls")
            .or_else(|| rest.strip_suffix(".conversations"));
        queue_id.map(|id| world.queues.iter().any(|q| q.id == id))
    } else if let Some(rest) = topic.strip_prefix("v2.users.") {
        rest.strip_suffix(".conversations.calls")
            .map(|id| world.users.contains_key(id))
    } else {
        None
    };
    match known {
        None => Err((format!("Topic {topic} is not a valid topic."), vec![])),
        Some(false) => Err((
            format!("Topic {topic} refers to an entity that does not exist."),
            vec![],
        )),
        Some(true) if !client.has(COMMUNICATION_VIEW) => Err((
            format!("Missing permission to subscribe to {topic}."),
            vec![COMMUNICATION_VIEW.to_string()],
        )),
        Some(true) => Ok(()),
    }
}

pub(super) async fn create_channel(
    State(shared): State<Arc<Shared>>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
) -> Response {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| shared.local_addr.to_string());
    let mut state = shared.lock();
    // The id is all a socket needs (as on the platform), so it comes from the system's secure
    // random source, not the scenario's seed, and is never one the hub already knows.
    let id = loop {
        let id = format!("streaming-{}", uuid::Uuid::new_v4().simple());
        if !state.hub.exists(&id) {
            break id;
        }
    };
    state.hub.create_channel(id.clone(), &caller.client.id);
    state.hub.set_token(&id, &caller.token);
    let channel = Channel {
        connect_uri: Some(format!("ws://{host}/channels/{id}")),
        id,
        expires: Some(Timestamp(
            Utc::now() + chrono::Duration::hours(CHANNEL_LIFETIME_HOURS),
        )),
    };
    (StatusCode::OK, axum::Json(channel)).into_response()
}

#[derive(Debug, Deserialize)]
pub(super) struct SubscriptionQuery {
    #[serde(default, rename = "ignoreErrors")]
    ignore_errors: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct TopicRequest {
    id: String,
}

fn listing(topics: Vec<ChannelTopic>) -> Response {
    axum::Json(ChannelTopicEntityListing { entities: topics }).into_response()
}

fn permitted(id: String) -> ChannelTopic {
    ChannelTopic {
        id,
        state: Some(TopicState::Permitted),
        ..ChannelTopic::default()
    }
}

pub(super) async fn get_subscriptions(
    State(shared): State<Arc<Shared>>,
    Extension(caller): Extension<Caller>,
    Path(channel_id): Path<String>,
) -> Result<Response, ErrorReply> {
    let topics = shared.lock().hub.topics(&channel_id, &caller.client.id)?;
    Ok(listing(topics.into_iter().map(permitted).collect()))
}

pub(super) async fn delete_subscriptions(
    State(shared): State<Arc<Shared>>,
    Extension(caller): Extension<Caller>,
    Path(channel_id): Path<String>,
) -> Result<Response, ErrorReply> {
    shared
        .lock()
        .hub
        .set_topics(&channel_id, &caller.client.id, Vec::new())?;
    Ok(StatusCode::OK.into_response())
}

pub(super) async fn post_subscriptions(
    shared: State<Arc<Shared>>,
    caller: Extension<Caller>,
    path: Path<String>,
    query: Query<SubscriptionQuery>,
    body: JsonBody<Vec<TopicRequest>>,
) -> Result<Response, ErrorReply> {
    subscribe(shared, caller, path, query, body, false).await
}

pub(super) async fn put_subscriptions(
    shared: State<Arc<Shared>>,
    caller: Extension<Caller>,
    path: Path<String>,
    query: Query<SubscriptionQuery>,
    body: JsonBody<Vec<TopicRequest>>,
) -> Result<Response, ErrorReply> {
    subscribe(shared, caller, path, query, body, true).await
}

async fn subscribe(
    State(shared): State<Arc<Shared>>,
    Extension(caller): Extension<Caller>,
    Path(channel_id): Path<String>,
    Query(query): Query<SubscriptionQuery>,
    JsonBody(requested): JsonBody<Vec<TopicRequest>>,
    replace: bool,
) -> Result<Response, ErrorReply> {
    let requested = requested?;
    let ignore_errors = query
        .ignore_errors
        .as_deref()
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let mut state = shared.lock();
    let current = state.hub.topics(&channel_id, &caller.client.id)?;
    let mut wanted: HashSet<&str> = requested.iter().map(|t| t.id.as_str()).collect();
    if !replace {
        wanted.extend(current.iter().map(String::as_str));
    }
    if wanted.len() > MAX_TOPICS {
        return Err(too_many());
    }
    let mut answers = Vec::new();
    let mut accepted: Vec<String> = if replace { Vec::new() } else { current };
    let mut rejected = Vec::new();
    for TopicRequest { id } in requested {
        match check_topic(&id, &state.world, &caller.client) {
            Ok(()) => {
                if !accepted.contains(&id) {
                    accepted.push(id.clone());
                }
                answers.push(permitted(id));
            }
            Err((reason, missing)) => {
                rejected.push(id.clone());
                answers.push(ChannelTopic {
                    id,
                    state: Some(TopicState::Rejected),
                    rejection_reason: Some(reason),
                    missing_permissions: (!missing.is_empty()).then_some(missing),
                    self_uri: None,
                });
            }
        }
    }
    if !rejected.is_empty() && !ignore_errors {
        return Err(ErrorReply::bad_request(format!(
            "Invalid topic(s): {}. Pass ignoreErrors=true to subscribe to the others.",
            rejected.join(", ")
        )));
    }
    state
        .hub
        .set_topics(&channel_id, &caller.client.id, accepted.clone())?;
    drop(state);
    // The answer lists the channel's subscriptions, plus the rejected ones with their reasons.
    let mut entities: Vec<ChannelTopic> = accepted
        .into_iter()
        .map(|id| {
            answers
                .iter()
                .find(|a| a.id == id)
                .cloned()
                .unwrap_or_else(|| permitted(id))
        })
        .collect();
    entities.extend(
        answers
            .into_iter()
            .filter(|a| a.state == Some(TopicState::Rejected)),
    );
    Ok(listing(entities))
}

fn too_many() -> ErrorReply {
    ErrorReply::new(
        StatusCode::BAD_REQUEST,
        "notification.subscription.too.many.subscriptions",
        format!("A channel can have at most {MAX_TOPICS} subscriptions."),
    )
}

/// `GET /channels/{id}`: the WebSocket at `connectUri`.
pub(super) async fn websocket(
    State(shared): State<Arc<Shared>>,
    Path(channel_id): Path<String>,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ErrorReply> {
    let (receiver, generation, heartbeat, drop_after, notice, system) = {
        let mut state = shared.lock();
        let Some((receiver, generation)) = state.hub.connect(&channel_id) else {
            return Err(ErrorReply::not_found(format!(
                "Channel {channel_id} not found."
            )));
        };
        let faults = &state.faults;
        let after = |secs: u64| (secs > 0).then(|| Duration::from_secs(secs));
        (
            receiver,
            generation,
            Duration::from_secs(faults.heartbeat_secs.max(1)),
            after(faults.socket_drop_after_secs),
            faults.socket_closing_notice,
            SystemFaults {
                no_longer_subscribed: after(faults.no_longer_subscribed_after_secs),
                token_revoked: after(faults.token_revoked_after_secs),
            },
        )
    };
    let tracker = shared.tracker.clone();
    // A client only ever sends pings; a larger message closes the socket.
    let upgrade = upgrade
        .max_message_size(64 * 1024)
        .max_frame_size(64 * 1024);
    Ok(upgrade.on_upgrade(move |socket| {
        let task = ChannelSocket {
            shared: shared.clone(),
            channel_id,
            generation,
            heartbeat,
            drop_after,
            notice,
            system,
        }
        .run(socket, receiver);
        // Track the socket so shutdown waits for it.
        tracker.track_future(task)
    }))
}

/// When a socket's channel gets the system messages (counted from its connection).
#[derive(Clone, Copy, Debug)]
struct SystemFaults {
    no_longer_subscribed: Option<Duration>,
    token_revoked: Option<Duration>,
}

struct ChannelSocket {
    shared: Arc<Shared>,
    channel_id: String,
    generation: u64,
    heartbeat: Duration,
    drop_after: Option<Duration>,
    notice: bool,
    system: SystemFaults,
}

impl ChannelSocket {
    async fn run(self, mut socket: WebSocket, mut frames: mpsc::Receiver<HubFrame>) {
        let cancel = self.shared.cancel.clone();
        let mut heartbeat =
            tokio::time::interval_at(tokio::time::Instant::now() + self.heartbeat, self.heartbeat);
        let at = |after: Option<Duration>| {
            let never = Duration::from_secs(86_400 * 365);
            tokio::time::Instant::now() + after.unwrap_or(never)
        };
        let drop_at = at(self.drop_after);
        let mut unsubscribe_at = at(self.system.no_longer_subscribed);
        let revoke_at = at(self.system.token_revoked);
        let reason = loop {
            tokio::select! {
                _ = cancel.cancelled() => {
                    if self.notice {
                        let closing = system_frame(SOCKET_CLOSING_TOPIC, "The socket is closing.");
                        let _ = socket.send(Message::Text(closing.into())).await;
                    }
                    break "server shutting down";
                }
                frame = frames.recv() => match frame {
                    Some(frame) => {
                        tokio::time::sleep_until(frame.deliver_at.into()).await;
                        if socket.send(Message::Text(frame.text.as_ref().into())).await.is_err() {
                            break "client gone";
                        }
                    }
                    None => break "replaced by a newer socket or too slow",
                },
                message = socket.recv() => match message {
                    Some(Ok(Message::Text(text))) => {
                        if is_ping(&text) {
                            let pong = system_frame(HEARTBEAT_TOPIC, "pong");
                            if socket.send(Message::Text(pong.into())).await.is_err() {
                                break "client gone";
                            }
                        }
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break "client closed",
                    Some(Ok(_)) => {}
                },
                _ = heartbeat.tick() => {
                    let beat = system_frame(HEARTBEAT_TOPIC, "WebSocket Heartbeat");
                    if socket.send(Message::Text(beat.into())).await.is_err() {
                        break "client gone";
                    }
                }
                _ = tokio::time::sleep_until(drop_at) => {
                    if self.notice {
                        let closing = system_frame(SOCKET_CLOSING_TOPIC, "The socket is closing.");
                        let _ = socket.send(Message::Text(closing.into())).await;
                    }
                    break "socket drop fault";
                }
                _ = tokio::time::sleep_until(unsubscribe_at) => {
                    // The channel keeps its socket and heartbeats but delivers nothing more.
                    unsubscribe_at = at(None);
                    let text = self.no_longer_subscribed();
                    if socket.send(Message::Text(text.into())).await.is_err() {
                        break "client gone";
                    }
                }
                _ = tokio::time::sleep_until(revoke_at) => {
                    let text = self.token_revoked();
                    let _ = socket.send(Message::Text(text.into())).await;
                    break "token revoked";
                }
            }
        };
        tracing::debug!(channel = %self.channel_id, reason, "mock: socket closed");
        let _ = socket.send(Message::Close(None)).await;
        self.shared
            .lock()
            .hub
            .disconnect(&self.channel_id, self.generation);
    }
}

impl ChannelSocket {
    /// Empties the channel's subscriptions and returns the `no_longer_subscribed` frame.
    fn no_longer_subscribed(&self) -> String {
        let _ = self
            .shared
            .lock()
            .hub
            .set_topics_of(&self.channel_id, Vec::new());
        system_message_frame(
            NO_LONGER_SUBSCRIBED_TOPIC,
            &self.channel_id,
            "no_longer_subscribed",
            "another_channel_subscribed",
            "This channel is no longer subscribed.",
        )
    }

    /// Revokes the token that made the channel (the platform's reason says all the user's
    /// tokens; one is enough to show the effect and leaves a test's other tokens alone),
    /// removes the channel and returns the `token_revoked` frame.
    fn token_revoked(&self) -> String {
        let mut state = self.shared.lock();
        if let Some(token) = state.hub.token_of(&self.channel_id) {
            let revoked = state.auth.revoke(&token);
            tracing::debug!(channel = %self.channel_id, revoked, "mock: token revoked");
        }
        state.hub.remove_channel(&self.channel_id);
        system_message_frame(
            TOKEN_REVOKED_TOPIC,
            &self.channel_id,
            "token_revoked",
            "user_tokens_revoked",
            "The tokens of this user were revoked.",
        )
    }
}

fn is_ping(text: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| {
            v.get("message")
                .and_then(|m| m.as_str())
                .map(|m| m == "ping")
        })
        .unwrap_or(false)
}
