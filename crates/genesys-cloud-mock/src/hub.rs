//! The notification hub's data: channels, their topics and their sockets' queues, and the
//! frames it publishes (the HTTP handlers and the socket task are in `notifications.rs`).
//! Sources and how sure: `docs/platform.md`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;

use super::errors::ErrorReply;
use super::shapes::{self, Flavor};
use super::world::CallRecord;
use genesys_cloud_models::{NotificationEvent, NotificationMetadata};

/// At most this many topics per channel.
pub(super) const MAX_TOPICS: usize = 1_000;
/// Frames a socket may have waiting; a slower socket is dropped (its client re-reads).
pub(super) const SOCKET_QUEUE: usize = 4_096;
/// Channels per user and app (NotificationsApi docs, `POST /api/v2/notifications/channels`).
pub(super) const MAX_CHANNELS: usize = 20;
/// Topic names of the system messages the mock sends. Only `socket_closing` is seen in the
/// SDKs; the others are named after it (`docs/platform.md`), their bodies are the SDK's
/// `SystemMessageSystemMessage`.
pub(super) const NO_LONGER_SUBSCRIBED_TOPIC: &str = "v2.system.no_longer_subscribed";
pub(super) const TOKEN_REVOKED_TOPIC: &str = "v2.system.token_revoked";

/// One frame for a socket, sent no sooner than `deliver_at` (event latency fault).
#[derive(Debug, Clone)]
pub(super) struct HubFrame {
    pub(crate) deliver_at: Instant,
    pub(crate) text: Arc<str>,
}

#[derive(Debug)]
pub(super) struct ChannelEntry {
    pub(crate) client_id: String,
    pub(crate) topics: Vec<String>,
    pub(crate) sender: Option<mpsc::Sender<HubFrame>>,
    /// Bumped at each connection, so an old socket does not clear a newer one's sender.
    pub(crate) generation: u64,
    /// Created, connected to or subscribed: the eviction order.
    pub(crate) last_used: Instant,
    /// The token that made it (revoked by the `tokenRevokedAfterSecs` fault).
    pub(crate) token: Option<String>,
    /// When it ends unless subscribed again (24 h on the platform).
    pub(crate) expires_at: Option<Instant>,
}

/// Channels, their topics and their sockets' queues.
#[derive(Debug, Default)]
pub(super) struct Hub {
    channels: HashMap<String, ChannelEntry>,
    by_topic: HashMap<String, HashSet<String>>,
    /// Frames handed to sockets, and sockets dropped for being slow.
    pub(crate) frames_queued: u64,
    pub(crate) slow_sockets_dropped: u64,
    /// Channels removed to make room for a client's 21st.
    pub(crate) channels_evicted: u64,
}

pub(super) fn frame_text(topic: &str, body: &serde_json::Value) -> Arc<str> {
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

pub(super) fn system_frame(topic: &str, message: &str) -> String {
    frame_text(topic, &serde_json::json!({ "message": message })).to_string()
}

/// The body of a system message, in the shape of the SDK's `SystemMessageSystemMessage`.
pub(super) fn system_message_frame(
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
    pub(super) fn create_channel(&mut self, id: String, client_id: &str) -> Option<String> {
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
                expires_at: None,
            },
        );
        evicted
    }

    pub(super) fn evict_for(&mut self, client_id: &str) -> Option<String> {
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
    pub(super) fn remove_channel(&mut self, id: &str) {
        let _ = self.set_topics_of(id, Vec::new());
        self.channels.remove(id);
    }

    /// Whether the channel still exists.
    pub(super) fn exists(&self, id: &str) -> bool {
        self.channels.contains_key(id)
    }

    /// The channels of `client_id`.
    #[cfg(test)]
    pub(super) fn channel_count(&self, client_id: &str) -> usize {
        self.channels
            .values()
            .filter(|c| c.client_id == client_id)
            .count()
    }

    /// Notes the token that made a channel.
    pub(super) fn set_token(&mut self, id: &str, token: &str) {
        if let Some(entry) = self.channels.get_mut(id) {
            entry.token = Some(token.to_string());
        }
    }

    /// Sets when the channel ends (at creation, and again at each subscription).
    pub(super) fn set_expiry(&mut self, id: &str, at: Instant) {
        if let Some(entry) = self.channels.get_mut(id) {
            entry.expires_at = Some(at);
        }
    }

    pub(super) fn expiry_of(&self, id: &str) -> Option<Instant> {
        self.channels.get(id).and_then(|c| c.expires_at)
    }

    pub(super) fn token_of(&self, id: &str) -> Option<String> {
        self.channels.get(id).and_then(|c| c.token.clone())
    }

    pub(super) fn owned(&self, id: &str, client_id: &str) -> Result<&ChannelEntry, ErrorReply> {
        self.channels
            .get(id)
            .filter(|c| c.client_id == client_id)
            .ok_or_else(|| ErrorReply::not_found(format!("Channel {id} not found.")))
    }

    pub(super) fn topics(&self, id: &str, client_id: &str) -> Result<Vec<String>, ErrorReply> {
        Ok(self.owned(id, client_id)?.topics.clone())
    }

    /// Replaces the topics of a channel.
    pub(super) fn set_topics(
        &mut self,
        id: &str,
        client_id: &str,
        topics: Vec<String>,
    ) -> Result<(), ErrorReply> {
        self.owned(id, client_id)?;
        self.set_topics_of(id, topics)
    }

    pub(super) fn set_topics_of(
        &mut self,
        id: &str,
        topics: Vec<String>,
    ) -> Result<(), ErrorReply> {
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
    pub(super) fn connect(&mut self, id: &str) -> Option<(mpsc::Receiver<HubFrame>, u64)> {
        let entry = self.channels.get_mut(id)?;
        let (sender, receiver) = mpsc::channel(SOCKET_QUEUE);
        entry.sender = Some(sender);
        entry.generation += 1;
        entry.last_used = Instant::now();
        Some((receiver, entry.generation))
    }

    pub(super) fn disconnect(&mut self, id: &str, generation: u64) {
        if let Some(entry) = self.channels.get_mut(id)
            && entry.generation == generation
        {
            entry.sender = None;
        }
    }

    /// Drops every socket (for shutdown and reset).
    pub(super) fn disconnect_all(&mut self) {
        for entry in self.channels.values_mut() {
            entry.sender = None;
        }
    }

    /// Sends the call as it now stands to every channel subscribed to its queue or its users.
    pub(super) fn publish(&mut self, call: &CallRecord, deliver_at: Instant) {
        if self.by_topic.is_empty() {
            return;
        }
        let mut call_body: Option<serde_json::Value> = None;
        let mut generic_body: Option<serde_json::Value> = None;
        // Every queue the call has been in hears of it, to its end (a transfer's earlier queue too).
        let mut topics = Vec::new();
        for queue_id in call.queue_ids() {
            topics.push((
                format!("v2.routing.queues.{queue_id}.conversations.calls"),
                false,
            ));
            topics.push((format!("v2.routing.queues.{queue_id}.conversations"), true));
        }
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
                if let Some(entry) = self.channels.get_mut(channel_id) {
                    let frame = HubFrame {
                        deliver_at,
                        text: text.clone(),
                    };
                    let counts = (&mut self.frames_queued, &mut self.slow_sockets_dropped);
                    hand(channel_id, entry, frame, counts);
                }
            }
        }
    }

    /// Hands one frame to every connected socket, whatever its topics (the control API's
    /// oversized notification); returns how many took it.
    pub(super) fn send_to_every_socket(&mut self, text: Arc<str>) -> usize {
        let mut taken = 0;
        for (channel_id, entry) in &mut self.channels {
            let frame = HubFrame {
                deliver_at: Instant::now(),
                text: text.clone(),
            };
            let counts = (&mut self.frames_queued, &mut self.slow_sockets_dropped);
            taken += usize::from(hand(channel_id, entry, frame, counts));
        }
        taken
    }
}

/// Queues a frame for a channel's socket, if one is connected; a socket too slow to take it is
/// dropped (its client re-reads). Counts into (frames queued, slow sockets dropped).
fn hand(
    channel_id: &str,
    entry: &mut ChannelEntry,
    frame: HubFrame,
    (queued, slow): (&mut u64, &mut u64),
) -> bool {
    let Some(sender) = &entry.sender else {
        return false;
    };
    match sender.try_send(frame) {
        Ok(()) => {
            *queued += 1;
            true
        }
        Err(mpsc::error::TrySendError::Full(_)) => {
            tracing::warn!(channel = %channel_id, "mock: socket too slow, dropping it");
            *slow += 1;
            entry.sender = None;
            false
        }
        Err(mpsc::error::TrySendError::Closed(_)) => {
            entry.sender = None;
            false
        }
    }
}

/// A heartbeat padded to more than `bytes` (`POST /mock/notifications/oversized`): a client
/// with a smaller message cap must refuse it; any other reads it as a heartbeat.
pub(super) fn oversized_frame(bytes: usize) -> Arc<str> {
    let body = serde_json::json!({
        "message": "WebSocket Heartbeat",
        "padding": "x".repeat(bytes),
    });
    frame_text("channel.metadata", &body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use genesys_cloud_models::ParticipantState;

    #[test]
    fn an_oversized_frame_reaches_every_connected_socket() {
        let mut hub = Hub::default();
        for id in ["a", "b", "idle"] {
            hub.create_channel(id.into(), "client");
        }
        let (mut a, _) = hub.connect("a").unwrap();
        let (mut b, _) = hub.connect("b").unwrap();
        assert_eq!(hub.send_to_every_socket(oversized_frame(100_000)), 2);
        for receiver in [&mut a, &mut b] {
            let frame = receiver.try_recv().unwrap();
            assert!(frame.text.len() > 100_000);
            let value: serde_json::Value = serde_json::from_str(&frame.text).unwrap();
            assert_eq!(value["topicName"], "channel.metadata");
        }
    }

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
