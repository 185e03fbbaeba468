//! The simulated contact center in motion: builds the world from a scenario and, on each tick,
//! lets calls arrive, ring, connect, become conferences, hold, lose a party and end.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rand::Rng;
use rand::rngs::StdRng;

use super::scenario::Scenario;
use super::state::{State, new_id, seeded};
use super::world::{Action, AgentInfo, Call, Leg, LegChange, QueueInfo, SimStep, World};
use crate::platform::models::{DisconnectType, ParticipantState};

const CUSTOMER_NAMES: &[&str] = &[
    "Alex Morgan",
    "Sam Rivera",
    "Jordan Lee",
    "Taylor Brooks",
    "Casey Nguyen",
    "Riley Evans",
    "Jamie Clarke",
    "Morgan Diaz",
    "Avery Singh",
    "Quinn Murphy",
    "Robin Schulz",
    "Drew Tanaka",
    "Harper Novak",
    "Rowan Silva",
    "Emery Costa",
    "Sky Andersen",
];

/// The simulation's running totals (fractions of events carried to the next tick).
#[derive(Debug, Default)]
pub struct Simulation {
    arrival_debt: f64,
    change_debt: f64,
    last_tick: Option<Instant>,
    last_forget: Option<Instant>,
    /// Hold/unhold changes made for load (`changes_per_sec`).
    pub load_changes: u64,
}

pub fn phone_number(rng: &mut StdRng) -> String {
    format!("tel:+1555{:07}", rng.random_range(0..10_000_000u32))
}

fn build_world(scenario: &Scenario, rng: &mut StdRng) -> World {
    let mut queues: Vec<QueueInfo> = scenario
        .queues
        .iter()
        .map(|q| QueueInfo {
            id: q.id.clone().unwrap_or_else(|| new_id(rng)),
            name: q.name.clone(),
            member_count: 0,
        })
        .collect();
    for i in 0..scenario.generate.queues {
        queues.push(QueueInfo {
            id: new_id(rng),
            name: format!("Queue {:03}", i + 1),
            member_count: 0,
        });
    }
    let all_queue_ids: Vec<String> = queues.iter().map(|q| q.id.clone()).collect();
    let mut agents: Vec<AgentInfo> = scenario
        .agents
        .iter()
        .map(|a| AgentInfo {
            id: a.id.clone().unwrap_or_else(|| new_id(rng)),
            name: a.name.clone(),
            queue_ids: if a.queues.is_empty() {
                all_queue_ids.clone()
            } else {
                queues
                    .iter()
                    .filter(|q| a.queues.contains(&q.name))
                    .map(|q| q.id.clone())
                    .collect()
            },
        })
        .collect();
    for i in 0..scenario.generate.agents {
        let queue = all_queue_ids[i as usize % all_queue_ids.len()].clone();
        agents.push(AgentInfo {
            id: new_id(rng),
            name: format!("Agent {:04}", i + 1),
            queue_ids: vec![queue],
        });
    }
    for queue in &mut queues {
        queue.member_count = agents
            .iter()
            .filter(|a| a.queue_ids.contains(&queue.id))
            .count() as i64;
    }
    World::new(queues, agents)
}

/// The world, tokens-free state and RNG a scenario starts with.
pub fn initial_state(scenario: &Scenario, seed: u64, auth: super::auth::Auth) -> State {
    let mut rng = seeded(seed);
    let world = build_world(scenario, &mut rng);
    let mut state = State {
        world,
        hub: Default::default(),
        auth,
        faults: scenario.faults.clone(),
        rng,
        simulation: Simulation::default(),
    };
    populate(&mut state, scenario);
    state
}

/// Back to the scenario's start (same seed); tokens and channels are kept.
pub fn reset(state: &mut State, scenario: &Scenario, seed: u64) {
    let mut rng = seeded(seed);
    state.world = build_world(scenario, &mut rng);
    state.rng = rng;
    state.faults = scenario.faults.clone();
    state.simulation = Simulation::default();
    populate(state, scenario);
    state.world.take_changed();
}

fn populate(state: &mut State, scenario: &Scenario) {
    let now = Utc::now();
    let instant = Instant::now();
    for _ in 0..scenario.calls.initial {
        let ago = Duration::from_secs(state.rng.random_range(5..120));
        let conference = state.rng.random_bool(scenario.calls.conference_rate);
        new_call(state, scenario, now, instant, ago, conference, false);
    }
    state.world.take_changed();
}

fn pick_agent(state: &mut State, queue_id: &str, busy: &[String]) -> Option<(String, String)> {
    let candidates: Vec<&AgentInfo> = state
        .world
        .agents
        .iter()
        .filter(|a| a.queue_ids.iter().any(|q| q == queue_id) && !busy.contains(&a.id))
        .collect();
    let pool: Vec<&AgentInfo> = if candidates.is_empty() {
        state
            .world
            .agents
            .iter()
            .filter(|a| !busy.contains(&a.id))
            .collect()
    } else {
        candidates
    };
    if pool.is_empty() {
        return None;
    }
    let agent = pool[state.rng.random_range(0..pool.len())];
    Some((agent.id.clone(), agent.name.clone()))
}

#[allow(clippy::too_many_arguments)]
fn make_leg(
    state: &mut State,
    name: String,
    purpose: &str,
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
        purpose: purpose.to_string(),
        user,
        inbound,
        held: false,
        muted: false,
        start_time: start,
        alerting_time: (purpose != "customer").then_some(start),
        connected_time: connected.then_some(start),
        end_time: None,
        hold_time: None,
        disconnect_type: None,
        consult_participant_id: None,
        state: leg_state,
        changed_at: instant,
    }
}

/// A new call: a connected customer and an agent (ringing for a fresh call), maybe a third party.
fn new_call(
    state: &mut State,
    scenario: &Scenario,
    now: DateTime<Utc>,
    instant: Instant,
    ago: Duration,
    conference: bool,
    fresh: bool,
) {
    if state.world.queues.is_empty() {
        return;
    }
    let settings = &scenario.calls;
    let queue = state.world.queues[state.rng.random_range(0..state.world.queues.len())].clone();
    let start = now - chrono::Duration::from_std(ago).unwrap_or_default();
    let customer_name = CUSTOMER_NAMES[state.rng.random_range(0..CUSTOMER_NAMES.len())].to_string();
    let address = phone_number(&mut state.rng);
    let customer = make_leg(
        state,
        customer_name,
        "customer",
        None,
        address,
        true,
        ParticipantState::Connected,
        start,
        instant,
    );
    let mut legs = vec![customer];
    let agent_state = if fresh {
        ParticipantState::Alerting
    } else {
        ParticipantState::Connected
    };
    let Some(agent) = pick_agent(state, &queue.id, &[]) else {
        return;
    };
    let agent_name = agent.1.clone();
    let agent_leg = make_leg(
        state,
        agent_name,
        "agent",
        Some(agent.clone()),
        String::new(),
        false,
        agent_state.clone(),
        start,
        instant,
    );
    let agent_leg_id = agent_leg.id.clone();
    legs.push(agent_leg);
    // Calls already going at start may already be conferences; some still adding their
    // third party (a consult ringing).
    let already_conference = conference && !fresh;
    let mut ringing_leg = None;
    if already_conference
        && let Some(second) = pick_agent(state, &queue.id, std::slice::from_ref(&agent.0))
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
            "agent",
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
    let live = legs.len();
    let id = state.new_id();
    let call = Call {
        id: id.clone(),
        queue_id: queue.id.clone(),
        queue_name: queue.name.clone(),
        start_time: start,
        end_time: None,
        conference_start: (live >= 3).then_some(start),
        max_participants: (live >= 3).then_some(live as i64),
        legs,
        ended_at: None,
    };
    state.world.insert_call(call);
    if fresh {
        let ring = state.random_ms(settings.ring_ms);
        state
            .world
            .schedule(instant + ring, connect(&id, &agent_leg_id));
    }
    if let Some(leg_id) = ringing_leg {
        let ring = state.random_ms(settings.ring_ms);
        state.world.schedule(instant + ring, connect(&id, &leg_id));
    }
    if conference && fresh {
        // The agent answers first; then a third party is added.
        let delay = state.random_ms([settings.ring_ms[1] + 1_000, settings.ring_ms[1] + 8_000]);
        state.world.schedule(
            instant + delay,
            Action::Simulate {
                call_id: id.clone(),
                step: SimStep::Join,
            },
        );
    }
    if settings.holds_per_minute > 0.0 {
        let wait = exponential(&mut state.rng, settings.holds_per_minute / 60.0);
        state.world.schedule(
            instant + wait,
            Action::Simulate {
                call_id: id.clone(),
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
        Action::EndCall {
            call_id: id,
            disconnect_type: DisconnectType::Endpoint,
        },
    );
}

fn connect(call_id: &str, leg_id: &str) -> Action {
    Action::SetLeg {
        call_id: call_id.to_string(),
        leg_id: leg_id.to_string(),
        change: LegChange {
            state: Some(ParticipantState::Connected),
            ..LegChange::default()
        },
    }
}

/// A wait drawn from an exponential distribution with `rate` events per second.
fn exponential(rng: &mut StdRng, rate: f64) -> Duration {
    if rate <= 0.0 {
        return Duration::from_secs(86_400);
    }
    let u: f64 = rng.random_range(f64::EPSILON..1.0);
    Duration::from_secs_f64((-u.ln() / rate).min(86_400.0))
}

/// One step of the world: due actions, arrivals, conferences kept up, load changes, clean-up.
pub fn tick(state: &mut State, scenario: &Scenario) {
    let instant = Instant::now();
    let now = Utc::now();
    let settings = &scenario.calls;
    let elapsed = state
        .simulation
        .last_tick
        .map(|t| instant.saturating_duration_since(t).as_secs_f64())
        .unwrap_or(0.0);
    state.simulation.last_tick = Some(instant);

    while let Some(action) = state.world.pop_due(instant) {
        apply(state, scenario, action, now, instant);
    }

    state.simulation.arrival_debt += elapsed * settings.arrivals_per_minute / 60.0;
    while state.simulation.arrival_debt >= 1.0 {
        state.simulation.arrival_debt -= 1.0;
        let conference = state.rng.random_bool(settings.conference_rate);
        new_call(
            state,
            scenario,
            now,
            instant,
            Duration::ZERO,
            conference,
            true,
        );
    }

    if settings.min_conferences > 0 {
        let conferences = state.world.calls().filter(|c| c.is_conference()).count();
        let pending_joins = state.world.pending_actions();
        // Start a conference right away (customer and agent talking, a second agent ringing).
        if (conferences as u32) < settings.min_conferences && pending_joins < 10_000 {
            new_call(
                state,
                scenario,
                now,
                instant,
                Duration::from_secs(20),
                false,
                false,
            );
            if let Some(id) = state.world.calls().last().map(|c| c.id.clone()) {
                join(state, scenario, &id, now, instant);
            }
        }
    }

    state.simulation.change_debt += elapsed * settings.changes_per_sec;
    while state.simulation.change_debt >= 1.0 {
        state.simulation.change_debt -= 1.0;
        toggle_random_hold(state, now, instant);
    }

    let forget_due = state
        .simulation
        .last_forget
        .is_none_or(|t| instant.saturating_duration_since(t) >= Duration::from_secs(1));
    if forget_due {
        state.simulation.last_forget = Some(instant);
        state
            .world
            .forget_ended(instant, Duration::from_secs(settings.retain_ended_secs));
    }
}

/// Load for benchmarks: one agent on a random call goes on or off hold.
fn toggle_random_hold(state: &mut State, now: DateTime<Utc>, instant: Instant) {
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

fn apply(
    state: &mut State,
    scenario: &Scenario,
    action: Action,
    now: DateTime<Utc>,
    instant: Instant,
) {
    match action {
        Action::SetLeg {
            call_id,
            leg_id,
            change,
        } => {
            state
                .world
                .change_leg(&call_id, &leg_id, &change, now, instant);
        }
        Action::EndCall {
            call_id,
            disconnect_type,
        } => {
            state
                .world
                .end_call(&call_id, disconnect_type, now, instant);
        }
        Action::Simulate { call_id, step } => match step {
            SimStep::Join => join(state, scenario, &call_id, now, instant),
            SimStep::Leave => leave(state, &call_id, now, instant),
            SimStep::Hold => hold(state, scenario, &call_id, now, instant),
        },
    }
}

/// A third party joins: another agent (a consult or a supervisor) or an external number.
fn join(
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
    let queue_id = call.queue_id.clone();
    let busy: Vec<String> = call
        .legs
        .iter()
        .filter_map(|l| l.user.as_ref().map(|u| u.0.clone()))
        .collect();
    let first_agent = call
        .legs
        .iter()
        .find(|l| l.is_agent() && l.state.is_live())
        .map(|l| l.id.clone());
    let leg = if state.rng.random_bool(settings.external_rate) {
        let name = CUSTOMER_NAMES[state.rng.random_range(0..CUSTOMER_NAMES.len())].to_string();
        let address = phone_number(&mut state.rng);
        make_leg(
            state,
            name,
            "external",
            None,
            address,
            false,
            ParticipantState::Dialing,
            now,
            instant,
        )
    } else {
        let Some(agent) = pick_agent(state, &queue_id, &busy) else {
            return;
        };
        let name = agent.1.clone();
        let mut leg = make_leg(
            state,
            name,
            "agent",
            Some(agent),
            String::new(),
            false,
            ParticipantState::Alerting,
            now,
            instant,
        );
        leg.consult_participant_id = first_agent;
        leg
    };
    let leg_id = leg.id.clone();
    if !state.world.add_leg(call_id, leg, now) {
        return;
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
            Action::Simulate {
                call_id: call_id.to_string(),
                step: SimStep::Leave,
            },
        );
    }
}

/// The first agent of a conference leaves (the consult is done); the others stay.
fn leave(state: &mut State, call_id: &str, now: DateTime<Utc>, instant: Instant) {
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
fn hold(
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
            Action::SetLeg {
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
        Action::Simulate {
            call_id: call_id.to_string(),
            step: SimStep::Hold,
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::auth::Auth;

    fn ids(state: &State) -> Vec<String> {
        state
            .world
            .calls()
            .flat_map(|c| c.legs.iter().map(|l| l.id.clone()))
            .collect()
    }

    #[test]
    fn the_same_seed_gives_the_same_world() {
        let demo = Scenario::named("demo").unwrap();
        let a = initial_state(&demo, 3, Auth::default());
        let b = initial_state(&demo, 3, Auth::default());
        let c = initial_state(&demo, 4, Auth::default());
        assert_eq!(ids(&a), ids(&b));
        assert_ne!(ids(&a), ids(&c));
        assert_eq!(a.world.call_count(), demo.calls.initial as usize);
    }

    #[test]
    fn demo_keeps_conferences_going() {
        let demo = Scenario::named("demo").unwrap();
        let mut state = initial_state(&demo, 7, Auth::default());
        for _ in 0..50 {
            tick(&mut state, &demo);
        }
        let conferences = state.world.calls().filter(|c| c.is_conference()).count();
        assert!(
            conferences >= demo.calls.min_conferences as usize,
            "{conferences}"
        );
        let ringing = state
            .world
            .calls()
            .flat_map(|c| c.legs.iter())
            .any(|l| l.state.is_unsettled());
        assert!(ringing, "the demo shows ringing legs");
    }

    #[test]
    fn quiet_makes_nothing() {
        let quiet = Scenario::named("quiet").unwrap();
        let mut state = initial_state(&quiet, 1, Auth::default());
        for _ in 0..20 {
            tick(&mut state, &quiet);
        }
        assert_eq!(state.world.call_count(), 0);
    }
}
