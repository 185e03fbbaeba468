//! The Notifications API: channels, subscriptions, the WebSocket stream with a heartbeat
//! watchdog, and reconnects. Events are not durable, so after every reconnect the owner is told
//! (`Signal::Reconnected`) and re-reads what it shows.
//!
//! The platform can stop a channel: it evicts the least recently used of a client's 20, sends
//! `no_longer_subscribed` or `token_revoked` (system messages), or refuses the socket of a
//! channel that is gone. Each makes a new channel, as the official streaming client does, and
//! the owner hears of it in plain words (a [`Signal::ChannelNotice`]) before the re-read.
//! Sources: `crates/genesys-cloud-mock/docs/platform.md`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use reqwest::Method;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use super::error::{ApiError, FailureKind};
use super::http::Client;
use crate::text::clip;
use crate::wire::{
    CallConversation, Channel, ChannelTopic, ChannelTopicEntityListing, HEARTBEAT_TOPIC,
    NotificationEvent, SOCKET_CLOSING_TOPIC, TopicState,
};

/// At most this many topics per channel (the platform answers 400 beyond).
pub(crate) const TOPICS_PER_CHANNEL: usize = 1000;
/// Rounds of dropping the topics a 400 `notification.invalid.topic` names before giving up (a
/// message cut short names only some of them).
const MAX_INVALID_ROUNDS: u32 = 10;
/// No frame at all (heartbeats included) for this long: the socket is dead.
pub const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(75);
/// How often a ping is sent, so an idle socket shows it is alive.
const PING_EVERY: Duration = Duration::from_secs(30);

pub fn queue_topic(queue_id: &str) -> String {
    format!("v2.routing.queues.{queue_id}.conversations.calls")
}

pub(crate) fn user_topic(user_id: &str) -> String {
    format!("v2.users.{user_id}.conversations.calls")
}

/// How a channel notice's text starts, in the log and on screen.
const CHANNEL_NOTICE: &str = "notifications: ";

/// The system messages of the model `SystemMessageSystemMessage` (`systemTopicType`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SystemTopic {
    /// The channel delivers nothing more (reason e.g. `another_channel_subscribed`).
    NoLongerSubscribed,
    /// The channel's subscriptions were changed by the platform.
    SubscriptionChanged,
    /// The token the channel belongs to was revoked (reason e.g. `user_tokens_revoked`).
    TokenRevoked,
    Other(String),
}

/// A system message, as read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SystemMessage {
    pub(crate) topic: SystemTopic,
    pub(crate) channel_id: Option<String>,
    pub(crate) reason: Option<String>,
}

impl std::fmt::Display for SystemMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match &self.topic {
            SystemTopic::NoLongerSubscribed => "no_longer_subscribed",
            SystemTopic::SubscriptionChanged => "subscription_changed",
            SystemTopic::TokenRevoked => "token_revoked",
            SystemTopic::Other(other) => other,
        };
        f.write_str(&clip(name, SHOWN_CHARS))?;
        if let Some(reason) = &self.reason {
            write!(f, " ({})", clip(reason, SHOWN_CHARS))?;
        }
        Ok(())
    }
}

/// How much of a system message's name or reason, or a channel id, is shown.
const SHOWN_CHARS: usize = 80;

/// One message of a notification channel (a text frame of its socket), read.
#[derive(Clone, Debug, PartialEq)]
pub enum ChannelMessage {
    Heartbeat,
    /// `v2.system.socket_closing`: reconnect now.
    Closing,
    /// `no_longer_subscribed`, `subscription_changed`, `token_revoked`.
    System(SystemMessage),
    Conversation(CallConversation),
    /// A topic this client does not use (or the pong to a ping).
    Other(String),
}

/// Reads a system message from a frame: its body says `systemTopicType`, or (the streaming
/// client's XMPP node names) its topic names the type.
fn system_message(topic: &str, body: &serde_json::Value) -> Option<SystemMessage> {
    let text = |key: &str| body.get(key).and_then(|v| v.as_str()).map(str::to_string);
    let named = text("systemTopicType").or_else(|| {
        [
            "no_longer_subscribed",
            "subscription_changed",
            "token_revoked",
        ]
        .into_iter()
        .find(|t| topic.contains(t))
        .map(str::to_string)
    })?;
    let kind = match named.as_str() {
        "no_longer_subscribed" => SystemTopic::NoLongerSubscribed,
        "subscription_changed" => SystemTopic::SubscriptionChanged,
        "token_revoked" => SystemTopic::TokenRevoked,
        _ => SystemTopic::Other(named),
    };
    Some(SystemMessage {
        topic: kind,
        channel_id: text("channelId"),
        reason: text("reason"),
    })
}

/// Reads one text frame; a malformed one is an error message, never a panic.
pub fn parse_frame(text: &str) -> Result<ChannelMessage, String> {
    let event: NotificationEvent =
        serde_json::from_str(text).map_err(|e| format!("malformed notification: {e}"))?;
    if event.topic_name == HEARTBEAT_TOPIC {
        return Ok(ChannelMessage::Heartbeat);
    }
    if event.topic_name == SOCKET_CLOSING_TOPIC {
        return Ok(ChannelMessage::Closing);
    }
    if (event.topic_name.contains("system") || event.event_body.get("systemTopicType").is_some())
        && let Some(message) = system_message(&event.topic_name, &event.event_body)
    {
        return Ok(ChannelMessage::System(message));
    }
    if event.topic_name.ends_with(".conversations.calls") {
        return serde_json::from_value::<CallConversation>(event.event_body)
            .map(ChannelMessage::Conversation)
            .map_err(|e| format!("malformed event on {}: {e}", event.topic_name));
    }
    Ok(ChannelMessage::Other(event.topic_name))
}

impl Client {
    /// `POST /api/v2/notifications/channels`.
    pub(crate) async fn create_channel(&self) -> Result<Channel, ApiError> {
        self.send_json(
            Method::POST,
            "/api/v2/notifications/channels",
            &serde_json::json!({}),
        )
        .await
    }

    /// Replaces the channel's subscriptions (`PUT ...?ignoreErrors=true`): topics the platform
    /// rejects come back marked, the others still apply.
    pub(crate) async fn subscribe(
        &self,
        channel_id: &str,
        topics: &[String],
    ) -> Result<Vec<ChannelTopic>, ApiError> {
        let body: Vec<serde_json::Value> = topics
            .iter()
            .map(|t| serde_json::json!({ "id": t }))
            .collect();
        let listing: ChannelTopicEntityListing = self
            .send_json(
                Method::PUT,
                &format!(
                    "/api/v2/notifications/channels/{channel_id}/subscriptions?ignoreErrors=true"
                ),
                &body,
            )
            .await?;
        Ok(listing.entities)
    }

    /// Drops every subscription of a channel we no longer use
    /// (`DELETE .../channels/{id}/subscriptions`), so the platform stops feeding it.
    pub(crate) async fn drop_subscriptions(&self, channel_id: &str) -> Result<(), ApiError> {
        self.delete(&format!(
            "/api/v2/notifications/channels/{channel_id}/subscriptions"
        ))
        .await
    }

    /// Subscribes the channel to `topics`, leaving out those the platform refuses: a failed
    /// permission check comes back as a `Rejected` topic (`ignoreErrors=true`), while an invalid
    /// topic (a deleted queue, say) fails the whole request with 400
    /// `notification.invalid.topic`, so the topics its message names are dropped and the rest
    /// sent again. Returns the topics refused, each with the platform's reason.
    pub(crate) async fn subscribe_what_may_be(
        &self,
        channel_id: &str,
        topics: &[String],
    ) -> Result<Vec<RefusedTopic>, ApiError> {
        let mut refused = Vec::new();
        let mut wanted = topics.to_vec();
        let mut rounds = 0;
        loop {
            rounds += 1;
            match self.subscribe(channel_id, &wanted).await {
                Ok(answer) => {
                    refused.extend(answer.into_iter().filter_map(RefusedTopic::from_rejected));
                    return Ok(refused);
                }
                Err(e)
                    if e.has_code("notification.invalid.topic") && rounds <= MAX_INVALID_ROUNDS =>
                {
                    // Each round drops at least one topic, and the rounds are few.
                    let (invalid, rest): (Vec<String>, Vec<String>) = wanted
                        .into_iter()
                        .partition(|t| e.message.contains(t.as_str()));
                    if invalid.is_empty() {
                        return Err(e);
                    }
                    refused.extend(invalid.into_iter().map(|topic| RefusedTopic {
                        topic,
                        reason: format!("the platform calls the topic invalid: {}", e.message),
                    }));
                    wanted = rest;
                    if wanted.is_empty() {
                        return Ok(refused);
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Creates one channel and subscribes it to `topics` (at most 1,000). Returns the channel
    /// and the topics refused.
    pub(crate) async fn open_channel(
        &self,
        topics: &[String],
    ) -> Result<(Channel, Vec<RefusedTopic>), ApiError> {
        let channel = self.create_channel().await?;
        let refused = self.subscribe_what_may_be(&channel.id, topics).await?;
        Ok((channel, refused))
    }

    /// Creates channels for `topics` (1,000 per channel) and subscribes them. Returns the
    /// channels and a warning for each rejected topic.
    pub async fn open_channels(
        &self,
        topics: &[String],
    ) -> Result<(Vec<Channel>, Vec<String>), ApiError> {
        let mut channels = Vec::new();
        let mut warnings = Vec::new();
        for chunk in topics.chunks(TOPICS_PER_CHANNEL) {
            let (channel, refused) = self.open_channel(chunk).await?;
            warnings.extend(refused.iter().map(RefusedTopic::warning));
            channels.push(channel);
        }
        Ok((channels, warnings))
    }
}

/// A topic the platform would not subscribe, and why (its words, cleaned for the terminal).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefusedTopic {
    pub topic: String,
    pub reason: String,
}

impl RefusedTopic {
    /// A `Rejected` topic of a subscription answer (a failed permission check): the reason and
    /// the permissions it names.
    fn from_rejected(topic: ChannelTopic) -> Option<RefusedTopic> {
        if topic.state != Some(TopicState::Rejected) {
            return None;
        }
        // The missing permissions first: they are what the supervisor can act on.
        let reason = format!(
            "{}{}",
            topic
                .missing_permissions
                .map(|p| format!("missing {}: ", p.join(", ")))
                .unwrap_or_default(),
            topic
                .rejection_reason
                .as_deref()
                .unwrap_or("rejected, no reason given"),
        );
        Some(RefusedTopic {
            topic: clip(&topic.id, 200),
            reason: clip(&reason, 300),
        })
    }

    fn warning(&self) -> String {
        format!("subscription to {} refused: {}", self.topic, self.reason)
    }
}

/// Why a socket session ended.
#[derive(Clone, Debug, PartialEq)]
pub enum SocketEnd {
    /// The platform announced it is closing the socket.
    Closing,
    /// No frame within the heartbeat timeout.
    Silent,
    /// The socket closed or failed.
    Dropped(String),
    /// A message over the answer cap was refused (the socket cannot go on mid-message): the
    /// channel itself is fine, so the same one is reconnected to, however soon it came.
    TooLarge(String),
    /// The platform stopped the channel with a system message.
    Stopped(SystemMessage),
    /// Whoever reads the events is gone: stop.
    ReceiverGone,
}

/// Something the socket says to its owner.
#[derive(Clone, Debug, PartialEq)]
pub enum Signal {
    Conversation(CallConversation),
    /// The socket just dropped; reconnecting (then `Reconnected`). Sent at once, so the
    /// console stops saying "live" the moment frames stop coming.
    Dropped,
    /// Frames may have been lost (a reconnect): re-read what matters.
    Reconnected,
    /// Worth telling the user (never secret).
    Warning(String),
    /// The platform stopped or replaced a channel and what is done about it, in plain words:
    /// worth the status line too (never secret).
    ChannelNotice(String),
}

type WsStream =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Consecutive failed reconnects before a channel gives up (its owner then falls back).
const MAX_RECONNECTS: u32 = 5;

/// Why a socket could not be opened.
#[derive(Clone, Debug, PartialEq)]
enum ConnectError {
    /// The upgrade was refused with a 4xx: the channel is gone (expired or deleted).
    Refused(u16),
    /// Anything else (network, 5xx): worth another try on the same channel.
    Failed(String),
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectError::Refused(status) => {
                write!(f, "the WebSocket upgrade was refused ({status})")
            }
            ConnectError::Failed(e) => f.write_str(e),
        }
    }
}

/// Opens the socket; its frames and messages are capped at `max_message` bytes, the client's
/// answer cap (`CONFWATCH_MAX_ANSWER_BYTES`): a peer cannot make one take all memory.
async fn connect_socket(connect_uri: &str, max_message: usize) -> Result<WsStream, ConnectError> {
    use tokio_tungstenite::tungstenite::Error;
    let limits = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(Some(max_message))
        .max_frame_size(Some(max_message));
    match tokio_tungstenite::connect_async_with_config(connect_uri, Some(limits), false).await {
        Ok((socket, _)) => Ok(socket),
        Err(Error::Http(answer)) if answer.status().is_client_error() => {
            Err(ConnectError::Refused(answer.status().as_u16()))
        }
        Err(e) => Err(ConnectError::Failed(format!(
            "could not open the WebSocket: {e}"
        ))),
    }
}

/// A channel past its `expires` cannot be connected to again; a new one is needed.
fn expired(channel: &Channel) -> bool {
    channel
        .expires
        .as_ref()
        .is_some_and(|expires| expires.0 <= chrono::Utc::now())
}

/// The channels a listener holds, one per 1,000 topics, kept across [`listen_on`] calls so a
/// new listen reuses them (the platform allows 20 channels per app, each living 24 h) instead
/// of making more. Cheap to clone: clones share the slots.
#[derive(Clone, Debug, Default)]
pub struct Channels {
    slots: Arc<Mutex<Vec<Option<Channel>>>>,
    /// Topics the platform refused when the channels were subscribed, with its reasons.
    refused: Arc<Mutex<std::collections::BTreeMap<String, String>>>,
}

impl Channels {
    fn get(&self, index: usize) -> Option<Channel> {
        let slots = self.slots.lock().ok()?;
        slots.get(index).cloned().flatten()
    }

    /// The topics refused at the latest subscription of each channel.
    pub fn refused(&self) -> Vec<RefusedTopic> {
        self.refused
            .lock()
            .map(|r| {
                r.iter()
                    .map(|(topic, reason)| RefusedTopic {
                        topic: topic.clone(),
                        reason: reason.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Notes what the subscription of `topics` refused (and forgets earlier refusals of them).
    fn note_refused(&self, topics: &[String], refused: &[RefusedTopic]) {
        if let Ok(mut known) = self.refused.lock() {
            for topic in topics {
                known.remove(topic);
            }
            for r in refused {
                known.insert(r.topic.clone(), r.reason.clone());
            }
        }
    }

    /// Moves the `expires` of the channel in `index` (if it is still `id`) after a renewal.
    fn extend(&self, index: usize, id: &str, expires: chrono::DateTime<chrono::Utc>) {
        if let Ok(mut slots) = self.slots.lock()
            && let Some(Some(channel)) = slots.get_mut(index)
            && channel.id == id
        {
            channel.expires = Some(crate::wire::Timestamp(expires));
        }
    }

    fn clear(&self, index: usize) {
        if let Ok(mut slots) = self.slots.lock()
            && let Some(slot) = slots.get_mut(index)
        {
            *slot = None;
        }
    }

    fn set(&self, index: usize, channel: Channel) {
        if let Ok(mut slots) = self.slots.lock() {
            if slots.len() <= index {
                slots.resize(index + 1, None);
            }
            slots[index] = Some(channel);
        }
    }
}

/// Connects to the channel in `slot`, reusing it while it is usable; when it is gone (the
/// upgrade refused with a 4xx, or expired), when `fresh` asks for a new one (the platform
/// stopped the old one) or there is none yet, opens a new one for `topics` and drops the old
/// one's subscriptions. Warnings (rejected topics, a replaced channel) go to `notices`, for
/// the caller to pass on once the socket is up (a full queue must not hold up a reconnect).
async fn connect_channel(
    client: &Client,
    channels: &Channels,
    index: usize,
    topics: &[String],
    fresh: bool,
    notices: &mut Vec<Signal>,
) -> Result<WsStream, ApiError> {
    let unavailable = |e: ConnectError| {
        ApiError::new(
            FailureKind::Unavailable,
            "WebSocket connectUri",
            e.to_string(),
        )
    };
    let old = channels.get(index);
    if let Some(channel) = old.as_ref().filter(|c| !fresh && !expired(c)) {
        match connect_socket(connect_uri(channel)?, client.max_answer_bytes()).await {
            Ok(socket) => return Ok(socket),
            Err(ConnectError::Refused(status)) => {
                // Evicted (a 21st channel of this client) or deleted: a new one, said plainly.
                notices.push(notice(format!(
                    "the platform no longer has channel {} (socket refused, {status}); opened a new channel and re-reading the calls",
                    clip(&channel.id, SHOWN_CHARS)
                )));
            }
            Err(e) => return Err(unavailable(e)),
        }
    } else if let Some(channel) = old.as_ref().filter(|c| !fresh && expired(c)) {
        tracing::info!(channel = %channel.id, "channel expired; opening a new one");
    }
    // Until the new one is up, nothing in the slot: a later listen must not reuse a dead one.
    channels.clear(index);
    let (channel, refused) = client.open_channel(topics).await?;
    notices.extend(
        refused
            .iter()
            .map(|r| Signal::Warning(RefusedTopic::warning(r))),
    );
    channels.note_refused(topics, &refused);
    channels.set(index, channel.clone());
    if let Some(old) = old
        && let Err(e) = client.drop_subscriptions(&old.id).await
    {
        // Usually the old channel is gone already (404): nothing left to drop.
        tracing::info!(error = %e, "dropping an old channel's subscriptions");
    }
    connect_socket(connect_uri(&channel)?, client.max_answer_bytes())
        .await
        .map_err(unavailable)
}

/// A notice that says what the platform did to a channel and what we do about it.
fn notice(text: String) -> Signal {
    tracing::warn!("{text}");
    Signal::ChannelNotice(format!("{CHANNEL_NOTICE}{text}"))
}

fn connect_uri(channel: &Channel) -> Result<&str, ApiError> {
    channel.connect_uri.as_deref().ok_or_else(|| {
        ApiError::new(
            FailureKind::Malformed,
            "POST /api/v2/notifications/channels",
            "the channel has no connectUri",
        )
    })
}

/// Connects to `connect_uri` and forwards conversation events until the socket ends.
/// `connected` is called once the socket is open.
pub async fn run_socket(
    connect_uri: &str,
    tx: &mpsc::Sender<Signal>,
    heartbeat_timeout: Duration,
    connected: impl FnOnce(),
) -> SocketEnd {
    match connect_socket(connect_uri, super::http::DEFAULT_MAX_ANSWER_BYTES).await {
        Ok(socket) => {
            connected();
            pump(socket, tx, heartbeat_timeout).await
        }
        Err(e) => SocketEnd::Dropped(e.to_string()),
    }
}

/// Reads frames (and pings now and then) until the socket ends.
async fn pump(
    socket: WsStream,
    tx: &mpsc::Sender<Signal>,
    heartbeat_timeout: Duration,
) -> SocketEnd {
    pump_with(socket, tx, heartbeat_timeout, PING_EVERY).await
}

async fn pump_with(
    mut socket: WsStream,
    tx: &mpsc::Sender<Signal>,
    heartbeat_timeout: Duration,
    ping_every: Duration,
) -> SocketEnd {
    use super::http::MAX_ANSWER_BYTES_VAR;
    use tokio_tungstenite::tungstenite::error::{CapacityError, Error};
    let mut ping = tokio::time::interval(ping_every);
    ping.tick().await;
    // Counted from the last frame received, not from the last loop turn: our own pings must not
    // keep a silent socket alive.
    let mut silent_after = tokio::time::Instant::now() + heartbeat_timeout;
    loop {
        let frame = tokio::select! {
            _ = tx.closed() => return SocketEnd::ReceiverGone,
            _ = tokio::time::sleep_until(silent_after) => return SocketEnd::Silent,
            _ = ping.tick() => {
                let ping = Message::text(r#"{"message":"ping"}"#);
                if let Err(e) = socket.send(ping).await {
                    return SocketEnd::Dropped(format!("sending a ping: {e}"));
                }
                continue;
            }
            frame = socket.next() => frame,
        };
        let message = match frame {
            None => return SocketEnd::Dropped("the socket closed".into()),
            Some(Err(Error::Capacity(CapacityError::MessageTooLong { size, max_size }))) => {
                // Refused before it is read whole: the socket cannot go on mid-message, so it is
                // dropped; the keeper reconnects and the owner re-reads what it may have missed.
                let warning = format!(
                    "a notification of {size} bytes was refused: over the cap of {max_size} \
                     bytes ({MAX_ANSWER_BYTES_VAR} raises it); reconnecting and re-reading the calls"
                );
                tracing::warn!("{warning}");
                if tx.send(Signal::Warning(warning.clone())).await.is_err() {
                    return SocketEnd::ReceiverGone;
                }
                return SocketEnd::TooLarge(warning);
            }
            Some(Err(e)) => return SocketEnd::Dropped(format!("socket error: {e}")),
            Some(Ok(message)) => message,
        };
        silent_after = tokio::time::Instant::now() + heartbeat_timeout;
        let text = match &message {
            Message::Text(text) => text.as_str(),
            Message::Close(_) => {
                return SocketEnd::Dropped("the platform closed the socket".into());
            }
            _ => continue,
        };
        match parse_frame(text) {
            Ok(ChannelMessage::Heartbeat) | Ok(ChannelMessage::Other(_)) => {}
            Ok(ChannelMessage::Closing) => return SocketEnd::Closing,
            Ok(ChannelMessage::System(message)) => {
                tracing::info!(%message, "system message");
                return SocketEnd::Stopped(message);
            }
            Ok(ChannelMessage::Conversation(conversation)) => {
                if tx.send(Signal::Conversation(conversation)).await.is_err() {
                    return SocketEnd::ReceiverGone;
                }
            }
            Err(warning) => {
                tracing::warn!("{warning}");
                if tx.send(Signal::Warning(warning)).await.is_err() {
                    return SocketEnd::ReceiverGone;
                }
            }
        }
    }
}

/// Subscribes to `topics` and keeps the socket(s) up until the receiver drops: reconnects on a
/// drop, a silence or `socket_closing` (to the same channel, whose subscriptions stay; a new
/// channel only when the old one is gone), and sends `Signal::Reconnected` after each reconnect.
/// Used by `confwatch kick` to hear about its target.
pub(crate) async fn listen(client: Client, topics: Vec<String>) -> Result<Listening, ApiError> {
    listen_with(client, topics, HEARTBEAT_TIMEOUT).await
}

/// As [`listen`], with the silence after which a socket counts as dead. The channel is this
/// listener's alone: [`Listening::release`] (or dropping the events) drops its subscriptions
/// too, so a finished kick leaves none behind.
pub async fn listen_with(
    client: Client,
    topics: Vec<String>,
    heartbeat_timeout: Duration,
) -> Result<Listening, ApiError> {
    listen_inner(client, topics, heartbeat_timeout, Channels::default(), true).await
}

/// As [`listen_with`], on the channels held in `channels` (made when there are none): a caller
/// that listens again (after every socket gave up, say) passes the same `Channels` and the
/// same topics, and no channel is made that an old one could serve. The channels stay
/// subscribed for the next listen.
pub async fn listen_on(
    client: Client,
    topics: Vec<String>,
    heartbeat_timeout: Duration,
    channels: Channels,
) -> Result<mpsc::Receiver<Signal>, ApiError> {
    Ok(
        listen_inner(client, topics, heartbeat_timeout, channels, false)
            .await?
            .events,
    )
}

/// A listener: its events, and the tasks keeping its sockets up.
pub struct Listening {
    pub events: mpsc::Receiver<Signal>,
    keepers: Vec<tokio::task::JoinHandle<()>>,
}

impl Listening {
    /// Stops listening and waits (at most `limit`) until the keepers have dropped the channel's
    /// subscriptions: a kick that releases before it reports leaves none behind and counts that
    /// request as its own.
    pub(crate) async fn release(self, limit: Duration) {
        drop(self.events);
        let _ = tokio::time::timeout(limit, futures::future::join_all(self.keepers)).await;
    }
}

async fn listen_inner(
    client: Client,
    topics: Vec<String>,
    heartbeat_timeout: Duration,
    channels: Channels,
    release: bool,
) -> Result<Listening, ApiError> {
    let (tx, rx) = mpsc::channel(256);
    // Every socket is opened before returning, so a caller learns at once when none can be had.
    let chunks: Vec<Vec<String>> = topics
        .chunks(TOPICS_PER_CHANNEL)
        .map(<[String]>::to_vec)
        .collect();
    let mut sockets = Vec::new();
    let mut notices = Vec::new();
    for (index, chunk) in chunks.iter().enumerate() {
        sockets.push(connect_channel(&client, &channels, index, chunk, false, &mut notices).await?);
    }
    for signal in notices {
        let _ = tx.try_send(signal);
    }
    let mut keepers = Vec::new();
    for (index, (chunk, socket)) in chunks.into_iter().zip(sockets).enumerate() {
        let keeper = Keeper {
            client: client.clone(),
            channels: channels.clone(),
            index,
            topics: chunk,
            tx: tx.clone(),
            heartbeat_timeout,
            release,
        };
        keepers.push(tokio::spawn(keeper.run(socket)));
    }
    Ok(Listening {
        events: rx,
        keepers,
    })
}

/// A socket that ends sooner than this after it opened counts as a failed reconnect: the
/// backoff grows and, after [`MAX_RECONNECTS`] in a row, the keeper gives up. So a channel the
/// platform refuses, or closes at once, cannot make a loop.
const QUICK_END: Duration = Duration::from_secs(1);

/// The renewal looks at its channel at least this often (a replaced channel is noticed).
const RENEW_CHECK: Duration = Duration::from_secs(60);
/// Never renew more often than this, however short a channel's life.
const RENEW_MIN: Duration = Duration::from_millis(500);

/// Keeps one channel's socket up, and the channel alive.
struct Keeper {
    client: Client,
    channels: Channels,
    index: usize,
    topics: Vec<String>,
    tx: mpsc::Sender<Signal>,
    heartbeat_timeout: Duration,
    /// Drop the channel's subscriptions when done (the channel is this listener's alone).
    release: bool,
}

/// What to do after a socket ended.
#[derive(Debug, PartialEq)]
enum Next {
    /// The same channel (its subscriptions are still in place).
    Reconnect,
    /// The same channel, subscribed again.
    Resubscribe,
    /// A new channel: the platform stopped this one.
    NewChannel,
}

impl Keeper {
    async fn run(self, socket: WsStream) {
        // The channel is kept alive beside its socket, so it never ends under a live socket.
        tokio::select! {
            _ = self.keep(socket) => {}
            _ = self.renew_forever() => {}
        }
        // Whoever listened is gone (or we gave up): leave no subscriptions behind, so the
        // platform stops feeding the channel and evicts it first when room is needed.
        if self.release
            && let Some(channel) = self.channels.get(self.index)
            && let Err(e) = self.client.drop_subscriptions(&channel.id).await
        {
            tracing::info!(error = %e, "dropping the subscriptions of a channel no longer used");
        }
    }

    /// A channel lives 24 h unless subscribed again: once three quarters of its life have
    /// passed, its subscriptions are sent again (the socket stays as it is, so no event is
    /// missed) and its `expires` moved on by the same life. A failed renewal is tried again a
    /// little later; if the channel ends anyway, the keeper makes a new one as for any gone
    /// channel.
    async fn renew_forever(&self) {
        // The channel being renewed, its life as first seen, and when to renew it.
        let mut watched: Option<(String, Duration, tokio::time::Instant)> = None;
        loop {
            let Some(channel) = self.channels.get(self.index) else {
                tokio::time::sleep(RENEW_CHECK).await;
                continue;
            };
            let now = tokio::time::Instant::now();
            // A channel without an end needs no renewal; one past its end is replaced by the
            // keeper, not renewed.
            let left = channel
                .expires
                .as_ref()
                .and_then(|e| (e.0 - chrono::Utc::now()).to_std().ok())
                .filter(|left| !left.is_zero());
            let Some(left) = left else {
                watched = None;
                tokio::time::sleep(RENEW_CHECK).await;
                continue;
            };
            let (life, renew_at) = match &watched {
                Some((id, life, at)) if *id == channel.id => (*life, *at),
                _ => {
                    // A new channel: its life is what is left of it now.
                    let at = now + (left.mul_f64(0.75)).max(RENEW_MIN);
                    watched = Some((channel.id.clone(), left, at));
                    (left, at)
                }
            };
            if now < renew_at {
                tokio::time::sleep_until(renew_at.min(now + RENEW_CHECK)).await;
                continue;
            }
            match self
                .client
                .subscribe_what_may_be(&channel.id, &self.topics)
                .await
            {
                Ok(refused) => {
                    self.channels.note_refused(&self.topics, &refused);
                    let extended = chrono::Duration::from_std(life).unwrap_or_default();
                    self.channels
                        .extend(self.index, &channel.id, chrono::Utc::now() + extended);
                    watched = Some((
                        channel.id.clone(),
                        life,
                        tokio::time::Instant::now() + life.mul_f64(0.75).max(RENEW_MIN),
                    ));
                    tracing::info!(channel = %channel.id, "channel renewed by subscribing again");
                }
                Err(e) => {
                    tracing::info!(error = %e, "renewing a channel failed; trying again soon");
                    let retry = (life / 20).clamp(Duration::from_millis(200), RENEW_CHECK);
                    watched = Some((
                        channel.id.clone(),
                        life,
                        tokio::time::Instant::now() + retry,
                    ));
                }
            }
        }
    }

    /// What a socket's end calls for, and what to tell the owner (in plain words) when the
    /// platform stopped the channel.
    fn next_after(&self, end: &SocketEnd, lived: Duration, notices: &mut Vec<Signal>) -> Next {
        let ours = self.channels.get(self.index).map(|c| c.id);
        match end {
            SocketEnd::Stopped(message)
                if message.channel_id.is_some() && message.channel_id != ours =>
            {
                tracing::info!(%message, "a system message for another channel");
                Next::Reconnect
            }
            SocketEnd::Stopped(message) => {
                let id = ours
                    .as_deref()
                    .map(|id| clip(id, SHOWN_CHARS))
                    .unwrap_or_default();
                let (next, action) = match message.topic {
                    SystemTopic::NoLongerSubscribed | SystemTopic::TokenRevoked => (
                        Next::NewChannel,
                        "opening a new channel and re-reading the calls",
                    ),
                    SystemTopic::SubscriptionChanged => (
                        Next::Resubscribe,
                        "subscribing again and re-reading the calls",
                    ),
                    SystemTopic::Other(_) => (Next::Reconnect, "reconnecting and re-reading"),
                };
                notices.push(notice(format!(
                    "the platform stopped channel {id}: {message}; {action}"
                )));
                next
            }
            // Closed at once after a reconnect: the channel may be gone without saying so.
            SocketEnd::Dropped(_) | SocketEnd::Closing if lived < QUICK_END => {
                let id = ours
                    .as_deref()
                    .map(|id| clip(id, SHOWN_CHARS))
                    .unwrap_or_default();
                notices.push(notice(format!(
                    "the platform closed channel {id} at once; opening a new channel and re-reading the calls"
                )));
                Next::NewChannel
            }
            _ => Next::Reconnect,
        }
    }

    async fn keep(&self, socket: WsStream) {
        let tx = &self.tx;
        let mut opened = tokio::time::Instant::now();
        let mut end = pump(socket, tx, self.heartbeat_timeout).await;
        let mut failures = 0u32;
        // No socket could be opened at all (network, 5xx): try the same channel again.
        let mut not_opened = false;
        // Told to the owner once a socket is up again, just before `Reconnected`.
        let mut notices = Vec::new();
        loop {
            if end == SocketEnd::ReceiverGone {
                return;
            }
            // The owner hears at once that a socket that was up is down (best effort: a full
            // queue must not hold up the reconnect; `Reconnected` is awaited below, never lost).
            if !not_opened
                && let Err(mpsc::error::TrySendError::Closed(_)) = tx.try_send(Signal::Dropped)
            {
                return;
            }
            let lived = opened.elapsed();
            let next = if not_opened {
                Next::Reconnect
            } else {
                self.next_after(&end, lived, &mut notices)
            };
            // A socket that lived a while was a success: start counting afresh.
            failures = if lived < QUICK_END { failures + 1 } else { 1 };
            if failures > MAX_RECONNECTS {
                let _ = tx
                    .send(Signal::Warning(format!(
                        "notifications lost after {MAX_RECONNECTS} failed reconnects: {end:?}"
                    )))
                    .await;
                return;
            }
            tracing::info!(
                ?end,
                ?next,
                failures,
                "notification socket ended; reconnecting"
            );
            let delay =
                super::retry::SOCKET_RECONNECT.delay(failures.saturating_sub(1), rand::random());
            tokio::select! {
                _ = tx.closed() => return,
                _ = tokio::time::sleep(delay) => {}
            }
            if next == Next::Resubscribe
                && let Some(channel) = self.channels.get(self.index)
            {
                match self
                    .client
                    .subscribe_what_may_be(&channel.id, &self.topics)
                    .await
                {
                    Ok(refused) => self.channels.note_refused(&self.topics, &refused),
                    Err(e) => {
                        tracing::info!(error = %e, "subscribing again failed; a new channel instead");
                        self.channels.clear(self.index);
                    }
                }
            }
            let fresh = next == Next::NewChannel;
            let connected = connect_channel(
                &self.client,
                &self.channels,
                self.index,
                &self.topics,
                fresh,
                &mut notices,
            )
            .await;
            opened = tokio::time::Instant::now();
            not_opened = connected.is_err();
            let socket = match connected {
                Ok(socket) => socket,
                Err(e) => {
                    end = SocketEnd::Dropped(e.to_string());
                    continue;
                }
            };
            // Told once the socket is up again, so a re-read then sees what the gap hid. Awaited:
            // a full queue must delay these, never lose them.
            for signal in std::mem::take(&mut notices) {
                if tx.send(signal).await.is_err() {
                    return;
                }
            }
            if tx.send(Signal::Reconnected).await.is_err() {
                return;
            }
            end = pump(socket, tx, self.heartbeat_timeout).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// System messages are read from the body's `systemTopicType` (or, failing that, the
    /// topic's name); what they say is cleaned of escape codes before anyone shows it.
    #[test]
    fn system_messages_are_read_and_cleaned() {
        let frame = serde_json::json!({
            "topicName": "v2.system.no_longer_subscribed",
            "eventBody": {"channelId": "ch1", "systemTopicType": "no_longer_subscribed",
                          "reason": "another_channel_subscribed\u{1b}[2J"}
        });
        let Ok(ChannelMessage::System(message)) = parse_frame(&frame.to_string()) else {
            panic!("not a system message");
        };
        assert_eq!(message.topic, SystemTopic::NoLongerSubscribed);
        assert_eq!(message.channel_id.as_deref(), Some("ch1"));
        assert_eq!(
            message.to_string(),
            "no_longer_subscribed (another_channel_subscribed[2J)"
        );
        let named_only = serde_json::json!({
            "topicName": "system.v2.token_revoked.ch1", "eventBody": {}
        });
        assert!(matches!(
            parse_frame(&named_only.to_string()),
            Ok(ChannelMessage::System(SystemMessage {
                topic: SystemTopic::TokenRevoked,
                ..
            }))
        ));
        let closing = serde_json::json!({
            "topicName": "v2.system.socket_closing", "eventBody": {"message": "bye"}
        });
        assert_eq!(
            parse_frame(&closing.to_string()),
            Ok(ChannelMessage::Closing)
        );
    }

    /// A WebSocket that accepts, reads what it is sent (pings), and never says a word.
    async fn silent_socket() -> String {
        use axum::extract::ws::WebSocketUpgrade;
        let app = axum::Router::new().route(
            "/ws",
            axum::routing::get(|ws: WebSocketUpgrade| async move {
                ws.on_upgrade(
                    |mut socket| async move { while let Some(Ok(_)) = socket.recv().await {} },
                )
            }),
        );
        let (listener, addr) = crate::platform::fake::bind().await;
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("ws://{addr}/ws")
    }

    /// As in production, pings come more often than the heartbeat timeout: our own pings must
    /// not keep a socket that sends nothing counted as alive.
    #[tokio::test]
    async fn a_silent_socket_is_dead_after_the_heartbeat_timeout_despite_our_pings() {
        let uri = silent_socket().await;
        let socket = connect_socket(&uri, super::super::http::DEFAULT_MAX_ANSWER_BYTES)
            .await
            .unwrap();
        let (tx, _rx) = mpsc::channel(8);
        let heartbeat_timeout = Duration::from_millis(400);
        let ping_every = Duration::from_millis(50);
        // The outer timeout is only a guard against a hang, generous on a busy machine.
        let end = tokio::time::timeout(
            Duration::from_secs(20),
            pump_with(socket, &tx, heartbeat_timeout, ping_every),
        )
        .await;
        assert_eq!(end, Ok(SocketEnd::Silent), "the watchdog never fired");
    }

    /// A platform whose first socket fills the owner's queue (256 events) and closes; later
    /// sockets stay open and quiet. Counts the socket connections.
    async fn flooding_platform() -> (Client, Arc<AtomicUsize>) {
        use axum::extract::ws::{Message as WsMessage, WebSocketUpgrade};
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&connections);
        let (listener, addr) = crate::platform::fake::bind().await;
        let app = axum::Router::new()
            .route(
                "/api/v2/notifications/channels",
                axum::routing::post(move || async move {
                    axum::Json(
                        serde_json::json!({"id": "ch1", "connectUri": format!("ws://{addr}/ws")}),
                    )
                }),
            )
            .route(
                "/api/v2/notifications/channels/{id}/subscriptions",
                axum::routing::put(|| async { axum::Json(serde_json::json!({"entities": []})) }),
            )
            .route(
                "/ws",
                axum::routing::get(move |ws: WebSocketUpgrade| {
                    let first = counted.fetch_add(1, Ordering::SeqCst) == 0;
                    async move {
                        ws.on_upgrade(move |mut socket| async move {
                            if first {
                                let event = serde_json::json!({
                                    "topicName": "v2.users.u1.conversations.calls",
                                    "version": "2",
                                    "eventBody": {"id": "c1", "participants": []}
                                })
                                .to_string();
                                for _ in 0..256 {
                                    if socket
                                        .send(WsMessage::Text(event.clone().into()))
                                        .await
                                        .is_err()
                                    {
                                        return;
                                    }
                                }
                                let _ = socket.send(WsMessage::Close(None)).await;
                                return;
                            }
                            while let Some(Ok(_)) = socket.recv().await {}
                        })
                    }
                }),
            );
        let client = crate::platform::fake::serve(listener, app);
        (client, connections)
    }

    /// Events are not durable: the owner must hear of every reconnect (to re-read), even when
    /// its queue was full at that moment.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_reconnect_is_reported_even_when_the_queue_is_full() {
        let (client, connections) = flooding_platform().await;
        let mut signals = listen_with(client, vec![user_topic("u1")], Duration::from_secs(600))
            .await
            .unwrap()
            .events;
        // Reads nothing until the second socket is up (the guard only stops a hang).
        tokio::time::timeout(Duration::from_secs(20), async {
            while connections.load(Ordering::SeqCst) < 2 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("the client reconnected");
        let mut events = 0;
        let reconnected = tokio::time::timeout(Duration::from_secs(20), async {
            while let Some(signal) = signals.recv().await {
                match signal {
                    Signal::Conversation(_) => events += 1,
                    Signal::Reconnected => return true,
                    Signal::Warning(_) | Signal::ChannelNotice(_) | Signal::Dropped => {}
                }
            }
            false
        })
        .await;
        assert_eq!(events, 256);
        assert_eq!(reconnected, Ok(true), "the reconnect was never reported");
    }

    /// What a [`dying_channel_platform`] saw.
    #[derive(Default)]
    struct ChannelCounts {
        channel_posts: AtomicUsize,
        first_channel_sockets: AtomicUsize,
        first_channel_drops: AtomicUsize,
    }

    /// A platform whose channels are `ch1`, `ch2`, ...; `ch1`'s first socket closes at once and
    /// any later upgrade to it is refused (404, the channel is gone); other sockets stay open.
    /// With `first_expired`, `ch1` comes already past its `expires`.
    async fn dying_channel_platform(first_expired: bool) -> (Client, Arc<ChannelCounts>) {
        use axum::extract::Path;
        use axum::extract::ws::WebSocketUpgrade;
        use axum::http::StatusCode;
        use axum::response::IntoResponse;
        use axum::routing::{get, put};
        let seen = Arc::new(ChannelCounts::default());
        let (listener, addr) = crate::platform::fake::bind().await;
        let (posts, sockets, drops) = (Arc::clone(&seen), Arc::clone(&seen), Arc::clone(&seen));
        let app = axum::Router::new()
            .route(
                "/api/v2/notifications/channels",
                axum::routing::post(move || async move {
                    let n = posts.channel_posts.fetch_add(1, Ordering::SeqCst) + 1;
                    let expires = if n == 1 && first_expired {
                        "2020-01-01T00:00:00.000Z"
                    } else {
                        "2999-01-01T00:00:00.000Z"
                    };
                    axum::Json(serde_json::json!({
                        "id": format!("ch{n}"),
                        "connectUri": format!("ws://{addr}/ws/ch{n}"),
                        "expires": expires,
                    }))
                }),
            )
            .route(
                "/api/v2/notifications/channels/{id}/subscriptions",
                put(|| async { axum::Json(serde_json::json!({"entities": []})) }).delete(
                    move |Path(id): Path<String>| async move {
                        if id == "ch1" {
                            drops.first_channel_drops.fetch_add(1, Ordering::SeqCst);
                        }
                        StatusCode::OK
                    },
                ),
            )
            .route(
                "/ws/{id}",
                get(
                    move |Path(id): Path<String>, ws: WebSocketUpgrade| async move {
                        if id != "ch1" {
                            return ws
                                .on_upgrade(|mut socket| async move {
                                    while let Some(Ok(_)) = socket.recv().await {}
                                })
                                .into_response();
                        }
                        if sockets.first_channel_sockets.fetch_add(1, Ordering::SeqCst) > 0 {
                            return StatusCode::NOT_FOUND.into_response();
                        }
                        // Lives past QUICK_END, so the keeper tries this channel again.
                        ws.on_upgrade(|socket| async move {
                            tokio::time::sleep(QUICK_END + Duration::from_millis(200)).await;
                            drop(socket)
                        })
                        .into_response()
                    },
                ),
            );
        let client = crate::platform::fake::serve(listener, app);
        (client, seen)
    }

    /// Waits for `Signal::Reconnected` (the guard only stops a hang).
    async fn reconnected(signals: &mut mpsc::Receiver<Signal>) -> bool {
        tokio::time::timeout(Duration::from_secs(20), async {
            while let Some(signal) = signals.recv().await {
                if signal == Signal::Reconnected {
                    return true;
                }
            }
            false
        })
        .await
        .unwrap_or(false)
    }

    /// A channel whose socket upgrade is refused (4xx) is gone: a new one is made, once, and
    /// the old one's subscriptions are dropped.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_refused_channel_is_replaced_and_its_subscriptions_dropped() {
        let (client, seen) = dying_channel_platform(false).await;
        let mut signals = listen_with(client, vec![user_topic("u1")], Duration::from_secs(600))
            .await
            .unwrap()
            .events;
        assert!(reconnected(&mut signals).await, "never reconnected");
        assert_eq!(seen.first_channel_sockets.load(Ordering::SeqCst), 2);
        assert_eq!(seen.channel_posts.load(Ordering::SeqCst), 2);
        assert_eq!(seen.first_channel_drops.load(Ordering::SeqCst), 1);
    }

    /// An expired channel is not tried again: a new one is made and the old one dropped.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_expired_channel_is_replaced_without_trying_it() {
        let (client, seen) = dying_channel_platform(true).await;
        let mut signals = listen_with(client, vec![user_topic("u1")], Duration::from_secs(600))
            .await
            .unwrap()
            .events;
        assert!(reconnected(&mut signals).await, "never reconnected");
        assert_eq!(seen.first_channel_sockets.load(Ordering::SeqCst), 1);
        assert_eq!(seen.channel_posts.load(Ordering::SeqCst), 2);
        assert_eq!(seen.first_channel_drops.load(Ordering::SeqCst), 1);
    }
}
