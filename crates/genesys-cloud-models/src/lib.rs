//! Serde types for the platform's JSON shapes (see `tests/models.json`, copied from
//! `shared/platform/models.json`). Absent values are omitted on output, never `null`, because
//! the official SDK crashes on a `null` enum: every struct carries `skip_serializing_none`. Unknown enum values are kept as `Other(String)` and
//! unknown keys are kept in `extra`, so newer platform answers never fail to parse.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use serde_with::skip_serializing_none;

/// A secret string (a token, a client secret, a PKCE verifier or code): `Debug` never shows it,
/// and there is no `Display`; [`Secret::expose`] is the one way to the text. Serialized as the
/// plain string (a token answer, a token file).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Secret {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Secret {
        Secret(value.to_string())
    }
}

/// For command-line flags (clap parses a flag's value with it).
impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(value: &str) -> Result<Secret, Self::Err> {
        Ok(Secret::from(value))
    }
}

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

            /// Every known value, in declaration order (for the round-trip test).
            #[cfg(test)]
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

string_enum!(
    /// Why a participant is on a call: `CallMediaParticipant.purpose` and `Participant.purpose`
    /// (free strings on the platform) and `AnalyticsParticipantWithoutAttributes.purpose` (this
    /// enum in `models.json`). Any other value is kept as sent.
    Purpose {
        Acd => "acd",
        Agent => "agent",
        Api => "api",
        Botflow => "botflow",
        Campaign => "campaign",
        Customer => "customer",
        Dialer => "dialer",
        External => "external",
        Fax => "fax",
        Group => "group",
        Inbound => "inbound",
        Ivr => "ivr",
        Manual => "manual",
        Outbound => "outbound",
        Station => "station",
        User => "user",
        Voicemail => "voicemail",
        VoiceSurveyFlow => "voicesurveyflow",
        Workflow => "workflow",
    }
);

impl Purpose {
    /// Customers and external parties: the outside of the call, protected by the kick's safety
    /// rule and never placed on two live calls by the mock.
    pub fn is_customer_side(&self) -> bool {
        matches!(self, Self::Customer | Self::External)
    }

    /// A person of the organization on the call: an agent or another user.
    pub fn is_agent(&self) -> bool {
        matches!(self, Self::Agent | Self::User)
    }
}

/// Compares with the wire string (`leg.purpose() == "agent"`).
impl PartialEq<&str> for Purpose {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

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
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityRef {
    pub id: Option<String>,
    pub name: Option<String>,
    pub self_uri: Option<String>,
}

/// `CallConversation` (GET `/api/v2/conversations/calls/{id}`); the same fields arrive in the
/// notification shape `QueueConversationCallEventTopicCallConversation`.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallConversation {
    pub id: String,
    pub name: Option<String>,
    #[serde(default)]
    pub participants: Vec<CallMediaParticipant>,
    pub max_participants: Option<i64>,
    pub recording_state: Option<String>,
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
#[skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallMediaParticipant {
    pub id: String,
    pub name: Option<String>,
    pub address: Option<String>,
    pub start_time: Option<Timestamp>,
    pub start_alerting_time: Option<Timestamp>,
    pub connected_time: Option<Timestamp>,
    pub end_time: Option<Timestamp>,
    pub start_hold_time: Option<Timestamp>,
    /// A free string on the platform: a known value is typed, any other kept as sent.
    pub purpose: Option<Purpose>,
    #[serde(default = "unknown_state")]
    pub state: ParticipantState,
    pub direction: Option<Direction>,
    pub disconnect_type: Option<DisconnectType>,
    pub held: Option<bool>,
    pub muted: Option<bool>,
    pub confined: Option<bool>,
    pub wrapup_required: Option<bool>,
    pub user: Option<EntityRef>,
    pub queue: Option<EntityRef>,
    pub consult_participant_id: Option<String>,
    /// Keys this build does not model, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn unknown_state() -> ParticipantState {
    ParticipantState::None
}

impl CallMediaParticipant {
    /// The name a person would call this party: its own name, its user's, or its address (an
    /// external number). One rule for the rows, the dialog, the kick's progress and the audit.
    pub fn display_name(&self) -> Option<String> {
        self.name
            .clone()
            .or_else(|| self.user.as_ref().and_then(|u| u.name.clone()))
            .or_else(|| self.address.clone())
    }

    /// A participant with only an id, purpose and state; the rest absent.
    pub fn new(
        id: impl Into<String>,
        purpose: impl Into<Purpose>,
        state: ParticipantState,
    ) -> Self {
        CallMediaParticipant {
            id: id.into(),
            name: None,
            address: None,
            start_time: None,
            start_alerting_time: None,
            connected_time: None,
            end_time: None,
            start_hold_time: None,
            purpose: Some(purpose.into()),
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

    /// The purpose as a type (an absent one is the empty `Other`, as the empty string before).
    pub fn purpose(&self) -> Purpose {
        self.purpose.clone().unwrap_or_else(|| Purpose::from(""))
    }

    /// Customers and external parties are protected by the kick's safety rule.
    pub fn is_customer_side(&self) -> bool {
        self.purpose().is_customer_side()
    }

    pub fn is_held(&self) -> bool {
        self.held.unwrap_or(false)
    }

    pub fn is_muted(&self) -> bool {
        self.muted.unwrap_or(false)
    }
}

/// `Conversation` (GET `/api/v2/conversations/{id}`): the media-agnostic shape.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Conversation {
    pub id: String,
    pub name: Option<String>,
    pub start_time: Option<Timestamp>,
    pub end_time: Option<Timestamp>,
    pub address: Option<String>,
    #[serde(default)]
    pub participants: Vec<Participant>,
    pub max_participants: Option<i64>,
    pub state: Option<ParticipantState>,
    pub self_uri: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `Participant` of the generic `Conversation`: per-leg state lives in `calls[]`.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Participant {
    pub id: String,
    pub start_time: Option<Timestamp>,
    pub end_time: Option<Timestamp>,
    pub connected_time: Option<Timestamp>,
    pub name: Option<String>,
    pub user_id: Option<String>,
    pub queue_id: Option<String>,
    pub queue_name: Option<String>,
    pub purpose: Option<Purpose>,
    pub participant_type: Option<String>,
    pub consult_participant_id: Option<String>,
    pub address: Option<String>,
    pub wrapup_required: Option<bool>,
    #[serde(default)]
    pub calls: Vec<Call>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `Call`: one call leg of a generic `Participant`.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Call {
    pub id: Option<String>,
    pub state: Option<ParticipantState>,
    pub direction: Option<Direction>,
    pub held: Option<bool>,
    pub muted: Option<bool>,
    pub confined: Option<bool>,
    pub disconnect_type: Option<DisconnectType>,
    pub start_alerting_time: Option<Timestamp>,
    pub connected_time: Option<Timestamp>,
    pub disconnected_time: Option<Timestamp>,
    pub start_hold_time: Option<Timestamp>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `MediaParticipantRequest`: the body of the participant PATCH.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaParticipantRequest {
    pub state: Option<ParticipantState>,
    pub held: Option<bool>,
    pub muted: Option<bool>,
    pub confined: Option<bool>,
    pub recording: Option<bool>,
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
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    pub message: Option<String>,
    pub code: Option<String>,
    pub status: Option<u16>,
    pub entity_id: Option<String>,
    pub entity_name: Option<String>,
    pub message_with_params: Option<String>,
    pub message_params: Option<BTreeMap<String, String>>,
    pub context_id: Option<String>,
    pub details: Option<Vec<ErrorDetail>>,
    pub errors: Option<Vec<ErrorBody>>,
    pub limit: Option<Value>,
}

/// `Detail` inside an `ErrorBody`.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorDetail {
    pub error_code: Option<String>,
    pub field_name: Option<String>,
    pub entity_id: Option<String>,
    pub entity_name: Option<String>,
}

/// The client-credentials token answer of `POST /oauth/token`.
#[skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: Secret,
    #[serde(default)]
    pub token_type: String,
    #[serde(default)]
    pub expires_in: u64,
}

/// `Channel` (POST `/api/v2/notifications/channels`).
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Channel {
    pub connect_uri: Option<String>,
    pub id: String,
    pub expires: Option<Timestamp>,
}

/// `ChannelTopic`: one subscription of a channel (requests send only `id`).
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelTopic {
    pub id: String,
    pub state: Option<TopicState>,
    pub rejection_reason: Option<String>,
    pub missing_permissions: Option<Vec<String>>,
    pub self_uri: Option<String>,
}

/// `ChannelTopicEntityListing`.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ChannelTopicEntityListing {
    #[serde(default)]
    pub entities: Vec<ChannelTopic>,
}

/// One frame of the notifications WebSocket.
#[skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationEvent {
    pub topic_name: String,
    pub version: Option<String>,
    #[serde(default)]
    pub event_body: Value,
    pub metadata: Option<NotificationMetadata>,
}

#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NotificationMetadata {
    #[serde(rename = "CorrelationId")]
    pub correlation_id: Option<String>,
}

/// Topic of the WebSocket heartbeats.
pub const HEARTBEAT_TOPIC: &str = "channel.metadata";
/// Topic the platform sends before it closes a socket.
pub const SOCKET_CLOSING_TOPIC: &str = "v2.system.socket_closing";

/// `Queue` (the fields the console uses; the rest kept in `extra`).
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Queue {
    pub id: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub member_count: Option<i64>,
    pub self_uri: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `QueueEntityListing` (GET `/api/v2/routing/queues`).
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueEntityListing {
    #[serde(default)]
    pub entities: Vec<Queue>,
    pub page_size: Option<i64>,
    pub page_number: Option<i64>,
    pub total: Option<i64>,
    pub page_count: Option<i64>,
    pub first_uri: Option<String>,
    pub last_uri: Option<String>,
    pub self_uri: Option<String>,
    pub next_uri: Option<String>,
    pub previous_uri: Option<String>,
}

/// `ConversationQuery` (POST `/api/v2/analytics/conversations/details/query`).
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationQuery {
    pub interval: Option<String>,
    pub conversation_filters: Option<Vec<QueryFilter>>,
    pub segment_filters: Option<Vec<QueryFilter>>,
    pub order: Option<String>,
    pub order_by: Option<String>,
    pub paging: Option<PagingSpec>,
}

/// `ConversationDetailQueryFilter` / `SegmentDetailQueryFilter` (same keys).
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryFilter {
    /// `and` or `or`.
    #[serde(rename = "type")]
    pub kind: String,
    pub clauses: Option<Vec<QueryClause>>,
    pub predicates: Option<Vec<QueryPredicate>>,
}

/// `ConversationDetailQueryClause` / `SegmentDetailQueryClause`.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryClause {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub predicates: Vec<QueryPredicate>,
}

/// `ConversationDetailQueryPredicate` / `SegmentDetailQueryPredicate`.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryPredicate {
    /// `dimension`, `property` or `metric`; the platform defaults to `dimension`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub dimension: Option<String>,
    /// `matches` (the default), `exists` or `notExists`.
    pub operator: Option<String>,
    pub value: Option<String>,
}

/// `PagingSpec`.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PagingSpec {
    pub page_size: i64,
    pub page_number: i64,
}

/// `AnalyticsConversationQueryResponse`.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalyticsConversationQueryResponse {
    pub conversations: Option<Vec<AnalyticsConversation>>,
    pub total_hits: Option<i64>,
}

/// `AnalyticsConversationWithoutAttributes`.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalyticsConversation {
    pub conversation_id: String,
    pub conversation_start: Option<Timestamp>,
    pub conversation_end: Option<Timestamp>,
    pub conference_start: Option<Timestamp>,
    pub originating_direction: Option<Direction>,
    pub conversation_initiator: Option<String>,
    pub customer_participation: Option<bool>,
    pub division_ids: Option<Vec<String>>,
    #[serde(default)]
    pub participants: Vec<AnalyticsParticipant>,
}

/// `AnalyticsParticipantWithoutAttributes`.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalyticsParticipant {
    pub participant_id: Option<String>,
    pub participant_name: Option<String>,
    pub purpose: Option<Purpose>,
    pub user_id: Option<String>,
    #[serde(default)]
    pub sessions: Vec<AnalyticsSession>,
}

/// `AnalyticsSession` (the fields the console reads). `mediaType` is `voice` for calls.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalyticsSession {
    pub media_type: Option<String>,
    pub session_id: Option<String>,
    pub direction: Option<Direction>,
    pub ani: Option<String>,
    pub dnis: Option<String>,
    #[serde(default)]
    pub segments: Vec<AnalyticsSegment>,
}

/// `AnalyticsConversationSegment` (the fields the console reads).
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalyticsSegment {
    pub segment_start: Option<Timestamp>,
    pub segment_end: Option<Timestamp>,
    pub segment_type: Option<String>,
    pub queue_id: Option<String>,
    pub conference: Option<bool>,
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
    fn every_enum_reads_and_writes_the_same_strings_unknown_ones_included() {
        fn round_trip<T>(all: &[T], as_str: fn(&T) -> &str)
        where
            T: Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
        {
            for value in all {
                let text = serde_json::to_string(value).unwrap();
                assert_eq!(text, format!("\"{}\"", as_str(value)));
                assert_eq!(&serde_json::from_str::<T>(&text).unwrap(), value);
            }
        }
        round_trip(ParticipantState::ALL, ParticipantState::as_str);
        round_trip(Purpose::ALL, Purpose::as_str);
        round_trip(DisconnectType::ALL, DisconnectType::as_str);
        round_trip(Direction::ALL, Direction::as_str);
        round_trip(TopicState::ALL, TopicState::as_str);
        let p: AnalyticsParticipant =
            serde_json::from_str(r#"{"participantId":"p1","purpose":"Supervisor-2"}"#).unwrap();
        assert_eq!(p.purpose, Some(Purpose::Other("Supervisor-2".into())));
        assert_eq!(serde_json::to_value(&p).unwrap()["purpose"], "Supervisor-2");
        let leg = CallMediaParticipant::new("p1", "agent", ParticipantState::Connected);
        assert_eq!(leg.purpose(), Purpose::Agent);
        assert!(!leg.is_customer_side());
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
