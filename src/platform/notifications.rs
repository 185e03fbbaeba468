//! The Notifications API: channels, subscriptions, the WebSocket stream with a heartbeat
//! watchdog, and reconnects. Events are not durable, so after every reconnect the owner is told
//! (`Signal::Reconnected`) and re-reads what it shows.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use reqwest::Method;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use super::error::{ApiError, FailureKind};
use super::http::Client;
use super::models::{
    CallConversation, Channel, ChannelTopic, ChannelTopicEntityListing, HEARTBEAT_TOPIC,
    NotificationEvent, SOCKET_CLOSING_TOPIC, TopicState,
};

/// At most this many topics per channel (the platform answers 400 beyond).
pub const TOPICS_PER_CHANNEL: usize = 1000;
/// No frame at all (heartbeats included) for this long: the socket is dead.
pub const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(75);
/// How often a ping is sent, so an idle socket shows it is alive.
const PING_EVERY: Duration = Duration::from_secs(30);

pub fn queue_topic(queue_id: &str) -> String {
    format!("v2.routing.queues.{queue_id}.conversations.calls")
}

pub fn user_topic(user_id: &str) -> String {
    format!("v2.users.{user_id}.conversations.calls")
}

/// One frame of the socket, read.
#[derive(Clone, Debug, PartialEq)]
pub enum Frame {
    Heartbeat,
    /// `v2.system.socket_closing`: reconnect now.
    Closing,
    Conversation(CallConversation),
    /// A topic this client does not use (or the pong to a ping).
    Other(String),
}

/// Reads one text frame; a malformed one is an error message, never a panic.
pub fn parse_frame(text: &str) -> Result<Frame, String> {
    let event: NotificationEvent =
        serde_json::from_str(text).map_err(|e| format!("malformed notification: {e}"))?;
    if event.topic_name == HEARTBEAT_TOPIC {
        return Ok(Frame::Heartbeat);
    }
    if event.topic_name == SOCKET_CLOSING_TOPIC {
        return Ok(Frame::Closing);
    }
    if event.topic_name.ends_with(".conversations.calls") {
        return serde_json::from_value::<CallConversation>(event.event_body)
            .map(Frame::Conversation)
            .map_err(|e| format!("malformed event on {}: {e}", event.topic_name));
    }
    Ok(Frame::Other(event.topic_name))
}

impl Client {
    /// `POST /api/v2/notifications/channels`.
    pub async fn create_channel(&self) -> Result<Channel, ApiError> {
        self.send_json(
            Method::POST,
            "/api/v2/notifications/channels",
            &serde_json::json!({}),
        )
        .await
    }

    /// Replaces the channel's subscriptions (`PUT ...?ignoreErrors=true`): topics the platform
    /// rejects come back marked, the others still apply.
    pub async fn subscribe(
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

    /// Creates channels for `topics` (1,000 per channel) and subscribes them. Returns the
    /// channels and a warning for each rejected topic.
    pub async fn open_channels(
        &self,
        topics: &[String],
    ) -> Result<(Vec<Channel>, Vec<String>), ApiError> {
        let mut channels = Vec::new();
        let mut warnings = Vec::new();
        for chunk in topics.chunks(TOPICS_PER_CHANNEL) {
            let channel = self.create_channel().await?;
            for topic in self.subscribe(&channel.id, chunk).await? {
                if topic.state == Some(TopicState::Rejected) {
                    warnings.push(format!(
                        "subscription to {} rejected: {}{}",
                        topic.id,
                        topic
                            .rejection_reason
                            .as_deref()
                            .unwrap_or("no reason given"),
                        topic
                            .missing_permissions
                            .map(|p| format!(" (missing {})", p.join(", ")))
                            .unwrap_or_default()
                    ));
                }
            }
            channels.push(channel);
        }
        Ok((channels, warnings))
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
    /// Whoever reads the events is gone: stop.
    ReceiverGone,
}

/// Something the socket says to its owner.
#[derive(Clone, Debug, PartialEq)]
pub enum Signal {
    Conversation(CallConversation),
    /// Frames may have been lost (a reconnect): re-read what matters.
    Reconnected,
    /// Worth telling the user (never secret).
    Warning(String),
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Consecutive failed reconnects before a channel gives up (its owner then falls back).
const MAX_RECONNECTS: u32 = 5;

async fn connect_socket(connect_uri: &str) -> Result<Socket, String> {
    tokio_tungstenite::connect_async(connect_uri)
        .await
        .map(|(socket, _)| socket)
        .map_err(|e| format!("could not open the WebSocket: {e}"))
}

/// Connects to `connect_uri` and forwards conversation events until the socket ends.
/// `connected` is called once the socket is open.
pub async fn run_socket(
    connect_uri: &str,
    tx: &mpsc::Sender<Signal>,
    heartbeat_timeout: Duration,
    connected: impl FnOnce(),
) -> SocketEnd {
    match connect_socket(connect_uri).await {
        Ok(socket) => {
            connected();
            pump(socket, tx, heartbeat_timeout).await
        }
        Err(e) => SocketEnd::Dropped(e),
    }
}

/// Reads frames (and pings now and then) until the socket ends.
async fn pump(socket: Socket, tx: &mpsc::Sender<Signal>, heartbeat_timeout: Duration) -> SocketEnd {
    pump_with(socket, tx, heartbeat_timeout, PING_EVERY).await
}

async fn pump_with(
    mut socket: Socket,
    tx: &mpsc::Sender<Signal>,
    heartbeat_timeout: Duration,
    ping_every: Duration,
) -> SocketEnd {
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
            Ok(Frame::Heartbeat) | Ok(Frame::Other(_)) => {}
            Ok(Frame::Closing) => return SocketEnd::Closing,
            Ok(Frame::Conversation(conversation)) => {
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
/// drop, a silence or `socket_closing` (to the same channel first, then to a new one), and sends
/// `Signal::Reconnected` after each reconnect. Used by `confwatch kick` to hear about its target.
pub async fn listen(
    client: Client,
    topics: Vec<String>,
) -> Result<mpsc::Receiver<Signal>, ApiError> {
    listen_with(client, topics, HEARTBEAT_TIMEOUT).await
}

/// As [`listen`], with the silence after which a socket counts as dead.
pub async fn listen_with(
    client: Client,
    topics: Vec<String>,
    heartbeat_timeout: Duration,
) -> Result<mpsc::Receiver<Signal>, ApiError> {
    let (channels, warnings) = client.open_channels(&topics).await?;
    let (tx, rx) = mpsc::channel(256);
    for warning in warnings {
        let _ = tx.try_send(Signal::Warning(warning));
    }
    // Every socket is opened before returning, so a caller learns at once when none can be had.
    let mut sockets = Vec::new();
    for channel in &channels {
        let uri = channel.connect_uri.as_deref().ok_or_else(|| {
            ApiError::new(
                FailureKind::Malformed,
                "POST /api/v2/notifications/channels",
                "the channel has no connectUri",
            )
        })?;
        let socket = connect_socket(uri)
            .await
            .map_err(|e| ApiError::new(FailureKind::Unavailable, "WebSocket connectUri", e))?;
        sockets.push(socket);
    }
    for (index, (channel, socket)) in channels.into_iter().zip(sockets).enumerate() {
        let chunk: Vec<String> = topics
            .iter()
            .skip(index * TOPICS_PER_CHANNEL)
            .take(TOPICS_PER_CHANNEL)
            .cloned()
            .collect();
        let client = client.clone();
        let tx = tx.clone();
        tokio::spawn(async move {
            keep_channel(client, channel, chunk, tx, socket, heartbeat_timeout).await
        });
    }
    Ok(rx)
}

async fn keep_channel(
    client: Client,
    mut channel: Channel,
    topics: Vec<String>,
    tx: mpsc::Sender<Signal>,
    socket: Socket,
    heartbeat_timeout: Duration,
) {
    let mut end = pump(socket, &tx, heartbeat_timeout).await;
    let mut failures = 0u32;
    loop {
        if end == SocketEnd::ReceiverGone {
            return;
        }
        failures += 1;
        if failures > MAX_RECONNECTS {
            let _ = tx
                .send(Signal::Warning(format!(
                    "notifications lost after {MAX_RECONNECTS} failed reconnects: {end:?}"
                )))
                .await;
            return;
        }
        tracing::info!(?end, failures, "notification socket ended; reconnecting");
        let delay = Duration::from_millis(200u64.saturating_mul(1 << failures.min(6)))
            .min(Duration::from_secs(10));
        tokio::time::sleep(delay.mul_f64(rand::random::<f64>() * 0.5 + 0.5)).await;
        if failures >= 2 {
            // The channel itself may be gone: make a new one.
            match client.open_channels(&topics).await {
                Ok((mut fresh, _)) if !fresh.is_empty() => channel = fresh.remove(0),
                Ok(_) => {}
                Err(e) => {
                    let _ = tx
                        .send(Signal::Warning(format!("reopening the channel: {e}")))
                        .await;
                }
            }
        }
        let Some(uri) = channel.connect_uri.clone() else {
            continue;
        };
        let socket = match connect_socket(&uri).await {
            Ok(socket) => socket,
            Err(e) => {
                end = SocketEnd::Dropped(e);
                continue;
            }
        };
        // Told once the socket is up again, so a re-read then sees what the gap hid. Awaited:
        // a full queue must delay this, never lose it.
        if tx.send(Signal::Reconnected).await.is_err() {
            return;
        }
        end = pump(socket, &tx, heartbeat_timeout).await;
        failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

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
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("ws://{addr}/ws")
    }

    /// As in production, pings come more often than the heartbeat timeout: our own pings must
    /// not keep a socket that sends nothing counted as alive.
    #[tokio::test]
    async fn a_silent_socket_is_dead_after_the_heartbeat_timeout_despite_our_pings() {
        let uri = silent_socket().await;
        let socket = connect_socket(&uri).await.unwrap();
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
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
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
        tokio::spawn(async move { axum::serve(listener, app).await });
        let base = format!("http://{addr}");
        let client = Client::new(crate::config::ConnectionConfig {
            api_base: base.clone(),
            login_base: base,
            credentials: crate::config::Credentials::AccessToken("t".into()),
            warnings: Vec::new(),
        })
        .unwrap();
        (client, connections)
    }

    /// Events are not durable: the owner must hear of every reconnect (to re-read), even when
    /// its queue was full at that moment.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_reconnect_is_reported_even_when_the_queue_is_full() {
        let (client, connections) = flooding_platform().await;
        let mut signals = listen_with(client, vec![user_topic("u1")], Duration::from_secs(600))
            .await
            .unwrap();
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
                    Signal::Warning(_) => {}
                }
            }
            false
        })
        .await;
        assert_eq!(events, 256);
        assert_eq!(reconnected, Ok(true), "the reconnect was never reported");
    }
}
