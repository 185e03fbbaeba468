//! New calls: a caller arrives, gets a free agent (who rings) or waits in the queue, and what
//! happens to the call once an agent has it is planned (answer, joins, holds, the end).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rand::Rng;
use rand::rngs::StdRng;

use super::occupancy::{Occupancy, pick_agent, pick_caller};
use crate::scenario::{CallSettings, Scenario};
use crate::state::State;
use crate::world::{CallRecord, Leg, LegChange, QueueInfo, ScheduledAction, SimStep};
use genesys_cloud_models::{DisconnectType, ParticipantState, Purpose};

/// Chance that a conference gains one more party later (a second consult or a supervisor).
pub(super) const LATER_JOIN_RATE: f64 = 0.5;

#[allow(clippy::too_many_arguments)]
pub(super) fn make_leg(
    state: &mut State,
    name: String,
    purpose: Purpose,
    user: Option<(String, String)>,
    address: String,
    inbound: bool,
    leg_state: ParticipantState,
    start: DateTime<Utc>,
    instant: Instant,
) -> Leg {
    let connected = leg_state == ParticipantState::Connected;
    Leg {
        id: state.new_id(),
        name,
        address,
        alerting_time: (!matches!(purpose, Purpose::Customer | Purpose::Acd)).then_some(start),
        purpose,
        user,
        inbound,
        held: false,
        muted: false,
        start_time: start,
        connected_time: connected.then_some(start),
        end_time: None,
        hold_time: None,
        disconnect_type: None,
        consult_participant_id: None,
        queue: None,
        state: leg_state,
        changed_at: instant,
    }
}

/// How a new call comes in.
#[derive(Clone, Copy, Debug)]
pub(super) struct Arrival {
    /// How long it has been going (calls already going at start).
    pub(crate) ago: Duration,
    /// It gains a third party.
    pub(crate) conference: bool,
    /// It arrives now (its agent rings); otherwise it is already talking.
    pub(crate) fresh: bool,
    /// With no free agent it waits in its queue; otherwise it is not made.
    pub(crate) may_wait: bool,
}

/// A new call: a connected customer and an agent (ringing for a fresh call), maybe a third
/// party; or, with no free agent, the customer waiting in the queue. Returns the call's id when
/// an agent took it.
pub(super) fn new_call(
    state: &mut State,
    scenario: &Scenario,
    occupancy: &mut Occupancy,
    arrival: Arrival,
    now: DateTime<Utc>,
    instant: Instant,
) -> Option<String> {
    if state.world.queues.is_empty() {
        return None;
    }
    let settings = &scenario.calls;
    let queue = state.world.queues[state.rng.random_range(0..state.world.queues.len())].clone();
    let start = now - chrono::Duration::from_std(arrival.ago).unwrap_or_default();
    let agent = pick_agent(state, occupancy, &queue.id, true);
    if agent.is_none() && !arrival.may_wait {
        return None;
    }
    let (customer_name, address) = pick_caller(&mut state.rng, occupancy);
    let customer = make_leg(
        state,
        customer_name,
        Purpose::Customer,
        None,
        address,
        true,
        ParticipantState::Connected,
        start,
        instant,
    );
    let mut legs = vec![customer];
    let Some(agent) = agent else {
        // Everyone who could take it is busy: the caller waits in the queue.
        let acd = make_leg(
            state,
            queue.name.clone(),
            Purpose::Acd,
            None,
            String::new(),
            false,
            ParticipantState::Connected,
            start,
            instant,
        );
        legs.push(acd);
        let id = state.new_id();
        state
            .world
            .insert_call(new_call_record(&id, &queue, start, legs));
        let patience = Duration::from_secs(
            state
                .rng
                .random_range(settings.call_secs[0]..=settings.call_secs[0].saturating_mul(2)),
        );
        state.simulation.waiting.push_back((id, instant + patience));
        return None;
    };
    let agent_state = if arrival.fresh {
        ParticipantState::Alerting
    } else {
        ParticipantState::Connected
    };
    let agent_leg = make_leg(
        state,
        agent.1.clone(),
        Purpose::Agent,
        Some(agent.clone()),
        String::new(),
        false,
        agent_state,
        start,
        instant,
    );
    let agent_leg_id = agent_leg.id.clone();
    legs.push(agent_leg);
    // Calls already going at start may already be conferences; some still adding their
    // third party (a consult ringing).
    let mut ringing_leg = None;
    if arrival.conference
        && !arrival.fresh
        && let Some(second) = pick_agent(state, occupancy, &queue.id, false)
    {
        let name = second.1.clone();
        let ringing = state.rng.random_bool(0.4);
        let leg_state = if ringing {
            ParticipantState::Alerting
        } else {
            ParticipantState::Connected
        };
        let mut leg = make_leg(
            state,
            name,
            Purpose::Agent,
            Some(second),
            String::new(),
            false,
            leg_state,
            start,
            instant,
        );
        leg.consult_participant_id = Some(agent_leg_id.clone());
        if ringing {
            leg.start_time = now;
            leg.alerting_time = Some(now);
            ringing_leg = Some(leg.id.clone());
        }
        legs.push(leg);
    }
    let id = state.new_id();
    state
        .world
        .insert_call(new_call_record(&id, &queue, start, legs));
    if let Some(leg_id) = ringing_leg {
        let ring = state.random_ms(settings.ring_ms);
        state.world.schedule(instant + ring, connect(&id, &leg_id));
    }
    let ringing_agent = arrival.fresh.then_some(agent_leg_id.as_str());
    let join_later = arrival.conference && arrival.fresh;
    plan_call(
        state,
        settings,
        &id,
        ringing_agent,
        join_later,
        arrival.ago,
        instant,
    );
    Some(id)
}

pub(super) fn new_call_record(
    id: &str,
    queue: &QueueInfo,
    start: DateTime<Utc>,
    legs: Vec<Leg>,
) -> CallRecord {
    let live = legs.iter().filter(|l| l.state.is_live()).count();
    CallRecord {
        id: id.to_string(),
        queue_id: queue.id.clone(),
        queue_name: queue.name.clone(),
        start_time: start,
        end_time: None,
        conference_start: (live >= 3).then_some(start),
        max_participants: (live >= 3).then_some(live as i64),
        legs,
        ended_at: None,
    }
}

/// What happens to a call once an agent has it: the agent answers (when ringing), a third
/// party joins later (`join_later`), holds, and the end (`ago` of its length already gone).
pub(super) fn plan_call(
    state: &mut State,
    settings: &CallSettings,
    call_id: &str,
    ringing_agent: Option<&str>,
    join_later: bool,
    ago: Duration,
    instant: Instant,
) {
    if let Some(leg_id) = ringing_agent {
        let ring = state.random_ms(settings.ring_ms);
        state
            .world
            .schedule(instant + ring, connect(call_id, leg_id));
    }
    if join_later {
        // The agent answers first; then a third party is added.
        let delay = state.random_ms([settings.ring_ms[1] + 1_000, settings.ring_ms[1] + 8_000]);
        state.world.schedule(
            instant + delay,
            ScheduledAction::Simulate {
                call_id: call_id.to_string(),
                step: SimStep::Join,
            },
        );
        // Some conferences gain another party later: a second consult or a supervisor.
        if state.rng.random_bool(LATER_JOIN_RATE) {
            let later = delay + state.random_ms([15_000, 60_000]);
            state.world.schedule(
                instant + later,
                ScheduledAction::Simulate {
                    call_id: call_id.to_string(),
                    step: SimStep::Join,
                },
            );
        }
    }
    if settings.holds_per_minute > 0.0 {
        let wait = exponential(&mut state.rng, settings.holds_per_minute / 60.0);
        state.world.schedule(
            instant + wait,
            ScheduledAction::Simulate {
                call_id: call_id.to_string(),
                step: SimStep::Hold,
            },
        );
    }
    let length = Duration::from_secs(
        state
            .rng
            .random_range(settings.call_secs[0]..=settings.call_secs[1]),
    )
    .saturating_sub(ago)
    .max(Duration::from_secs(10));
    state.world.schedule(
        instant + length,
        ScheduledAction::EndCall {
            call_id: call_id.to_string(),
            disconnect_type: DisconnectType::Endpoint,
        },
    );
}

/// Waiting calls, oldest first, go to a free agent of their queue (who rings; the `acd` leg
/// leaves as a transfer); a caller who waited too long hangs up.
pub(super) fn serve_queue(
    state: &mut State,
    scenario: &Scenario,
    occupancy: &mut Option<Occupancy>,
    now: DateTime<Utc>,
    instant: Instant,
) {
    let settings = &scenario.calls;
    let mut still_waiting = VecDeque::new();
    while let Some((call_id, give_up)) = state.simulation.waiting.pop_front() {
        let Some(call) = state.world.call(&call_id) else {
            continue;
        };
        if call.end_time.is_some() {
            continue;
        }
        let Some(acd_leg) = call
            .legs
            .iter()
            .find(|l| l.purpose == Purpose::Acd && l.state.is_live())
            .map(|l| l.id.clone())
        else {
            continue;
        };
        if instant >= give_up {
            state
                .world
                .end_call(&call_id, DisconnectType::Endpoint, now, instant);
            continue;
        }
        let queue_id = call.queue_id.clone();
        let occupancy = occupancy.get_or_insert_with(|| Occupancy::read(state, settings, instant));
        let Some(agent) = pick_agent(state, occupancy, &queue_id, true) else {
            still_waiting.push_back((call_id, give_up));
            continue;
        };
        let leg = make_leg(
            state,
            agent.1.clone(),
            Purpose::Agent,
            Some(agent),
            String::new(),
            false,
            ParticipantState::Alerting,
            now,
            instant,
        );
        let leg_id = leg.id.clone();
        state.world.add_leg(&call_id, leg, now);
        let handed_over = LegChange {
            state: Some(ParticipantState::Disconnected),
            disconnect_type: Some(DisconnectType::Transfer),
            ..LegChange::default()
        };
        state
            .world
            .change_leg(&call_id, &acd_leg, &handed_over, now, instant);
        let join_later = state.rng.random_bool(settings.conference_rate);
        plan_call(
            state,
            settings,
            &call_id,
            Some(&leg_id),
            join_later,
            Duration::ZERO,
            instant,
        );
    }
    state.simulation.waiting = still_waiting;
}

pub(super) fn connect(call_id: &str, leg_id: &str) -> ScheduledAction {
    ScheduledAction::SetLeg {
        call_id: call_id.to_string(),
        leg_id: leg_id.to_string(),
        change: LegChange {
            state: Some(ParticipantState::Connected),
            ..LegChange::default()
        },
    }
}

/// A wait drawn from an exponential distribution with `rate` events per second.
pub(super) fn exponential(rng: &mut StdRng, rate: f64) -> Duration {
    if rate <= 0.0 {
        return Duration::from_secs(86_400);
    }
    let u: f64 = rng.random_range(f64::EPSILON..1.0);
    Duration::from_secs_f64((-u.ln() / rate).min(86_400.0))
}
