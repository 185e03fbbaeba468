//! The Notifications API: channels (at most 20 per client, the least recently used evicted
//! first), their subscriptions, and the WebSocket that delivers every change of a subscribed
//! queue's or user's calls, heartbeats, pongs, `socket_closing` and the system messages
//! `no_longer_subscribed` and `token_revoked`. Sources and how sure: `docs/platform.md`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
use super::shapes::{self, Flavor};
use super::state::Shared;
use super::world::{CallRecord, World};
use crate::wire::{
    Channel, ChannelTopic, ChannelTopicEntityListing, HEARTBEAT_TOPIC, NotificationEvent,
    NotificationMetadata, SOCKET_CLOSING_TOPIC, Timestamp, TopicState,
};

/// At most this many topics per channel.
pub const MAX_TOPICS: usize = 1_000;
/// Frames a socket may have waiting; a slower socket is dropped (its client re-reads).
const SOCKET_QUEUE: usize = 4_096;
const CHANNEL_LIFETIME_HOURS: i64 = 24;
/// Channels per user and app (NotificationsApi docs, `POST /api/v2/notifications/channels`).
pub const MAX_CHANNELS: usize = 20;
/// Topic names of the system messages the mock sends. Only `socket_closing` is seen in the
/// SDKs; the others are named after it (`docs/platform.md`), their bodies are the SDK's
/// `SystemMessageSystemMessage`.
pub const NO_LONGER_SUBSCRIBED_TOPIC: &str = "v2.system.no_longer_subscribed";
pub const TOKEN_REVOKED_TOPIC: &str = "v2.system.token_revoked";

/// One frame for a socket, sent no sooner than `deliver_at` (event latency fault).
#[derive(Debug, Clone)]
pub struct HubFrame {
    pub deliver_at: Instant,
    pub text: Arc<str>,
}

#[derive(Debug)]
struct ChannelEntry {
    client_id: String,
    topics: Vec<String>,
    sender: Option<mpsc::Sender<HubFrame>>,
    /// Bumped at each connection, so an old socket does not clear a newer one's sender.
    generation: u64,
    /// Created, connected to or subscribed: the eviction order.
    last_used: Instant,
    /// The token that made it (revoked by the `tokenRevokedAfterSecs` fault).
    token: Option<String>,
}

/// Channels, their topics and their sockets' queues.
#[derive(Debug, Default)]
pub struct Hub {
    channels: HashMap<String, ChannelEntry>,
    by_topic: HashMap<String, HashSet<String>>,
    /// Frames handed to sockets, and sockets dropped for being slow.
    pub frames_queued: u64,
    pub slow_sockets_dropped: u64,
    /// Channels removed to make room for a client's 21st.
    pub channels_evicted: u64,
}

fn frame_text(topic: &str, body: &serde_json::Value) -> Arc<str> {
    let event = NotificationEvent {
        topic_name: topic.to_string(),
        version: Some("2".into()),
        event_body: body.clone(),
        metadata: Some(NotificationMetadata {
            correlation_id: Some(uuid::Uuid::new_v4().to_string()),
        }),
    };
    // Serializing plain data to a string cannot fail; fall back to an empty object anyway.
    Arc::from(serde_json::to_string(&event).unwrap_or_else(|_| "{}".into()))
}

pub fn system_frame(topic: &str, message: &str) -> String {
    frame_text(topic, &serde_json::json!({ "message": message })).to_string()
}

/// The body of a system message, in the shape of the SDK's `SystemMessageSystemMessage`.
pub fn system_message_frame(
    topic: &str,
    channel_id: &str,
    system_topic_type: &str,
    reason: &str,
    message: &str,
) -> String {
    let body = serde_json::json!({
        "channelId": channel_id,
        "systemTopicType": system_topic_type,
        "correlationId": uuid::Uuid::new_v4().to_string(),
        "reason": reason,
        "message": message,
    });
    frame_text(topic, &body).to_string()
}

impl Hub {
    /// Adds a channel; when `client_id` already has [`MAX_CHANNELS`], the least recently used
    /// one goes first (one without a connected socket before any with one). Returns the id of
    /// the channel evicted.
    pub fn create_channel(&mut self, id: String, client_id: &str) -> Option<String> {
        let evicted = self.evict_for(client_id);
        self.channels.insert(
            id,
            ChannelEntry {
                client_id: client_id.to_string(),
                topics: Vec::new(),
                sender: None,
                generation: 0,
                last_used: Instant::now(),
                token: None,
            },
        );
        evicted
    }

    fn evict_for(&mut self, client_id: &str) -> Option<String> {
        let owned = self
            .channels
            .values()
            .filter(|c| c.client_id == client_id)
            .count();
        if owned < MAX_CHANNELS {
            return None;
        }
        let victim = self
            .channels
            .iter()
            .filter(|(_, c)| c.client_id == client_id)
            .min_by_key(|(_, c)| (c.sender.is_some(), c.last_used))
            .map(|(id, _)| id.clone())?;
        self.remove_channel(&victim);
        self.channels_evicted += 1;
        tracing::debug!(channel = %victim, "mock: channel evicted (over {MAX_CHANNELS})");
        Some(victim)
    }

    /// Removes a channel, its subscriptions and its socket's queue (which closes the socket).
    pub fn remove_channel(&mut self, id: &str) {
        let _ = self.set_topics_of(id, Vec::new());
        self.channels.remove(id);
    }

    /// Whether the channel still exists.
    #[cfg(test)]
    pub fn exists(&self, id: &str) -> bool {
        self.channels.contains_key(id)
    }

    /// The channels of `client_id`.
    #[cfg(test)]
    pub fn channel_count(&self, client_id: &str) -> usize {
        self.channels
            .values()
            .filter(|c| c.client_id == client_id)
            .count()
    }

    /// Notes the token that made a channel.
    pub fn set_token(&mut self, id: &str, token: &str) {
        if let Some(entry) = self.channels.get_mut(id) {
            entry.token = Some(token.to_string());
        }
    }

    fn token_of(&self, id: &str) -> Option<String> {
        self.channels.get(id).and_then(|c| c.token.clone())
    }

    fn owned(&self, id: &str, client_id: &str) -> Result<&ChannelEntry, ErrorReply> {
        self.channels
            .get(id)
            .filter(|c| c.client_id == client_id)
            .ok_or_else(|| ErrorReply::not_found(format!("Channel {id} not found.")))
    }

    pub fn topics(&self, id: &str, client_id: &str) -> Result<Vec<String>, ErrorReply> {
        Ok(self.owned(id, client_id)?.topics.clone())
    }

    /// Replaces the topics of a channel.
    pub fn set_topics(
        &mut self,
        id: &str,
        client_id: &str,
        topics: Vec<String>,
    ) -> Result<(), ErrorReply> {
        self.owned(id, client_id)?;
        self.set_topics_of(id, topics)
    }

    fn set_topics_of(&mut self, id: &str, topics: Vec<String>) -> Result<(), ErrorReply> {
        let Some(entry) = self.channels.get_mut(id) else {
            return Err(ErrorReply::not_found(format!("Channel {id} not found.")));
        };
        entry.last_used = Instant::now();
        for old in &entry.topics {
            if let Some(set) = self.by_topic.get_mut(old) {
                set.remove(id);
                if set.is_empty() {
                    self.by_topic.remove(old);
                }
            }
        }
        for topic in &topics {
            self.by_topic
                .entry(topic.clone())
                .or_default()
                .insert(id.to_string());
        }
        entry.topics = topics;
        Ok(())
    }

    /// Attaches a new socket to a channel; the previous socket's queue closes, which drops it.
    fn connect(&mut self, id: &str) -> Option<(mpsc::Receiver<HubFrame>, u64)> {
        let entry = self.channels.get_mut(id)?;
        let (sender, receiver) = mpsc::channel(SOCKET_QUEUE);
        entry.sender = Some(sender);
        entry.generation += 1;
        entry.last_used = Instant::now();
        Some((receiver, entry.generation))
    }

    fn disconnect(&mut self, id: &str, generation: u64) {
        if let Some(entry) = self.channels.get_mut(id)
            && entry.generation == generation
        {
            entry.sender = None;
        }
    }

    /// Drops every socket (for shutdown and reset).
    pub fn disconnect_all(&mut self) {
        for entry in self.channels.values_mut() {
            entry.sender = None;
        }
    }

    /// Sends the call as it now stands to every channel subscribed to its queue or its users.
    pub fn publish(&mut self, call: &CallRecord, deliver_at: Instant) {
        if self.by_topic.is_empty() {
            return;
        }
        let mut call_body: Option<serde_json::Value> = None;
        let mut generic_body: Option<serde_json::Value> = None;
        let queue_calls = format!("v2.routing.queues.{}.conversations.calls", call.queue_id);
        let queue_generic = format!("v2.routing.queues.{}.conversations", call.queue_id);
        let mut topics = vec![(queue_calls, false), (queue_generic, true)];
        let mut seen_users = HashSet::new();
        for leg in &call.legs {
            if let Some((user_id, _)) = &leg.user
                && seen_users.insert(user_id.as_str())
            {
                topics.push((format!("v2.users.{user_id}.conversations.calls"), false));
            }
        }
        for (topic, generic) in topics {
            let Some(channel_ids) = self.by_topic.get(&topic) else {
                continue;
            };
            let body = if generic {
                generic_body.get_or_insert_with(|| {
                    serde_json::to_value(shapes::conversation(call, Flavor::Event))
                        .unwrap_or_default()
                })
            } else {
                call_body.get_or_insert_with(|| {
                    serde_json::to_value(shapes::call_conversation(call, Flavor::Event))
                        .unwrap_or_default()
                })
            };
            let text = frame_text(&topic, body);
            for channel_id in channel_ids {
                let Some(entry) = self.channels.get_mut(channel_id) else {
                    continue;
                };
                let Some(sender) = &entry.sender else {
                    continue;
                };
                let frame = HubFrame {
                    deliver_at,
                    text: text.clone(),
                };
                match sender.try_send(frame) {
                    Ok(()) => self.frames_queued += 1,
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        tracing::warn!(channel = %channel_id, "mock: socket too slow, dropping it");
                        self.slow_sockets_dropped += 1;
                        entry.sender = None;
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => entry.sender = None,
                }
            }
        }
    }
}

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

pub async fn create_channel(
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
        if !state.hub.channels.contains_key(&id) {
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
pub struct SubscriptionQuery {
    #[serde(default, rename = "ignoreErrors")]
    ignore_errors: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct TopicRequest {
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

pub async fn get_subscriptions(
    State(shared): State<Arc<Shared>>,
    Extension(caller): Extension<Caller>,
    Path(channel_id): Path<String>,
) -> Result<Response, ErrorReply> {
    let topics = shared.lock().hub.topics(&channel_id, &caller.client.id)?;
    Ok(listing(topics.into_iter().map(permitted).collect()))
}

pub async fn delete_subscriptions(
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

pub async fn post_subscriptions(
    shared: State<Arc<Shared>>,
    caller: Extension<Caller>,
    path: Path<String>,
    query: Query<SubscriptionQuery>,
    body: JsonBody<Vec<TopicRequest>>,
) -> Result<Response, ErrorReply> {
    subscribe(shared, caller, path, query, body, false).await
}

pub async fn put_subscriptions(
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
pub async fn websocket(
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
        let task = Socket {
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

struct Socket {
    shared: Arc<Shared>,
    channel_id: String,
    generation: u64,
    heartbeat: Duration,
    drop_after: Option<Duration>,
    notice: bool,
    system: SystemFaults,
}

impl Socket {
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

impl Socket {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ParticipantState;

    #[test]
    fn publish_reaches_queue_and_user_topics_once_each() {
        let mut hub = Hub::default();
        hub.create_channel("ch".into(), "client");
        hub.set_topics(
            "ch",
            "client",
            vec![
                "v2.routing.queues.q1.conversations.calls".into(),
                "v2.users.u1.conversations.calls".into(),
                "v2.routing.queues.other.conversations.calls".into(),
            ],
        )
        .unwrap();
        let (mut receiver, _) = hub.connect("ch").unwrap();
        hub.publish(
            &CallRecord::sample(ParticipantState::Connected, None),
            Instant::now(),
        );
        let mut topics = Vec::new();
        while let Ok(frame) = receiver.try_recv() {
            let value: serde_json::Value = serde_json::from_str(&frame.text).unwrap();
            topics.push(value["topicName"].as_str().unwrap().to_string());
        }
        topics.sort();
        assert_eq!(
            topics,
            vec![
                "v2.routing.queues.q1.conversations.calls",
                "v2.users.u1.conversations.calls"
            ]
        );
    }

    #[test]
    fn a_slow_socket_is_dropped_instead_of_growing_memory() {
        let mut hub = Hub::default();
        hub.create_channel("ch".into(), "client");
        hub.set_topics(
            "ch",
            "client",
            vec!["v2.routing.queues.q1.conversations.calls".into()],
        )
        .unwrap();
        let (mut receiver, _) = hub.connect("ch").unwrap();
        let call = CallRecord::sample(ParticipantState::Connected, None);
        for _ in 0..=SOCKET_QUEUE {
            hub.publish(&call, Instant::now());
        }
        assert_eq!(hub.slow_sockets_dropped, 1);
        assert_eq!(hub.frames_queued, SOCKET_QUEUE as u64);
        let mut queued = 0;
        while receiver.try_recv().is_ok() {
            queued += 1;
        }
        assert_eq!(queued, SOCKET_QUEUE);
        // The queue is closed: the socket task ends and the client reconnects.
        assert!(matches!(
            receiver.try_recv(),
            Err(mpsc::error::TryRecvError::Disconnected)
        ));
    }

    /// The 21st channel of a client evicts the least recently used one, one without a socket
    /// before any with one; other clients' channels are not counted.
    #[test]
    fn a_21st_channel_evicts_the_least_recently_used_unconnected_first() {
        let mut hub = Hub::default();
        hub.create_channel("other".into(), "someone-else");
        for n in 0..MAX_CHANNELS {
            assert_eq!(hub.create_channel(format!("ch{n}"), "client"), None);
        }
        // ch0 and ch1 are the oldest, but have sockets: ch2 goes first.
        let (mut first, _) = hub.connect("ch0").unwrap();
        let (_second, _) = hub.connect("ch1").unwrap();
        assert_eq!(
            hub.create_channel("new1".into(), "client"),
            Some("ch2".into())
        );
        assert_eq!(hub.channel_count("client"), MAX_CHANNELS);
        assert!(!hub.exists("ch2") && hub.exists("other"));
        // Subscribing counts as use: ch3 is spared, ch4 goes.
        hub.set_topics(
            "ch3",
            "client",
            vec!["v2.users.u1.conversations.calls".into()],
        )
        .unwrap();
        assert_eq!(
            hub.create_channel("new2".into(), "client"),
            Some("ch4".into())
        );
        // Once every channel has a socket, the least recently used connected one goes, and
        // its socket's queue closes.
        for n in 5..MAX_CHANNELS {
            let _ = hub.connect(&format!("ch{n}"));
        }
        for id in ["ch3", "new1", "new2"] {
            let _ = hub.connect(id);
        }
        assert_eq!(
            hub.create_channel("new3".into(), "client"),
            Some("ch0".into())
        );
        assert!(matches!(
            first.try_recv(),
            Err(mpsc::error::TryRecvError::Disconnected)
        ));
        assert_eq!(hub.channels_evicted, 3);
    }

    #[test]
    fn a_second_connection_closes_the_first_queue() {
        let mut hub = Hub::default();
        hub.create_channel("ch".into(), "client");
        let (mut first, first_generation) = hub.connect("ch").unwrap();
        let (_second, _) = hub.connect("ch").unwrap();
        assert!(matches!(
            first.try_recv(),
            Err(mpsc::error::TryRecvError::Disconnected)
        ));
        // The old socket ending does not detach the new one.
        hub.disconnect("ch", first_generation);
        assert!(hub.channels["ch"].sender.is_some());
    }
}
