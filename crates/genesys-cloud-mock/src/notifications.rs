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

use super::auth::{COMMUNICATION_VIEW, Caller};
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

/// Why a topic is refused.
enum Refusal {
    /// Not a topic the platform has (or its entity is gone): 400 `notification.invalid.topic`
    /// for the whole request, `ignoreErrors` or not.
    Invalid,
    /// A failed permission check (403, or a `Rejected` topic under `ignoreErrors=true`): the
    /// code, the reason and the permissions missing.
    Permission {
        code: &'static str,
        reason: String,
        missing: Vec<String>,
    },
}

fn check_topic(topic: &str, world: &World, caller: &Caller) -> Result<(), Refusal> {
    let division = if let Some(rest) = topic.strip_prefix("v2.routing.queues.") {
        let queue_id = rest
            .strip_suffix(".conversations.calls")
            .or_else(|| rest.strip_suffix(".conversations"))
            .ok_or(Refusal::Invalid)?;
        let queue = world.queues.iter().find(|q| q.id == queue_id);
        Some(queue.ok_or(Refusal::Invalid)?.division.as_str())
    } else if let Some(rest) = topic.strip_prefix("v2.users.") {
        let user_id = rest
            .strip_suffix(".conversations.calls")
            .ok_or(Refusal::Invalid)?;
        if !world.users.contains_key(user_id) {
            return Err(Refusal::Invalid);
        }
        None
    } else {
        return Err(Refusal::Invalid);
    };
    if !caller.client.has(COMMUNICATION_VIEW) {
        return Err(Refusal::Permission {
            code: "notification.unauthorized.topic",
            reason: format!("Missing permission to subscribe to {topic}."),
            missing: vec![COMMUNICATION_VIEW.to_string()],
        });
    }
    if let Some(division) = division
        && !caller.reaches(COMMUNICATION_VIEW, division)
    {
        return Err(Refusal::Permission {
            code: "notification.divisioned.topic",
            reason: format!("Not granted in the division {division} of {topic}."),
            missing: vec![COMMUNICATION_VIEW.to_string()],
        });
    }
    Ok(())
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
    // 24 h on the platform (fault `channelLifetimeSecs`), extended by subscribing again.
    let lifetime = state.faults.channel_lifetime_secs;
    state.hub.set_expiry(
        &id,
        std::time::Instant::now() + Duration::from_secs(lifetime),
    );
    let channel = Channel {
        connect_uri: Some(format!("ws://{host}/channels/{id}")),
        id,
        expires: Some(Timestamp(
            Utc::now() + chrono::Duration::seconds(lifetime as i64),
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
    let mut invalid = Vec::new();
    let mut refused: Option<(&'static str, Vec<String>)> = None;
    for TopicRequest { id } in requested {
        match check_topic(&id, &state.world, &caller) {
            Ok(()) => {
                if !accepted.contains(&id) {
                    accepted.push(id.clone());
                }
                answers.push(permitted(id));
            }
            Err(Refusal::Invalid) => invalid.push(id),
            Err(Refusal::Permission {
                code,
                reason,
                missing,
            }) => {
                refused.get_or_insert((code, Vec::new())).1.push(id.clone());
                answers.push(ChannelTopic {
                    id,
                    state: Some(TopicState::Rejected),
                    rejection_reason: Some(reason),
                    missing_permissions: Some(missing),
                    self_uri: None,
                });
            }
        }
    }
    // `ignoreErrors` covers failed permission checks only: an invalid topic fails the request.
    if !invalid.is_empty() {
        return Err(ErrorReply::new(
            StatusCode::BAD_REQUEST,
            "notification.invalid.topic",
            format!("Invalid topic(s): {}.", invalid.join(", ")),
        ));
    }
    if let Some((code, topics)) = refused
        && !ignore_errors
    {
        return Err(ErrorReply::new(
            StatusCode::FORBIDDEN,
            code,
            format!(
                "Not permitted to subscribe to: {}. Pass ignoreErrors=true to subscribe to the others.",
                topics.join(", ")
            ),
        ));
    }
    state
        .hub
        .set_topics(&channel_id, &caller.client.id, accepted.clone())?;
    // Subscribing again extends the channel's life.
    let lifetime = Duration::from_secs(state.faults.channel_lifetime_secs);
    state
        .hub
        .set_expiry(&channel_id, std::time::Instant::now() + lifetime);
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
    let (receiver, generation, heartbeat, drop_after, notice, system, token_expiry) = {
        let mut state = shared.lock();
        // A channel past its life is gone (its socket, if any, was closed then).
        if state
            .hub
            .expiry_of(&channel_id)
            .is_some_and(|end| end <= std::time::Instant::now())
        {
            state.hub.remove_channel(&channel_id);
        }
        let Some((receiver, generation)) = state.hub.connect(&channel_id) else {
            return Err(ErrorReply::not_found(format!(
                "Channel {channel_id} not found."
            )));
        };
        // A channel closes when the token that made it expires (a gone token: at once).
        let token_expiry = state.hub.token_of(&channel_id).map(|token| {
            state
                .auth
                .expiry_of(&token)
                .unwrap_or_else(std::time::Instant::now)
        });
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
            token_expiry,
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
            token_expiry,
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
    /// When the token that made the channel expires: the channel closes then.
    token_expiry: Option<std::time::Instant>,
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
        let expire_at = match self.token_expiry {
            Some(at) => tokio::time::Instant::from_std(at),
            None => at(None),
        };
        let reason = loop {
            // Read each round: a subscription may have extended the channel meanwhile.
            let channel_end = self.shared.lock().hub.expiry_of(&self.channel_id);
            let channel_end = match channel_end {
                Some(end) => tokio::time::Instant::from_std(end),
                None => at(None),
            };
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
                _ = tokio::time::sleep_until(channel_end) => {
                    let mut state = self.shared.lock();
                    let extended = state
                        .hub
                        .expiry_of(&self.channel_id)
                        .is_some_and(|end| end > std::time::Instant::now());
                    if !extended {
                        state.hub.remove_channel(&self.channel_id);
                        break "the channel's life ended";
                    }
                }
                _ = tokio::time::sleep_until(expire_at) => {
                    // No documented message says so: the socket just closes, the channel gone.
                    self.shared.lock().hub.remove_channel(&self.channel_id);
                    break "its token expired";
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
