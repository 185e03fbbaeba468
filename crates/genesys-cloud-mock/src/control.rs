//! The control API under `/mock/` for tests, demos and benchmarks: script calls and leg
//! changes, switch faults, read the request log, reset. Same bearer check as the platform, and
//! the caller's client needs the mock's own `mock:control` permission (from the scenario), so a
//! console's token or a viewer cannot switch faults or read other clients' traffic; not
//! rate-limited, not faulted, and not in the request log (so tests read only the client's own
//! traffic).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::body::JsonBody;
use super::errors::ErrorReply;
use super::faults::FaultsPatch;
use super::shapes::{self, Flavor};
use super::simulation;
use super::state::{Shared, State as MockState};
use super::world::{CallRecord, Leg, LegChange, ScheduledAction, Transfer};
use genesys_cloud_models::{DisconnectType, ParticipantState, Purpose};

pub(super) fn control_router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/mock/conversations", post(create_conversation))
        .route(
            "/mock/conversations/{id}/transfer",
            post(transfer_conversation),
        )
        .route(
            "/mock/conversations/{id}/participants/{pid}",
            patch(change_participant),
        )
        .route("/mock/faults", get(get_faults).put(put_faults))
        .route(
            "/mock/notifications/oversized",
            post(oversized_notification),
        )
        .route("/mock/requests", get(get_requests))
        .route("/mock/reset", post(reset))
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            bearer_check,
        ))
        .with_state(shared)
}

/// The permission the control API needs; not a platform permission, the mock's own.
pub(super) const MOCK_CONTROL: &str = "mock:control";

/// The longest delay a scripted change may ask for (`afterMs`).
const MAX_AFTER_MS: u64 = 86_400_000;
/// Legs of one conversation made through the control API: far more than a conference holds,
/// few enough that an analytics page of 100 such calls stays a few megabytes (mock's own).
const MAX_PARTICIPANTS: usize = 100;
/// Calls the control API may add up to (the scenario's own bound on calls).
const MAX_CONTROL_CALLS: usize = 100_000;

async fn bearer_check(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let checked = shared.lock().auth.caller(authorization, Instant::now());
    match checked.and_then(|(_, caller)| caller.require_any(&[MOCK_CONTROL])) {
        Ok(()) => next.run(request).await,
        Err(error) => error.into_response(),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewConversation {
    /// Queue name or id.
    queue: String,
    participants: Vec<NewParticipant>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewParticipant {
    name: String,
    purpose: Purpose,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    held: Option<bool>,
    #[serde(default)]
    address: Option<String>,
}

fn known_state(text: &str) -> Result<ParticipantState, ErrorReply> {
    match ParticipantState::from(text) {
        ParticipantState::Other(_) => Err(ErrorReply::bad_request(format!(
            "Unknown participant state {text:?}."
        ))),
        state => Ok(state),
    }
}

async fn create_conversation(
    State(shared): State<Arc<Shared>>,
    JsonBody(request): JsonBody<NewConversation>,
) -> Result<Response, ErrorReply> {
    let request = request?;
    if request.participants.is_empty() {
        return Err(ErrorReply::bad_request(
            "A conversation needs participants.",
        ));
    }
    if request.participants.len() > MAX_PARTICIPANTS {
        return Err(ErrorReply::bad_request(format!(
            "A conversation has at most {MAX_PARTICIPANTS} participants here, got {}.",
            request.participants.len()
        )));
    }
    let mut state = shared.lock();
    if state.world.call_count() >= MAX_CONTROL_CALLS {
        return Err(ErrorReply::bad_request(format!(
            "The mock holds at most {MAX_CONTROL_CALLS} calls; reset it or let calls end."
        )));
    }
    let queue =
        state.world.queue(&request.queue).cloned().ok_or_else(|| {
            ErrorReply::bad_request(format!("Unknown queue {:?}.", request.queue))
        })?;
    let now = Utc::now();
    let instant = Instant::now();
    let legs = request
        .participants
        .into_iter()
        .map(|p| scripted_leg(&mut state, p, now, instant))
        .collect::<Result<Vec<_>, _>>()?;
    for leg in &legs {
        if let Some((id, name)) = &leg.user {
            state.world.users.insert(id.clone(), name.clone());
        }
    }
    let live = legs.iter().filter(|l| l.state.is_live()).count();
    let id = state.new_id();
    let call = CallRecord {
        id: id.clone(),
        queue_id: queue.id.clone(),
        queue_name: queue.name.clone(),
        start_time: now,
        end_time: None,
        conference_start: (live >= 3).then_some(now),
        max_participants: (live >= 3).then_some(live as i64),
        legs,
        ended_at: None,
    };
    let answer = shapes::call_conversation(&call, Flavor::Get);
    state.world.insert_call(call);
    state.flush();
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

/// A leg as the control API scripts it: connected unless told, an agent with a user.
fn scripted_leg(
    state: &mut MockState,
    p: NewParticipant,
    now: DateTime<Utc>,
    instant: Instant,
) -> Result<Leg, ErrorReply> {
    let leg_state = known_state(p.state.as_deref().unwrap_or("connected"))?;
    let agent = p.purpose.is_agent();
    let user = if agent {
        let id = p.user_id.clone().unwrap_or_else(|| state.new_id());
        Some((id, p.name.clone()))
    } else {
        None
    };
    let address = p.address.clone().unwrap_or_else(|| {
        if agent {
            String::new()
        } else {
            simulation::phone_number(&mut state.rng)
        }
    });
    Ok(Leg {
        id: state.new_id(),
        name: p.name,
        address,
        inbound: p.purpose == Purpose::Customer,
        purpose: p.purpose,
        user,
        held: p.held.unwrap_or(false),
        muted: false,
        start_time: now,
        alerting_time: (leg_state.is_unsettled() || leg_state == ParticipantState::Connected)
            .then_some(now),
        connected_time: (leg_state == ParticipantState::Connected).then_some(now),
        end_time: leg_state.is_gone().then_some(now),
        hold_time: p.held.unwrap_or(false).then_some(now),
        disconnect_type: leg_state.is_gone().then_some(DisconnectType::Endpoint),
        consult_participant_id: None,
        queue: None,
        state: leg_state,
        changed_at: instant,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct QueueTransfer {
    /// Queue name or id.
    queue: String,
    /// The earlier queue's agents stay (a consult to a queue) instead of leaving.
    #[serde(default)]
    keep_agents: bool,
    /// An agent of the new queue who takes the call; without one, it waits in the queue.
    #[serde(default)]
    agent: Option<NewParticipant>,
}

/// Moves a call to another queue (see `World::transfer`): 200 with the call as a GET shows it.
async fn transfer_conversation(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<QueueTransfer>,
) -> Result<Response, ErrorReply> {
    let request = request?;
    let mut state = shared.lock();
    let queue =
        state.world.queue(&request.queue).cloned().ok_or_else(|| {
            ErrorReply::bad_request(format!("Unknown queue {:?}.", request.queue))
        })?;
    let legs = state.world.call(&id).map(|call| call.legs.len());
    let Some(legs) = legs else {
        return Err(ErrorReply::not_found(format!(
            "Conversation {id} not found."
        )));
    };
    // A transfer adds up to two legs: the same bound as a scripted conversation.
    if legs + 2 > MAX_PARTICIPANTS {
        return Err(ErrorReply::bad_request(format!(
            "A conversation has at most {MAX_PARTICIPANTS} participants here."
        )));
    }
    let (now, instant) = (Utc::now(), Instant::now());
    let agent = match request.agent {
        Some(p) if !p.purpose.is_agent() => {
            return Err(ErrorReply::bad_request(
                "The agent of a transfer needs an agent purpose.",
            ));
        }
        Some(p) => Some(scripted_leg(&mut state, p, now, instant)?),
        None => None,
    };
    let transfer = Transfer {
        queue,
        keep_agents: request.keep_agents,
        agent,
    };
    let acd_leg_id = state.new_id();
    if !state
        .world
        .transfer(&id, transfer, acd_leg_id, now, instant)
    {
        return Err(ErrorReply::bad_request(format!(
            "Conversation {id} has ended or is in that queue already."
        )));
    }
    let answer = state
        .world
        .call(&id)
        .map(|call| shapes::call_conversation(call, Flavor::Get));
    state.flush();
    Ok(Json(answer).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ParticipantChange {
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    held: Option<bool>,
    #[serde(default)]
    muted: Option<bool>,
    #[serde(default)]
    disconnect_type: Option<String>,
    #[serde(default)]
    after_ms: Option<u64>,
}

async fn change_participant(
    State(shared): State<Arc<Shared>>,
    Path((id, pid)): Path<(String, String)>,
    JsonBody(request): JsonBody<ParticipantChange>,
) -> Result<Response, ErrorReply> {
    let request = request?;
    if request.after_ms.is_some_and(|ms| ms > MAX_AFTER_MS) {
        return Err(ErrorReply::bad_request(format!(
            "afterMs must be at most {MAX_AFTER_MS}."
        )));
    }
    let change = LegChange {
        state: request.state.as_deref().map(known_state).transpose()?,
        held: request.held,
        muted: request.muted,
        disconnect_type: request
            .disconnect_type
            .as_deref()
            .map(DisconnectType::from)
            .or(Some(DisconnectType::Endpoint)),
    };
    let mut state = shared.lock();
    let call = state
        .world
        .call(&id)
        .ok_or_else(|| ErrorReply::not_found(format!("Conversation {id} not found.")))?;
    if call.leg(&pid).is_none() {
        return Err(ErrorReply::not_found(format!(
            "Participant {pid} not found in conversation {id}."
        )));
    }
    let now = Instant::now();
    match request.after_ms.unwrap_or(0) {
        0 => {
            state.world.change_leg(&id, &pid, &change, Utc::now(), now);
            state.flush();
        }
        after => state.world.schedule(
            now + Duration::from_millis(after),
            ScheduledAction::SetLeg {
                call_id: id,
                leg_id: pid,
                change,
            },
        ),
    }
    Ok(StatusCode::ACCEPTED.into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Oversized {
    /// The padding's length: the frame is a little longer.
    bytes: usize,
}

/// The longest padding `POST /mock/notifications/oversized` sends: past any cap a test sets,
/// small enough to build at once (mock's own).
const MAX_OVERSIZED_BYTES: usize = 64 * 1024 * 1024;

/// Sends every connected socket one notification longer than `bytes` (a padded heartbeat), for
/// tests of a client's message cap; answers how many sockets it was handed to.
async fn oversized_notification(
    State(shared): State<Arc<Shared>>,
    JsonBody(request): JsonBody<Oversized>,
) -> Result<Response, ErrorReply> {
    let request = request?;
    if request.bytes > MAX_OVERSIZED_BYTES {
        return Err(ErrorReply::bad_request(format!(
            "An oversized notification has at most {MAX_OVERSIZED_BYTES} bytes of padding here."
        )));
    }
    let frame = super::hub::oversized_frame(request.bytes);
    let sockets = shared.lock().hub.send_to_every_socket(frame);
    Ok(Json(serde_json::json!({ "sockets": sockets })).into_response())
}

async fn get_faults(State(shared): State<Arc<Shared>>) -> Response {
    Json(shared.lock().faults.clone()).into_response()
}

async fn put_faults(
    State(shared): State<Arc<Shared>>,
    JsonBody(patch): JsonBody<FaultsPatch>,
) -> Result<Response, ErrorReply> {
    let patch = patch?;
    let mut state = shared.lock();
    let next = state
        .faults
        .patched(patch)
        .map_err(ErrorReply::bad_request)?;
    tracing::info!(?next, "mock: faults changed");
    state.faults = next.clone();
    Ok(Json(next).into_response())
}

#[derive(Debug, Deserialize)]
struct Since {
    #[serde(default)]
    since: u64,
}

async fn get_requests(State(shared): State<Arc<Shared>>, Query(since): Query<Since>) -> Response {
    Json(shared.log().since(since.since)).into_response()
}

async fn reset(State(shared): State<Arc<Shared>>) -> Response {
    {
        let mut state = shared.lock();
        simulation::reset(&mut state, &shared.scenario, shared.seed);
    }
    shared.log().clear();
    StatusCode::NO_CONTENT.into_response()
}
