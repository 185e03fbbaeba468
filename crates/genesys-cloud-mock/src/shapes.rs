//! The world rendered in the platform's JSON shapes (models.rs; sources in `docs/platform.md`). GET answers and notification
//! bodies differ: events carry no `startAlertingTime` or `selfUri`, and spell `disconnectType`
//! `*.dnd` where GET answers spell it `*.donotdisturb`. Each shape also lists its own
//! `disconnectType` values (see `disconnect_type_in`).

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::world::{CallRecord, Leg, QueueInfo};
use genesys_cloud_models::{
    AnalyticsConversation, AnalyticsParticipant, AnalyticsSegment, AnalyticsSession,
    CallConversation, CallMediaParticipant, Conversation, Direction, DisconnectType, EntityRef,
    Participant, ParticipantState, Purpose, Queue, Timestamp,
};

/// Which of the two spellings of a conversation to render.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Flavor {
    /// `CallConversation` of `GET /api/v2/conversations/calls/{id}`.
    Get,
    /// `QueueConversationCallEventTopicCallConversation` of notifications.
    Event,
}

fn ts(t: DateTime<Utc>) -> Timestamp {
    Timestamp(t)
}

fn direction(leg: &Leg) -> Direction {
    if leg.inbound {
        Direction::Inbound
    } else {
        Direction::Outbound
    }
}

fn entity(id: &str, name: &str, self_uri: Option<String>) -> EntityRef {
    EntityRef {
        id: Some(id.to_string()),
        name: Some(name.to_string()),
        self_uri,
    }
}

/// The four models that carry a `disconnectType`, each with its own list of values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DisconnectShape {
    /// `CallMediaParticipant`: no `timeout`, no `uncallable`.
    CallGet,
    /// `QueueConversationCallEventTopicCallMediaParticipant`: every value, `*.dnd` spelling.
    CallEvent,
    /// `Call` (in `Conversation`): no `inactivity`, `session.expired`, `takeover`.
    GenericGet,
    /// `QueueConversationEventTopicCall`: as `Call`, `*.dnd` spelling.
    GenericEvent,
}

/// `dt` as `shape` spells it. A value the shape's model does not list goes out as `other`: the
/// official SDK would read it as `outdated_sdk_version` (seen with PureCloudPlatformClientV2 269.0.0).
fn disconnect_type_in(dt: &DisconnectType, shape: DisconnectShape) -> String {
    use DisconnectShape::*;
    let listed = match dt {
        DisconnectType::Other(_) => false,
        DisconnectType::Timeout | DisconnectType::Uncallable => shape != CallGet,
        DisconnectType::Inactivity | DisconnectType::SessionExpired | DisconnectType::Takeover => {
            matches!(shape, CallGet | CallEvent)
        }
        _ => true,
    };
    let text = match (listed, shape) {
        (false, _) => "other",
        (true, CallGet | GenericGet) => dt.as_str(),
        (true, CallEvent | GenericEvent) => dt.event_str(),
    };
    text.to_string()
}

pub(super) fn call_participant(
    call: &CallRecord,
    leg: &Leg,
    flavor: Flavor,
) -> CallMediaParticipant {
    let get = flavor == Flavor::Get;
    // `CallMediaParticipant.state` has no `scheduled` (only the event shape has it); as in `Call`.
    let state = match &leg.state {
        ParticipantState::Scheduled if get => ParticipantState::Alerting,
        other => other.clone(),
    };
    let mut p = CallMediaParticipant::new(leg.id.clone(), leg.purpose.clone(), state);
    p.name = Some(leg.name.clone());
    if !leg.address.is_empty() {
        p.address = Some(leg.address.clone());
    }
    p.start_time = Some(ts(leg.start_time));
    if get {
        p.start_alerting_time = leg.alerting_time.map(ts);
    }
    p.connected_time = leg.connected_time.map(ts);
    p.end_time = leg.end_time.map(ts);
    p.start_hold_time = leg.hold_time.map(ts);
    p.direction = Some(direction(leg));
    p.held = Some(leg.held);
    p.muted = Some(leg.muted);
    p.confined = Some(false);
    p.wrapup_required = Some(false);
    if let Some(dt) = &leg.disconnect_type {
        if get {
            let text = disconnect_type_in(dt, DisconnectShape::CallGet);
            p.disconnect_type = Some(DisconnectType::from(text.as_str()));
        } else {
            // The event spelling differs from the enum's GET spelling.
            let text = disconnect_type_in(dt, DisconnectShape::CallEvent);
            p.extra.insert("disconnectType".into(), Value::String(text));
        }
    }
    if let Some((id, name)) = &leg.user {
        p.user = Some(entity(id, name, get.then(|| format!("/api/v2/users/{id}"))));
    }
    if leg.in_queue() {
        let (id, name) = call.queue_of(leg);
        p.queue = Some(entity(
            id,
            name,
            get.then(|| format!("/api/v2/routing/queues/{id}")),
        ));
    }
    p.consult_participant_id = leg.consult_participant_id.clone();
    p
}

pub(super) fn call_conversation(call: &CallRecord, flavor: Flavor) -> CallConversation {
    CallConversation {
        id: call.id.clone(),
        name: None,
        participants: call
            .legs
            .iter()
            .map(|leg| call_participant(call, leg, flavor))
            .collect(),
        max_participants: call.max_participants,
        recording_state: Some("none".into()),
        self_uri: (flavor == Flavor::Get)
            .then(|| format!("/api/v2/conversations/calls/{}", call.id)),
        extra: Map::new(),
    }
}

/// `Conversation` (the media-agnostic GET; with `Flavor::Event`, the body of the
/// `v2.routing.queues.{id}.conversations` topic, `QueueConversationEventTopicConversation`):
/// per-leg state in `calls[]`.
pub(super) fn conversation(call: &CallRecord, flavor: Flavor) -> Conversation {
    Conversation {
        id: call.id.clone(),
        name: None,
        start_time: Some(ts(call.start_time)),
        end_time: call.end_time.map(ts),
        address: call
            .legs
            .iter()
            .find(|l| l.purpose == Purpose::Customer)
            .map(|l| l.address.clone()),
        participants: call
            .legs
            .iter()
            .map(|leg| participant(call, leg, flavor))
            .collect(),
        max_participants: call.max_participants,
        state: None,
        self_uri: (flavor == Flavor::Get).then(|| format!("/api/v2/conversations/{}", call.id)),
        extra: Map::new(),
    }
}

fn participant(call: &CallRecord, leg: &Leg, flavor: Flavor) -> Participant {
    let queue = leg.in_queue().then(|| call.queue_of(leg));
    let shape = match flavor {
        Flavor::Get => DisconnectShape::GenericGet,
        Flavor::Event => DisconnectShape::GenericEvent,
    };
    // Set as a plain string: the typed field would serialize the GET spelling.
    let mut call_extra = Map::new();
    if let Some(dt) = &leg.disconnect_type {
        call_extra.insert(
            "disconnectType".into(),
            Value::String(disconnect_type_in(dt, shape)),
        );
    }
    Participant {
        id: leg.id.clone(),
        start_time: Some(ts(leg.start_time)),
        end_time: leg.end_time.map(ts),
        connected_time: leg.connected_time.map(ts),
        name: Some(leg.name.clone()),
        user_id: leg.user.as_ref().map(|(id, _)| id.clone()),
        queue_id: queue.map(|(id, _)| id.to_string()),
        queue_name: queue.map(|(_, name)| name.to_string()),
        purpose: Some(leg.purpose.clone()),
        participant_type: None,
        consult_participant_id: leg.consult_participant_id.clone(),
        address: (!leg.address.is_empty()).then(|| leg.address.clone()),
        wrapup_required: Some(false),
        calls: vec![genesys_cloud_models::Call {
            // The leg's call id: stable and distinct from the participant id.
            id: Some(format!("{}-call", leg.id)),
            state: Some(call_state(&leg.state)),
            direction: Some(direction(leg)),
            held: Some(leg.held),
            muted: Some(leg.muted),
            confined: Some(false),
            disconnect_type: None,
            start_alerting_time: leg.alerting_time.map(ts),
            connected_time: leg.connected_time.map(ts),
            disconnected_time: leg.end_time.map(ts),
            start_hold_time: leg.hold_time.map(ts),
            extra: call_extra,
        }],
        extra: Map::new(),
    }
}

/// `Call.state` has no `parked` or `scheduled`; the world never makes them, but be safe.
fn call_state(state: &ParticipantState) -> ParticipantState {
    match state {
        ParticipantState::Parked => ParticipantState::Connected,
        ParticipantState::Scheduled => ParticipantState::Alerting,
        other => other.clone(),
    }
}

/// `AnalyticsConversationWithoutAttributes`.
pub(super) fn analytics_conversation(call: &CallRecord) -> AnalyticsConversation {
    AnalyticsConversation {
        conversation_id: call.id.clone(),
        conversation_start: Some(ts(call.start_time)),
        conversation_end: call.end_time.map(ts),
        conference_start: call.conference_start.map(ts),
        originating_direction: Some(Direction::Inbound),
        conversation_initiator: None,
        customer_participation: Some(true),
        division_ids: None,
        participants: call
            .legs
            .iter()
            .map(|leg| analytics_participant(call, leg))
            .collect(),
    }
}

fn analytics_participant(call: &CallRecord, leg: &Leg) -> AnalyticsParticipant {
    let customer = call.legs.iter().find(|l| l.purpose == Purpose::Customer);
    // Each leg's segments name the queue it served (after a transfer, the earlier one).
    let (queue_id, _) = call.queue_of(leg);
    let segment = |kind: &str, start, end| queue_segment(call, queue_id, kind, start, end);
    let mut segments = Vec::new();
    if let Some(alerting) = leg.alerting_time {
        segments.push(segment(
            "alert",
            alerting,
            leg.connected_time.or(leg.end_time),
        ));
    }
    if let Some(connected) = leg.connected_time {
        // A leg on hold: its interact segment ended when the hold began, and a hold segment
        // runs (the world keeps only the current hold, so earlier ones are not shown).
        match leg.hold_time.filter(|_| leg.held && leg.end_time.is_none()) {
            Some(hold) => {
                segments.push(segment("interact", connected, Some(hold)));
                segments.push(segment("hold", hold, None));
            }
            None => segments.push(segment("interact", connected, leg.end_time)),
        }
    }
    if segments.is_empty() {
        segments.push(segment("system", leg.start_time, leg.end_time));
    }
    if let (Some(last), Some(dt)) = (segments.last_mut(), &leg.disconnect_type) {
        last.disconnect_type = Some(analytics_disconnect_type(dt).to_string());
    }
    AnalyticsParticipant {
        participant_id: Some(leg.id.clone()),
        participant_name: Some(leg.name.clone()),
        purpose: Some(analytics_purpose(&leg.purpose)),
        user_id: leg.user.as_ref().map(|(id, _)| id.clone()),
        sessions: vec![AnalyticsSession {
            media_type: Some("voice".into()),
            session_id: Some(format!("{}-call", leg.id)),
            direction: Some(direction(leg)),
            ani: customer.map(|c| c.address.clone()),
            dnis: Some("tel:+18005550100".into()),
            segments,
        }],
    }
}

fn queue_segment(
    call: &CallRecord,
    queue_id: &str,
    kind: &str,
    start: DateTime<Utc>,
    end: Option<DateTime<Utc>>,
) -> AnalyticsSegment {
    AnalyticsSegment {
        segment_start: Some(ts(start)),
        segment_end: end.map(ts),
        segment_type: Some(kind.to_string()),
        queue_id: Some(queue_id.to_string()),
        conference: call.conference_start.map(|_| true),
        disconnect_type: None,
    }
}

/// Analytics `purpose` is an enum; the world's purposes map onto it.
fn analytics_purpose(purpose: &Purpose) -> Purpose {
    match purpose {
        Purpose::Agent
        | Purpose::Customer
        | Purpose::External
        | Purpose::Acd
        | Purpose::Ivr
        | Purpose::Voicemail => purpose.clone(),
        _ => Purpose::User,
    }
}

/// Analytics spells disconnect types in camelCase.
fn analytics_disconnect_type(dt: &DisconnectType) -> &'static str {
    match dt {
        DisconnectType::Endpoint => "endpoint",
        DisconnectType::EndpointDnd => "dndEndpoint",
        DisconnectType::Client => "client",
        DisconnectType::System => "system",
        DisconnectType::Timeout => "timeout",
        DisconnectType::Transfer => "transfer",
        DisconnectType::TransferConference => "conferenceTransfer",
        DisconnectType::TransferConsult => "consultTransfer",
        DisconnectType::TransferDnd => "dndTransfer",
        DisconnectType::TransferForward => "forwardTransfer",
        DisconnectType::TransferNoAnswer => "noAnswerTransfer",
        DisconnectType::TransferNotAvailable => "notAvailableTransfer",
        DisconnectType::TransportFailure => "transportFailure",
        DisconnectType::Error => "error",
        DisconnectType::Peer => "peer",
        DisconnectType::Spam => "spam",
        DisconnectType::Uncallable => "uncallable",
        DisconnectType::Inactivity => "inactivity",
        DisconnectType::SessionExpired => "sessionExpired",
        DisconnectType::Takeover => "takeover",
        DisconnectType::Unspecified | DisconnectType::Other(_) => "other",
    }
}

pub(super) fn queue(queue: &QueueInfo) -> Queue {
    Queue {
        id: queue.id.clone(),
        name: Some(queue.name.clone()),
        description: None,
        member_count: Some(queue.member_count),
        self_uri: Some(format!("/api/v2/routing/queues/{}", queue.id)),
        extra: Map::new(),
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use DisconnectShape::*;

    #[test]
    fn scheduled_is_sent_only_where_the_model_lists_it() {
        let call = CallRecord::sample(ParticipantState::Scheduled, None);
        let get = serde_json::to_value(call_conversation(&call, Flavor::Get)).unwrap();
        let event = serde_json::to_value(call_conversation(&call, Flavor::Event)).unwrap();
        let generic = serde_json::to_value(conversation(&call, Flavor::Event)).unwrap();
        assert_eq!(get["participants"][0]["state"], "alerting");
        assert_eq!(event["participants"][0]["state"], "scheduled");
        assert_eq!(generic["participants"][0]["calls"][0]["state"], "alerting");
    }

    #[test]
    fn the_generic_event_spells_dnd_and_leaves_out_self_uri() {
        let call = CallRecord::sample(
            ParticipantState::Disconnected,
            Some(DisconnectType::EndpointDnd),
        );
        let get = serde_json::to_value(conversation(&call, Flavor::Get)).unwrap();
        let event = serde_json::to_value(conversation(&call, Flavor::Event)).unwrap();
        let dt = |v: &Value| v["participants"][0]["calls"][0]["disconnectType"].clone();
        assert_eq!(dt(&get), "endpoint.donotdisturb");
        assert_eq!(dt(&event), "endpoint.dnd");
        assert!(get["selfUri"].is_string());
        assert!(event.get("selfUri").is_none());
    }

    #[test]
    fn each_shape_gets_only_values_its_model_lists() {
        let text = |dt: &str, shape| disconnect_type_in(&DisconnectType::from(dt), shape);
        // CallMediaParticipant lists neither timeout nor uncallable; the event shapes do.
        assert_eq!(text("timeout", CallGet), "other");
        assert_eq!(text("uncallable", CallGet), "other");
        assert_eq!(text("timeout", CallEvent), "timeout");
        assert_eq!(text("timeout", GenericGet), "timeout");
        // Call and QueueConversationEventTopicCall lack the three newest values.
        assert_eq!(text("takeover", GenericGet), "other");
        assert_eq!(text("session.expired", GenericEvent), "other");
        assert_eq!(text("session.expired", CallGet), "session.expired");
        // The two spellings of do-not-disturb.
        assert_eq!(text("endpoint.dnd", CallGet), "endpoint.donotdisturb");
        assert_eq!(text("endpoint.donotdisturb", GenericEvent), "endpoint.dnd");
        assert_eq!(text("transfer.donotdisturb", CallEvent), "transfer.dnd");
        // A value no model lists never goes out as it came in.
        assert_eq!(text("hung.up.angrily", CallEvent), "other");
    }
}
