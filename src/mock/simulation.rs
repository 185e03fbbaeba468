//! The simulated contact center in motion: builds the world from a scenario and, on each tick,
//! lets calls arrive, wait in queue, ring, connect, become conferences, hold, lose a party and end.
//! Each platform behaviour simulated here has its source and certainty in `docs/platform.md`.
//!
//! Like a real center, an agent is on at most one live call (ringing, connected or held) and has
//! a short wrap-up after it before the next; a call that finds no free agent waits in its queue
//! (an `acd` leg) until one is free or the caller gives up; and the callers on live calls are
//! different people (names and numbers not already in use).

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rand::Rng;
use rand::rngs::StdRng;

use super::scenario::{CallSettings, Scenario};
use super::state::{State, new_id, seeded};
use super::world::{
    AgentInfo, CallRecord, Leg, LegChange, QueueInfo, ScheduledAction, SimStep, World,
};
use crate::wire::{DisconnectType, ParticipantState};

const FIRST_NAMES: &[&str] = &[
    "Alex", "Sam", "Jordan", "Taylor", "Casey", "Riley", "Jamie", "Morgan", "Avery", "Quinn",
    "Robin", "Drew", "Harper", "Rowan", "Emery", "Sky", "Lena", "Marco", "Priya", "Tomas", "Yara",
    "Oscar", "Nadia", "Felix", "Hana", "Ivan", "Zoe", "Omar", "Lucia", "Kenji", "Amara", "Victor",
    "Sofia", "Mateo", "Leila", "Arjun", "Greta", "Diego", "Mina", "Rafael",
];

const LAST_NAMES: &[&str] = &[
    "Morgan",
    "Rivera",
    "Lee",
    "Brooks",
    "Nguyen",
    "Evans",
    "Clarke",
    "Diaz",
    "Singh",
    "Murphy",
    "Schulz",
    "Tanaka",
    "Novak",
    "Silva",
    "Costa",
    "Andersen",
    "Moreau",
    "Kowalski",
    "Hughes",
    "Bauer",
    "Romano",
    "Ivanova",
    "Larsen",
    "Mendes",
    "Sato",
    "Okoye",
    "Jensen",
    "Varga",
    "Byrne",
    "Castillo",
    "Dubois",
    "Ferreira",
    "Holm",
    "Ali",
    "Wright",
    "Yilmaz",
    "Park",
    "Horvat",
    "Lindqvist",
    "Mensah",
];

/// Random draws for a free caller name before the caller is shown by number instead (as the
/// platform does for an unknown caller; needed once the name list is used up, at scale).
const NAME_TRIES: usize = 16;

/// Chance that a conference gains one more party later (a second consult or a supervisor).
const LATER_JOIN_RATE: f64 = 0.5;

/// The simulation's running totals (fractions of events carried to the next tick), the roster
/// indexes and the queue of calls waiting for an agent.
#[derive(Debug, Default)]
pub struct Simulation {
    arrival_debt: f64,
    change_debt: f64,
    last_tick: Option<Instant>,
    last_forget: Option<Instant>,
    /// Hold/unhold changes made for load (`changes_per_sec`).
    pub load_changes: u64,
    /// Agent indexes (into `World::agents`) by queue id; the roster does not change.
    members: HashMap<String, Vec<usize>>,
    /// Agent index by user id.
    agent_index: HashMap<String, usize>,
    /// Calls waiting in a queue for an agent, oldest first, with when the caller gives up.
    waiting: VecDeque<(String, Instant)>,
}

impl Simulation {
    fn for_world(world: &World) -> Simulation {
        let mut members: HashMap<String, Vec<usize>> = HashMap::new();
        for (index, agent) in world.agents.iter().enumerate() {
            for queue in &agent.queue_ids {
                members.entry(queue.clone()).or_default().push(index);
            }
        }
        let agent_index = world
            .agents
            .iter()
            .enumerate()
            .map(|(index, agent)| (agent.id.clone(), index))
            .collect();
        Simulation {
            members,
            agent_index,
            ..Simulation::default()
        }
    }
}

/// Who is taken at one moment: agents on a live leg or in wrap-up, and the names and addresses
/// of the callers on live calls. Read from the world when someone must be placed (so changes
/// made by clients, a kick say, count), then kept up to date while placing.
struct Occupancy {
    busy: Vec<bool>,
    parties: HashSet<String>,
}

impl Occupancy {
    fn read(state: &State, settings: &CallSettings, instant: Instant) -> Occupancy {
        let wrap_up = wrap_up(settings);
        let mut busy = vec![false; state.world.agents.len()];
        let mut parties = HashSet::new();
        for call in state.world.calls() {
            for leg in &call.legs {
                if let Some((user_id, _)) = &leg.user {
                    // A gone leg's `changed_at` is when it ended.
                    let taken = leg.state.is_live()
                        || instant.saturating_duration_since(leg.changed_at) < wrap_up;
                    if taken && let Some(&index) = state.simulation.agent_index.get(user_id) {
                        busy[index] = true;
                    }
                } else if leg.state.is_live() && is_caller(leg) {
                    parties.insert(leg.name.clone());
                    parties.insert(leg.address.clone());
                }
            }
        }
        Occupancy { busy, parties }
    }
}

/// A customer or an outside party (who must not be on two live calls at once).
fn is_caller(leg: &Leg) -> bool {
    matches!(leg.purpose.as_str(), "customer" | "external")
}

/// The pause after an agent's leg ends before the next call: a tenth of the shortest call,
/// 1 to 15 s (so sped-up scenarios keep their pace).
fn wrap_up(settings: &CallSettings) -> Duration {
    Duration::from_secs((settings.call_secs[0] / 10).clamp(1, 15))
}

pub fn phone_number(rng: &mut StdRng) -> String {
    format!("tel:+1555{:07}", rng.random_range(0..10_000_000u32))
}

/// A caller not on a live call: a free number, and a free name (or the number when no free
/// name is found).
fn pick_caller(rng: &mut StdRng, occupancy: &mut Occupancy) -> (String, String) {
    let address = loop {
        let address = phone_number(rng);
        if occupancy.parties.insert(address.clone()) {
            break address;
        }
    };
    let name = (0..NAME_TRIES)
        .find_map(|_| {
            let first = FIRST_NAMES[rng.random_range(0..FIRST_NAMES.len())];
            let last = LAST_NAMES[rng.random_range(0..LAST_NAMES.len())];
            let name = format!("{first} {last}");
            (!occupancy.parties.contains(&name)).then_some(name)
        })
        .unwrap_or_else(|| address.trim_start_matches("tel:").to_string());
    occupancy.parties.insert(name.clone());
    (name, address)
}

/// A free agent of the queue (any free agent when `members_only` is off and the queue has none
/// free), marked busy. None when nobody is free.
fn pick_agent(
    state: &mut State,
    occupancy: &mut Occupancy,
    queue_id: &str,
    members_only: bool,
) -> Option<(String, String)> {
    let mut pool: Vec<usize> = state
        .simulation
        .members
        .get(queue_id)
        .map(|m| m.iter().copied().filter(|&i| !occupancy.busy[i]).collect())
        .unwrap_or_default();
    let queue_has_members = state
        .simulation
        .members
        .get(queue_id)
        .is_some_and(|m| !m.is_empty());
    if pool.is_empty() && (!members_only || !queue_has_members) {
        pool = (0..occupancy.busy.len())
            .filter(|&i| !occupancy.busy[i])
            .collect();
    }
    if pool.is_empty() {
        return None;
    }
    let index = pool[state.rng.random_range(0..pool.len())];
    occupancy.busy[index] = true;
    let agent = &state.world.agents[index];
    Some((agent.id.clone(), agent.name.clone()))
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
    initial_state_at(scenario, seed, auth, Utc::now(), Instant::now())
}

/// `initial_state` on a given clock (tests drive the simulation with their own clock).
pub fn initial_state_at(
    scenario: &Scenario,
    seed: u64,
    auth: super::auth::Auth,
    now: DateTime<Utc>,
    instant: Instant,
) -> State {
    let mut rng = seeded(seed);
    let world = build_world(scenario, &mut rng);
    let simulation = Simulation::for_world(&world);
    let mut state = State {
        world,
        hub: Default::default(),
        auth,
        faults: scenario.faults.clone(),
        rng,
        simulation,
    };
    populate(&mut state, scenario, now, instant);
    state
}

/// Back to the scenario's start (same seed); tokens and channels are kept.
pub fn reset(state: &mut State, scenario: &Scenario, seed: u64) {
    let mut rng = seeded(seed);
    state.world = build_world(scenario, &mut rng);
    state.rng = rng;
    state.faults = scenario.faults.clone();
    state.simulation = Simulation::for_world(&state.world);
    populate(state, scenario, Utc::now(), Instant::now());
    state.world.take_changed();
}

fn populate(state: &mut State, scenario: &Scenario, now: DateTime<Utc>, instant: Instant) {
    let mut occupancy = Occupancy::read(state, &scenario.calls, instant);
    for _ in 0..scenario.calls.initial {
        let ago = Duration::from_secs(state.rng.random_range(5..120));
        let conference = state.rng.random_bool(scenario.calls.conference_rate);
        let arrival = Arrival {
            ago,
            conference,
            fresh: false,
            may_wait: true,
        };
        new_call(state, scenario, &mut occupancy, arrival, now, instant);
    }
    state.world.take_changed();
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
        alerting_time: (!matches!(purpose, "customer" | "acd")).then_some(start),
        connected_time: connected.then_some(start),
        end_time: None,
        hold_time: None,
        disconnect_type: None,
        consult_participant_id: None,
        state: leg_state,
        changed_at: instant,
    }
}

/// How a new call comes in.
#[derive(Clone, Copy, Debug)]
struct Arrival {
    /// How long it has been going (calls already going at start).
    ago: Duration,
    /// It gains a third party.
    conference: bool,
    /// It arrives now (its agent rings); otherwise it is already talking.
    fresh: bool,
    /// With no free agent it waits in its queue; otherwise it is not made.
    may_wait: bool,
}

/// A new call: a connected customer and an agent (ringing for a fresh call), maybe a third
/// party; or, with no free agent, the customer waiting in the queue. Returns the call's id when
/// an agent took it.
fn new_call(
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
        "customer",
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
            "acd",
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
        "agent",
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

fn new_call_record(
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
fn plan_call(
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
fn serve_queue(
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
            .find(|l| l.purpose == "acd" && l.state.is_live())
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
            "agent",
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

fn connect(call_id: &str, leg_id: &str) -> ScheduledAction {
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
fn exponential(rng: &mut StdRng, rate: f64) -> Duration {
    if rate <= 0.0 {
        return Duration::from_secs(86_400);
    }
    let u: f64 = rng.random_range(f64::EPSILON..1.0);
    Duration::from_secs_f64((-u.ln() / rate).min(86_400.0))
}

/// One step of the world: due actions, the queue served, arrivals, conferences kept up, load
/// changes, clean-up.
pub fn tick(state: &mut State, scenario: &Scenario) {
    tick_at(state, scenario, Utc::now(), Instant::now());
}

/// `tick` on a given clock (tests drive the simulation with their own clock).
pub fn tick_at(state: &mut State, scenario: &Scenario, now: DateTime<Utc>, instant: Instant) {
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

    // Read only when someone must be placed: at scale most ticks place no one.
    let mut occupancy: Option<Occupancy> = None;
    if !state.simulation.waiting.is_empty() {
        serve_queue(state, scenario, &mut occupancy, now, instant);
    }

    state.simulation.arrival_debt += elapsed * settings.arrivals_per_minute / 60.0;
    while state.simulation.arrival_debt >= 1.0 {
        state.simulation.arrival_debt -= 1.0;
        let arrival = Arrival {
            ago: Duration::ZERO,
            conference: state.rng.random_bool(settings.conference_rate),
            fresh: true,
            may_wait: true,
        };
        let occupancy = occupancy.get_or_insert_with(|| Occupancy::read(state, settings, instant));
        new_call(state, scenario, occupancy, arrival, now, instant);
    }

    if settings.min_conferences > 0 {
        keep_conferences(state, scenario, &mut occupancy, now, instant);
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

/// Tops the conferences up to `min_conferences`: a party joins a two-party call (a free agent,
/// or an outside number when none is free); with no such call, a new call (when an agent is
/// free) gains one.
fn keep_conferences(
    state: &mut State,
    scenario: &Scenario,
    occupancy: &mut Option<Occupancy>,
    now: DateTime<Utc>,
    instant: Instant,
) {
    let settings = &scenario.calls;
    let mut conferences = state.world.calls().filter(|c| c.is_conference()).count();
    while conferences < settings.min_conferences as usize {
        let two_party: Vec<String> = state
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
            two_party[state.rng.random_range(0..two_party.len())].clone()
        };
        if !join(state, scenario, occupancy, &call_id, true, now, instant) {
            return;
        }
        conferences += 1;
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
fn join(
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
    let queue_id = call.queue_id.clone();
    let first_agent = call
        .legs
        .iter()
        .find(|l| l.is_agent() && l.state.is_live())
        .map(|l| l.id.clone());
    let agent = if state.rng.random_bool(settings.external_rate) {
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
        }
        None => {
            let (name, address) = pick_caller(&mut state.rng, occupancy);
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
        }
    };
    let leg_id = leg.id.clone();
    if !state.world.add_leg(call_id, leg, now) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::auth::Auth;

    /// The simulated clock's step (the server ticks every 10 ms; 250 ms keeps an hour fast).
    const STEP: Duration = Duration::from_millis(250);

    /// A scenario driven on a simulated clock, checking after every tick that no agent is on
    /// two live calls, that agents get their wrap-up, and that live calls have different
    /// callers; and counting what it sees.
    struct Run {
        scenario: Scenario,
        state: State,
        now: DateTime<Utc>,
        instant: Instant,
        /// When each user is free again after a leg that ended.
        free_at: HashMap<String, Instant>,
        seen_legs: HashSet<String>,
        seen: Seen,
    }

    #[derive(Debug, Default)]
    struct Seen {
        ticks: u64,
        conferences_min: usize,
        conferences_sum: usize,
        /// Ticks with an agent ringing in a conference (one to kick while it rings).
        ringing_agent_ticks: u64,
        /// The longest run of ticks without one, and the current run.
        no_ringing_max: u64,
        no_ringing_run: u64,
        busy_agents_max: usize,
        waiting_max: usize,
        ringing: usize,
        held: usize,
        left_conference: HashSet<String>,
        answered_from_queue: HashSet<String>,
        abandoned: HashSet<String>,
    }

    impl Run {
        fn start(scenario: Scenario, seed: u64) -> Run {
            let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
            let instant = Instant::now();
            let state = initial_state_at(&scenario, seed, Auth::default(), now, instant);
            let mut run = Run {
                scenario,
                state,
                now,
                instant,
                free_at: HashMap::new(),
                seen_legs: HashSet::new(),
                seen: Seen {
                    conferences_min: usize::MAX,
                    ..Seen::default()
                },
            };
            run.check();
            run
        }

        fn demo(seed: u64) -> Run {
            Run::start(Scenario::named("demo").unwrap(), seed)
        }

        /// Runs for `secs` simulated seconds; counts conferences only after `warm_up` of them.
        fn run(&mut self, secs: u64, warm_up: u64) {
            let steps = secs * 1000 / STEP.as_millis() as u64;
            let warm_steps = warm_up * 1000 / STEP.as_millis() as u64;
            for n in 0..steps {
                self.now += STEP;
                self.instant += STEP;
                tick_at(&mut self.state, &self.scenario, self.now, self.instant);
                self.check();
                if n >= warm_steps {
                    let conferences = self.live_calls().filter(|c| c.is_conference()).count();
                    self.seen.ticks += 1;
                    self.seen.conferences_min = self.seen.conferences_min.min(conferences);
                    self.seen.conferences_sum += conferences;
                    let ringing_agent = self.live_calls().filter(|c| c.is_conference()).any(|c| {
                        c.legs
                            .iter()
                            .any(|l| l.is_agent() && l.state == ParticipantState::Alerting)
                    });
                    self.seen.ringing_agent_ticks += ringing_agent as u64;
                    self.seen.no_ringing_run =
                        (self.seen.no_ringing_run + 1) * !ringing_agent as u64;
                    self.seen.no_ringing_max =
                        self.seen.no_ringing_max.max(self.seen.no_ringing_run);
                }
            }
        }

        fn live_calls(&self) -> impl Iterator<Item = &CallRecord> {
            self.state.world.calls().filter(|c| c.end_time.is_none())
        }

        fn check(&mut self) {
            let wrap_up = wrap_up(&self.scenario.calls);
            let mut on_call: HashMap<&str, &str> = HashMap::new();
            let mut callers: HashMap<&str, &str> = HashMap::new();
            let (mut ringing, mut held) = (0, 0);
            for call in self.state.world.calls().filter(|c| c.end_time.is_none()) {
                for leg in call.legs.iter().filter(|l| l.state.is_live()) {
                    if let Some((user, name)) = &leg.user {
                        if let Some(other) = on_call.insert(user, &call.id) {
                            panic!("{name} is on two live calls: {other} and {}", call.id);
                        }
                    } else if is_caller(leg) {
                        for key in [&leg.name, &leg.address] {
                            if let Some(other) = callers.insert(key, &call.id) {
                                panic!("{key} is on two live calls: {other} and {}", call.id);
                            }
                        }
                    }
                    ringing += leg.state.is_unsettled() as usize;
                    held += leg.held as usize;
                }
            }
            self.seen.ringing += ringing;
            self.seen.held += held;
            self.seen.busy_agents_max = self.seen.busy_agents_max.max(on_call.len());
            self.seen.waiting_max = self
                .seen
                .waiting_max
                .max(self.state.simulation.waiting.len());
            // Ended legs first: when is each agent free again.
            for call in self.state.world.calls() {
                for leg in call.legs.iter().filter(|l| l.state.is_gone()) {
                    if let Some((user, _)) = &leg.user {
                        let free = leg.changed_at + wrap_up;
                        let at = self.free_at.entry(user.clone()).or_insert(free);
                        *at = (*at).max(free);
                    }
                    match (&leg.disconnect_type, leg.purpose.as_str()) {
                        (Some(DisconnectType::TransferConsult), _) => {
                            self.seen.left_conference.insert(leg.id.clone());
                        }
                        (Some(DisconnectType::Transfer), "acd") => {
                            self.seen.answered_from_queue.insert(call.id.clone());
                        }
                        (_, "acd") => {
                            self.seen.abandoned.insert(call.id.clone());
                        }
                        _ => {}
                    }
                }
            }
            // Then each new agent leg: its agent must have finished wrap-up.
            for call in self.state.world.calls() {
                for leg in &call.legs {
                    if !self.seen_legs.insert(leg.id.clone()) {
                        continue;
                    }
                    if let Some((user, name)) = &leg.user
                        && leg.state.is_live()
                        && let Some(free) = self.free_at.get(user)
                    {
                        assert!(
                            self.instant >= *free,
                            "{name} got a new call {:?} into wrap-up",
                            *free - self.instant
                        );
                    }
                }
            }
        }

        fn figures(&self) -> String {
            let s = &self.seen;
            format!(
                "conferences min {} avg {:.1}; an agent ringing in a conference {:.0}% of the \
                 time (longest without: {:?}); agents {} (at most {} busy); waiting at most {}; answered from queue {}, \
                 abandoned {}; left a conference {}",
                s.conferences_min,
                s.conferences_sum as f64 / s.ticks.max(1) as f64,
                100.0 * s.ringing_agent_ticks as f64 / s.ticks.max(1) as f64,
                STEP * s.no_ringing_max as u32,
                self.state.world.agents.len(),
                s.busy_agents_max,
                s.waiting_max,
                s.answered_from_queue.len(),
                s.abandoned.len(),
                s.left_conference.len()
            )
        }
    }

    /// Everything a client sees of the world, without times.
    fn snapshot(state: &State) -> Vec<String> {
        state
            .world
            .calls()
            .flat_map(|c| {
                c.legs.iter().map(|l| {
                    format!(
                        "{} {} {} {} {} {:?} {:?} {}",
                        c.id, l.id, l.name, l.address, l.purpose, l.user, l.state, l.held
                    )
                })
            })
            .collect()
    }

    #[test]
    fn no_agent_is_on_two_live_calls_and_each_gets_a_wrap_up() {
        // `Run::check` asserts both after every tick of a simulated hour, for two seeds.
        for seed in [7, 3] {
            let mut run = Run::demo(seed);
            run.run(3600, 0);
            eprintln!("demo seed {seed}, one hour: {}", run.figures());
            assert!(run.seen.busy_agents_max >= 20, "{}", run.figures());
        }
    }

    #[test]
    fn live_calls_have_different_callers() {
        // `Run::check` asserts it after every tick; here a center with few names to go round
        // would fail fast: 40 x 40 names and 10 million numbers, 30 minutes.
        let mut run = Run::demo(11);
        run.run(1800, 0);
        assert!(run.seen.ringing > 0);
    }

    #[test]
    fn demo_keeps_eight_conferences_going_and_moving() {
        let mut run = Run::demo(7);
        run.run(3600, 30);
        eprintln!("demo seed 7, one hour after 30 s: {}", run.figures());
        let seen = &run.seen;
        assert!(seen.conferences_min >= 8, "{}", run.figures());
        assert!(seen.ringing > 0 && seen.held > 0, "{seen:?}");
        assert!(seen.left_conference.len() > 10, "{}", run.figures());
        // Most of the time there is an agent ringing to kick (the wait, the 409 retries).
        assert!(
            seen.ringing_agent_ticks * 2 > seen.ticks,
            "{}",
            run.figures()
        );
        assert!(STEP * seen.no_ringing_max as u32 <= Duration::from_secs(90));
        // Right at start too: the console has something to show at once.
        let start = Run::demo(7);
        let conferences = start.live_calls().filter(|c| c.is_conference()).count();
        assert!(conferences >= 8, "{conferences} at start");
    }

    #[test]
    fn a_busy_center_queues_callers_instead_of_double_booking() {
        let mut scenario = Scenario::named("demo").unwrap();
        scenario.agents.truncate(4);
        scenario.calls.arrivals_per_minute = 30.0;
        scenario.calls.min_conferences = 3;
        let mut run = Run::start(scenario, 5);
        run.run(1200, 0);
        eprintln!("4 agents, 30 calls a minute: {}", run.figures());
        let seen = &run.seen;
        assert!(seen.busy_agents_max <= 4);
        assert!(seen.waiting_max >= 5, "{}", run.figures());
        assert!(!seen.answered_from_queue.is_empty(), "{}", run.figures());
        assert!(!seen.abandoned.is_empty(), "{}", run.figures());
        // Conferences are kept with outside parties when no agent is free.
        assert!(seen.conferences_min >= 1, "{}", run.figures());
    }

    #[test]
    fn the_same_seed_gives_the_same_world() {
        let demo = Scenario::named("demo").unwrap();
        let (mut a, mut b, mut c) = (Run::demo(3), Run::demo(3), Run::demo(4));
        assert_eq!(snapshot(&a.state), snapshot(&b.state));
        assert_ne!(snapshot(&a.state), snapshot(&c.state));
        assert_eq!(a.state.world.call_count(), demo.calls.initial as usize);
        for run in [&mut a, &mut b, &mut c] {
            run.run(600, 0);
        }
        assert_eq!(snapshot(&a.state), snapshot(&b.state));
        assert_ne!(snapshot(&a.state), snapshot(&c.state));
    }

    #[test]
    fn scale_has_an_agent_for_every_leg() {
        let scale = Scenario::named("scale").unwrap();
        let run = Run::start(scale, 42);
        let calls: Vec<&CallRecord> = run.live_calls().collect();
        assert_eq!(calls.len(), 10_000);
        assert!(
            calls
                .iter()
                .all(|c| !c.legs.iter().any(|l| l.purpose == "acd")),
            "no call waits in a queue at scale"
        );
        let conferences = calls.iter().filter(|c| c.is_conference()).count();
        assert!(conferences > 2_000, "{conferences}");
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
