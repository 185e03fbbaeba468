//! Serde types for the platform's JSON shapes (see `tests/models.json`, copied from
//! `shared/platform/models.json`). Absent values are omitted on output, never `null`, because
//! the official SDK crashes on a `null` enum. Unknown enum values are kept as `Other(String)` and
//! unknown keys are kept in `extra`, so newer platform answers never fail to parse.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// An ISO-8601 UTC instant, written with milliseconds as the platform does
/// (`2026-11-28T06:18:02.000Z`); read in any RFC 3339 form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub DateTime<Utc>);

impl Timestamp {
    pub fn now() -> Self {
        Timestamp(Utc::now())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_rfc3339_opts(SecondsFormat::Millis, true))
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(value: DateTime<Utc>) -> Self {
        Timestamp(value)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| Timestamp(t.with_timezone(&Utc)))
            .map_err(|e| serde::de::Error::custom(format!("invalid date {text:?}: {e}")))
    }
}

/// Declares a string enum that keeps unknown values as `Other(String)` instead of failing.
/// Each variant lists its wire name first; extra names are accepted when reading (aliases).
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $wire:literal $(| $alias:literal)*),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($variant,)+
            /// A value this build does not know; kept as sent.
            Other(String),
        }

        impl $name {
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $wire,)+
                    Self::Other(other) => other.as_str(),
                }
            }

            /// Every known value, in declaration order.
            pub const ALL: &'static [$name] = &[$(Self::$variant),+];
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                match value {
                    $($wire $(| $alias)* => Self::$variant,)+
                    other => Self::Other(other.to_string()),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                Ok(Self::from(text.as_ref()))
            }
        }
    };
}

string_enum!(
    /// The state of a participant's leg (`CallMediaParticipant.state` and its twins).
    /// `scheduled` is valid only in notification bodies; `parked` is absent from `Call.state`.
    ParticipantState {
        Alerting => "alerting",
        Dialing => "dialing",
        Contacting => "contacting",
        Offering => "offering",
        Connected => "connected",
        Disconnected => "disconnected",
        Terminated => "terminated",
        Converting => "converting",
        Uploading => "uploading",
        Transmitting => "transmitting",
        Scheduled => "scheduled",
        Parked => "parked",
        None => "none",
    }
);

impl ParticipantState {
    /// The leg has ended (or never existed).
    pub fn is_gone(&self) -> bool {
        matches!(self, Self::Disconnected | Self::Terminated)
    }

    /// The leg is part of the call now or about to be.
    pub fn is_live(&self) -> bool {
        !self.is_gone() && !matches!(self, Self::None)
    }

    /// The leg is still being set up or is changing state: the platform may refuse to
    /// remove it (the 409 field reports), so a kick waits for it to settle.
    pub fn is_unsettled(&self) -> bool {
        matches!(
            self,
            Self::Alerting
                | Self::Dialing
                | Self::Contacting
                | Self::Offering
                | Self::Converting
                | Self::Scheduled
        )
    }
}

string_enum!(
    /// `disconnectType`. GET answers spell two values `*.donotdisturb`; notification bodies spell
    /// them `*.dnd`. Both are read; `as_str` gives the GET spelling, `event_str` the other.
    DisconnectType {
        Endpoint => "endpoint",
        EndpointDnd => "endpoint.donotdisturb" | "endpoint.dnd",
        Client => "client",
        System => "system",
        Timeout => "timeout",
        Transfer => "transfer",
        TransferConference => "transfer.conference",
        TransferConsult => "transfer.consult",
        TransferDnd => "transfer.donotdisturb" | "transfer.dnd",
        TransferForward => "transfer.forward",
        TransferNoAnswer => "transfer.noanswer",
        TransferNotAvailable => "transfer.notavailable",
        TransportFailure => "transport.failure",
        Error => "error",
        Peer => "peer",
        Unspecified => "other",
        Spam => "spam",
        Uncallable => "uncallable",
        Inactivity => "inactivity",
        SessionExpired => "session.expired",
        Takeover => "takeover",
    }
);

impl DisconnectType {
    /// The spelling used in notification bodies (`QueueConversationCallEventTopicCallMediaParticipant`).
    pub fn event_str(&self) -> &str {
        match self {
            Self::EndpointDnd => "endpoint.dnd",
            Self::TransferDnd => "transfer.dnd",
            other => other.as_str(),
        }
    }
}

string_enum!(
    Direction {
        Inbound => "inbound",
        Outbound => "outbound",
    }
);

string_enum!(
    /// `ChannelTopic.state`.
    TopicState {
        Permitted => "Permitted",
        Rejected => "Rejected",
    }
);

/// `DomainEntityRef` (GET answers) and `QueueConversationCallEventTopicUriReference` (events).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityRef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
}

/// `CallConversation` (GET `/api/v2/conversations/calls/{id}`); the same fields arrive in the
/// notification shape `QueueConversationCallEventTopicCallConversation`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallConversation {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default)]
    pub participants: Vec<CallMediaParticipant>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_participants: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recording_state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
    /// Keys this build does not model, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl CallConversation {
    pub fn participant(&self, participant_id: &str) -> Option<&CallMediaParticipant> {
        self.participants.iter().find(|p| p.id == participant_id)
    }

    /// Legs that are part of the call now (not disconnected or terminated).
    pub fn live_participants(&self) -> impl Iterator<Item = &CallMediaParticipant> {
        self.participants.iter().filter(|p| p.state.is_live())
    }
}

/// `CallMediaParticipant` (and, in events, `QueueConversationCallEventTopicCallMediaParticipant`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallMediaParticipant {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_alerting_time: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connected_time: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_hold_time: Option<Timestamp>,
    /// A free string on the platform: agent, user, customer, external, acd, ivr, voicemail, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    #[serde(default = "unknown_state")]
    pub state: ParticipantState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disconnect_type: Option<DisconnectType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub muted: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confined: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wrapup_required: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<EntityRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<EntityRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consult_participant_id: Option<String>,
    /// Keys this build does not model, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn unknown_state() -> ParticipantState {
    ParticipantState::None
}

impl CallMediaParticipant {
    /// A participant with only an id, purpose and state; the rest absent.
    pub fn new(id: impl Into<String>, purpose: &str, state: ParticipantState) -> Self {
        CallMediaParticipant {
            id: id.into(),
            name: None,
            address: None,
            start_time: None,
            start_alerting_time: None,
            connected_time: None,
            end_time: None,
            start_hold_time: None,
            purpose: Some(purpose.to_string()),
            state,
            direction: None,
            disconnect_type: None,
            held: None,
            muted: None,
            confined: None,
            wrapup_required: None,
            user: None,
            queue: None,
            consult_participant_id: None,
            extra: Map::new(),
        }
    }

    pub fn user_id(&self) -> Option<&str> {
        self.user.as_ref().and_then(|u| u.id.as_deref())
    }

    pub fn queue_id(&self) -> Option<&str> {
        self.queue.as_ref().and_then(|q| q.id.as_deref())
    }

    pub fn purpose(&self) -> &str {
        self.purpose.as_deref().unwrap_or("")
    }

    /// Customers and external parties are protected by the kick's safety rule.
    pub fn is_customer_side(&self) -> bool {
        matches!(self.purpose(), "customer" | "external")
    }

    pub fn is_held(&self) -> bool {
        self.held.unwrap_or(false)
    }

    pub fn is_muted(&self) -> bool {
        self.muted.unwrap_or(false)
    }
}

/// `Conversation` (GET `/api/v2/conversations/{id}`): the media-agnostic shape.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Conversation {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default)]
    pub participants: Vec<Participant>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_participants: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<ParticipantState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `Participant` of the generic `Conversation`: per-leg state lives in `calls[]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Participant {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connected_time: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participant_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consult_participant_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wrapup_required: Option<bool>,
    #[serde(default)]
    pub calls: Vec<Call>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `Call`: one call leg of a generic `Participant`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Call {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<ParticipantState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub muted: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confined: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disconnect_type: Option<DisconnectType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_alerting_time: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connected_time: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disconnected_time: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_hold_time: Option<Timestamp>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `MediaParticipantRequest`: the body of the participant PATCH.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaParticipantRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<ParticipantState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub muted: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confined: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recording: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wrapup_skipped: Option<bool>,
}

impl MediaParticipantRequest {
    /// The kick's body: `{"state":"disconnected"}`.
    pub fn disconnect() -> Self {
        MediaParticipantRequest {
            state: Some(ParticipantState::Disconnected),
            ..Default::default()
        }
    }
}

/// `ErrorBody`: every error answer of the platform.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_with_params: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_params: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Vec<ErrorDetail>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<ErrorBody>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<Value>,
}

/// `Detail` inside an `ErrorBody`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorDetail {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_name: Option<String>,
}

/// The client-credentials token answer of `POST /oauth/token`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    #[serde(default)]
    pub token_type: String,
    #[serde(default)]
    pub expires_in: u64,
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"<redacted>")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// `Channel` (POST `/api/v2/notifications/channels`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Channel {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_uri: Option<String>,
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<Timestamp>,
}

/// `ChannelTopic`: one subscription of a channel (requests send only `id`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelTopic {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<TopicState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing_permissions: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
}

/// `ChannelTopicEntityListing`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ChannelTopicEntityListing {
    #[serde(default)]
    pub entities: Vec<ChannelTopic>,
}

/// One frame of the notifications WebSocket.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationEvent {
    pub topic_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default)]
    pub event_body: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<NotificationMetadata>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NotificationMetadata {
    #[serde(
        rename = "CorrelationId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub correlation_id: Option<String>,
}

/// Topic of the WebSocket heartbeats.
pub const HEARTBEAT_TOPIC: &str = "channel.metadata";
/// Topic the platform sends before it closes a socket.
pub const SOCKET_CLOSING_TOPIC: &str = "v2.system.socket_closing";

/// `Queue` (the fields the console uses; the rest kept in `extra`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Queue {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_count: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `QueueEntityListing` (GET `/api/v2/routing/queues`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueEntityListing {
    #[serde(default)]
    pub entities: Vec<Queue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_number: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_count: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_uri: Option<String>,
}

/// `ConversationQuery` (POST `/api/v2/analytics/conversations/details/query`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_filters: Option<Vec<QueryFilter>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment_filters: Option<Vec<QueryFilter>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paging: Option<PagingSpec>,
}

/// `ConversationDetailQueryFilter` / `SegmentDetailQueryFilter` (same keys).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryFilter {
    /// `and` or `or`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clauses: Option<Vec<QueryClause>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicates: Option<Vec<QueryPredicate>>,
}

/// `ConversationDetailQueryClause` / `SegmentDetailQueryClause`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryClause {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub predicates: Vec<QueryPredicate>,
}

/// `ConversationDetailQueryPredicate` / `SegmentDetailQueryPredicate`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryPredicate {
    /// `dimension`, `property` or `metric`; the platform defaults to `dimension`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimension: Option<String>,
    /// `matches` (the default), `exists` or `notExists`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// `PagingSpec`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PagingSpec {
    pub page_size: i64,
    pub page_number: i64,
}

/// `AnalyticsConversationQueryResponse`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalyticsConversationQueryResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversations: Option<Vec<AnalyticsConversation>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_hits: Option<i64>,
}

/// `AnalyticsConversationWithoutAttributes`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalyticsConversation {
    pub conversation_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_start: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_end: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conference_start: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub originating_direction: Option<Direction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_initiator: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_participation: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub division_ids: Option<Vec<String>>,
    #[serde(default)]
    pub participants: Vec<AnalyticsParticipant>,
}

/// `AnalyticsParticipantWithoutAttributes`. `purpose` is an enum here (acd, agent, customer, ...).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalyticsParticipant {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participant_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participant_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default)]
    pub sessions: Vec<AnalyticsSession>,
}

/// `AnalyticsSession` (the fields the console reads). `mediaType` is `voice` for calls.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalyticsSession {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ani: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dnis: Option<String>,
    #[serde(default)]
    pub segments: Vec<AnalyticsSegment>,
}

/// `AnalyticsConversationSegment` (the fields the console reads).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalyticsSegment {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment_start: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment_end: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conference: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disconnect_type: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_enum_values_are_kept() {
        let p: CallMediaParticipant =
            serde_json::from_str(r#"{"id":"p1","state":"teleporting","purpose":"agent"}"#).unwrap();
        assert_eq!(p.state, ParticipantState::Other("teleporting".into()));
        assert_eq!(serde_json::to_value(&p).unwrap()["state"], "teleporting");
    }

    #[test]
    fn unknown_keys_are_kept_and_absent_values_omitted() {
        let text = r#"{"id":"c1","participants":[{"id":"p1","state":"connected","futureKey":{"a":1}}],"newThing":true}"#;
        let c: CallConversation = serde_json::from_str(text).unwrap();
        assert_eq!(c.extra["newThing"], Value::Bool(true));
        let back = serde_json::to_value(&c).unwrap();
        assert_eq!(back["participants"][0]["futureKey"]["a"], 1);
        assert!(back.get("maxParticipants").is_none());
        assert!(!serde_json::to_string(&c).unwrap().contains("null"));
    }

    #[test]
    fn disconnect_type_reads_both_spellings() {
        assert_eq!(
            DisconnectType::from("endpoint.dnd"),
            DisconnectType::EndpointDnd
        );
        assert_eq!(
            DisconnectType::from("endpoint.donotdisturb"),
            DisconnectType::EndpointDnd
        );
        assert_eq!(
            DisconnectType::EndpointDnd.as_str(),
            "endpoint.donotdisturb"
        );
        assert_eq!(DisconnectType::EndpointDnd.event_str(), "endpoint.dnd");
    }

    #[test]
    fn timestamps_have_milliseconds() {
        let t: Timestamp = serde_json::from_str(r#""2026-11-28T06:18:02Z""#).unwrap();
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            r#""2026-11-28T06:18:02.000Z""#
        );
        assert!(serde_json::from_str::<Timestamp>("12345").is_err());
    }

    #[test]
    fn token_debug_is_redacted() {
        let t = TokenResponse {
            access_token: "secret-token".into(),
            token_type: "bearer".into(),
            expires_in: 60,
        };
        assert!(!format!("{t:?}").contains("secret-token"));
    }
}
