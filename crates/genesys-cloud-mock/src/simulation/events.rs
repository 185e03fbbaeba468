//! Changes to calls already going: scheduled actions applied, a party joins or leaves, holds,
//! conferences kept up to the scenario's minimum, and the load changes for benchmarks.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rand::Rng;

use super::arrivals::{Arrival, connect, exponential, make_leg, new_call};
use super::occupancy::{Occupancy, pick_agent, pick_caller};
use crate::scenario::Scenario;
use crate::state::State;
use crate::world::{LegChange, QueueInfo, ScheduledAction, SimStep, Transfer};
use genesys_cloud_models::{DisconnectType, ParticipantState, Purpose};

/// Conferences made in one tick at most (each costs about a call's worth of work).
const MAX_JOINS_PER_TICK: usize = 500;

/// Tops the conferences up to `min_conferences`: a party joins a two-party call (a free agent,
/// or an outside number when none is free); with no such call, a new call (when an agent is
/// free) gains one.
pub(super) fn keep_conferences(
    state: &mut State,
    scenario: &Scenario,
    occupancy: &mut Option<Occupancy>,
    now: DateTime<Utc>,
    instant: Instant,
) {
    let settings = &scenario.calls;
    let mut conferences = state.world.calls().filter(|c| c.is_conference()).count();
    if conferences >= settings.min_conferences as usize {
        return;
    }
    // One scan of the calls per tick (not one per conference made), and at most
    // MAX_JOINS_PER_TICK conferences made in one tick: a large minimum is reached over a few
    // ticks instead of stalling one (the clock, the API and SIGINT all wait on the lock).
    let mut two_party: Vec<String> = state
        .world
        .calls()
        .filter(|c| c.end_time.is_none() && c.live_count() == 2)
        .filter(|c| {
            c.legs
                .iter()
                .any(|l| l.is_agent() && l.state == ParticipantState::Connected)
        })
        .map(|c| c.id.clone())
        .collect();
    let mut budget = MAX_JOINS_PER_TICK;
    while conferences < settings.min_conferences as usize && budget > 0 {
        budget -= 1;
        let occupancy = occupancy.get_or_insert_with(|| Occupancy::read(state, settings, instant));
        let call_id = if two_party.is_empty() {
            let arrival = Arrival {
                ago: Duration::from_secs(20),
                conference: false,
                fresh: false,
                may_wait: false,
            };
            match new_call(state, scenario, occupancy, arrival, now, instant) {
                Some(id) => id,
                None => return,
            }
        } else {
            two_party.swap_remove(state.rng.random_range(0..two_party.len()))
        };
        if !join(state, scenario, occupancy, &call_id, true, now, instant) {
            return;
        }
        conferences += 1;
    }
}

/// Load for benchmarks: one agent on a random call goes on or off hold.
pub(super) fn toggle_random_hold(state: &mut State, now: DateTime<Utc>, instant: Instant) {
    let count = state.world.call_count();
    if count == 0 {
        return;
    }
    let index = state.rng.random_range(0..count);
    let Some(call) = state.world.call_at(index) else {
        return;
    };
    let Some(leg) = call
        .legs
        .iter()
        .find(|l| l.is_agent() && l.state == ParticipantState::Connected)
    else {
        return;
    };
    let (call_id, leg_id, held) = (call.id.clone(), leg.id.clone(), leg.held);
    let change = LegChange {
        held: Some(!held),
        ..LegChange::default()
    };
    if state
        .world
        .change_leg(&call_id, &leg_id, &change, now, instant)
    {
        state.simulation.load_changes += 1;
    }
}

pub(super) fn apply(
    state: &mut State,
    scenario: &Scenario,
    action: ScheduledAction,
    now: DateTime<Utc>,
    instant: Instant,
) {
    match action {
        ScheduledAction::SetLeg {
            call_id,
            leg_id,
            change,
        } => {
            state
                .world
                .change_leg(&call_id, &leg_id, &change, now, instant);
        }
        ScheduledAction::EndCall {
            call_id,
            disconnect_type,
        } => {
            state
                .world
                .end_call(&call_id, disconnect_type, now, instant);
        }
        ScheduledAction::Simulate { call_id, step } => match step {
            SimStep::Join => {
                let mut occupancy = Occupancy::read(state, &scenario.calls, instant);
                join(
                    state,
                    scenario,
                    &mut occupancy,
                    &call_id,
                    false,
                    now,
                    instant,
                );
            }
            SimStep::Leave => leave(state, &call_id, now, instant),
            SimStep::Hold => hold(state, scenario, &call_id, now, instant),
        },
    }
}

/// A third party joins: another free agent (a consult or a supervisor) or an outside number.
/// With no free agent, an outside number when `or_outside`, else nobody. Returns whether a
/// party was added.
#[allow(clippy::too_many_arguments)]
pub(super) fn join(
    state: &mut State,
    scenario: &Scenario,
    occupancy: &mut Occupancy,
    call_id: &str,
    or_outside: bool,
    now: DateTime<Utc>,
    instant: Instant,
) -> bool {
    let settings = &scenario.calls;
    let Some(call) = state.world.call(call_id) else {
        return false;
    };
    if call.end_time.is_some() {
        return false;
    }
    let current_queue = call.queue_id.clone();
    let first_agent = call
        .legs
        .iter()
        .find(|l| l.is_agent() && l.state.is_live())
        .map(|l| l.id.clone());
    let external = state.rng.random_bool(settings.external_rate);
    // An agent of another queue: the call is transferred there as the agent joins.
    let transfer_to = (!external)
        .then(|| other_queue(state, settings.queue_transfer_rate, &current_queue))
        .flatten();
    let queue_id = transfer_to.as_ref().map_or(current_queue, |q| q.id.clone());
    let agent = if external {
        None
    } else {
        match pick_agent(state, occupancy, &queue_id, false) {
            Some(agent) => Some(agent),
            None if or_outside => None,
            None => return false,
        }
    };
    let leg = match agent {
        Some(agent) => {
            let name = agent.1.clone();
            let mut leg = make_leg(
                state,
                name,
                Purpose::Agent,
                Some(agent),
                String::new(),
                false,
                ParticipantState::Alerting,
                now,
                instant,
            );
            leg.consult_participant_id = first_agent;
            leg
        }
        None => {
            let (name, address) = pick_caller(&mut state.rng, occupancy);
            make_leg(
                state,
                name,
                Purpose::External,
                None,
                address,
                false,
                ParticipantState::Dialing,
                now,
                instant,
            )
        }
    };
    let leg_id = leg.id.clone();
    let added = match transfer_to {
        Some(queue) if leg.is_agent() => {
            let acd_leg_id = state.new_id();
            let transfer = Transfer {
                queue,
                keep_agents: true,
                agent: Some(leg),
            };
            state
                .world
                .transfer(call_id, transfer, acd_leg_id, now, instant)
        }
        _ => state.world.add_leg(call_id, leg, now),
    };
    if !added {
        return false;
    }
    let ring = state.random_ms(settings.ring_ms);
    state
        .world
        .schedule(instant + ring, connect(call_id, &leg_id));
    if state.rng.random_bool(settings.leave_rate) {
        let stay = state.random_ms([
            ring.as_millis() as u64 + 10_000,
            ring.as_millis() as u64 + 40_000,
        ]);
        state.world.schedule(
            instant + stay,
            ScheduledAction::Simulate {
                call_id: call_id.to_string(),
                step: SimStep::Leave,
            },
        );
    }
    true
}

/// With chance `rate`, a queue other than `current` (none when there is no other).
fn other_queue(state: &mut State, rate: f64, current: &str) -> Option<QueueInfo> {
    let others = state.world.queues.len().saturating_sub(1);
    if rate <= 0.0 || others == 0 || !state.rng.random_bool(rate) {
        return None;
    }
    let pick = state.rng.random_range(0..others);
    state
        .world
        .queues
        .iter()
        .filter(|q| q.id != current)
        .nth(pick)
        .cloned()
}

/// The first agent of a conference leaves (the consult is done); the others stay.
pub(super) fn leave(state: &mut State, call_id: &str, now: DateTime<Utc>, instant: Instant) {
    let Some(call) = state.world.call(call_id) else {
        return;
    };
    if call.live_count() < 3 {
        return;
    }
    let Some(leg_id) = call
        .legs
        .iter()
        .find(|l| l.is_agent() && l.state == ParticipantState::Connected)
        .map(|l| l.id.clone())
    else {
        return;
    };
    let change = LegChange {
        state: Some(ParticipantState::Disconnected),
        disconnect_type: Some(DisconnectType::TransferConsult),
        ..LegChange::default()
    };
    state
        .world
        .change_leg(call_id, &leg_id, &change, now, instant);
}

/// An agent holds the call for a while; the next hold is planned.
pub(super) fn hold(
    state: &mut State,
    scenario: &Scenario,
    call_id: &str,
    now: DateTime<Utc>,
    instant: Instant,
) {
    let settings = &scenario.calls;
    let Some(call) = state.world.call(call_id) else {
        return;
    };
    if call.end_time.is_some() {
        return;
    }
    let target = call
        .legs
        .iter()
        .find(|l| l.is_agent() && l.state == ParticipantState::Connected && !l.held)
        .map(|l| l.id.clone());
    if let Some(leg_id) = target {
        let change = LegChange {
            held: Some(true),
            ..LegChange::default()
        };
        state
            .world
            .change_leg(call_id, &leg_id, &change, now, instant);
        let length = Duration::from_secs(
            state
                .rng
                .random_range(settings.hold_secs[0]..=settings.hold_secs[1]),
        );
        state.world.schedule(
            instant + length,
            ScheduledAction::SetLeg {
                call_id: call_id.to_string(),
                leg_id,
                change: LegChange {
                    held: Some(false),
                    ..LegChange::default()
                },
            },
        );
    }
    let wait = exponential(&mut state.rng, settings.holds_per_minute / 60.0);
    state.world.schedule(
        instant + wait,
        ScheduledAction::Simulate {
            call_id: call_id.to_string(),
            step: SimStep::Hold,
        },
    );
}
