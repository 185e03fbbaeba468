//! Who is free to be placed on a call: agents not on a live leg or in wrap-up (picked from their
//! queue's members), and callers (names and numbers) not already on a live call.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use rand::Rng;
use rand::rngs::StdRng;

use crate::scenario::CallSettings;
use crate::state::State;
use crate::world::Leg;

pub(super) const FIRST_NAMES: &[&str] = &[
    "Alex", "Sam", "Jordan", "Taylor", "Casey", "Riley", "Jamie", "Morgan", "Avery", "Quinn",
    "Robin", "Drew", "Harper", "Rowan", "Emery", "Sky", "Lena", "Marco", "Priya", "Tomas", "Yara",
    "Oscar", "Nadia", "Felix", "Hana", "Ivan", "Zoe", "Omar", "Lucia", "Kenji", "Amara", "Victor",
    "Sofia", "Mateo", "Leila", "Arjun", "Greta", "Diego", "Mina", "Rafael",
];

pub(super) const LAST_NAMES: &[&str] = &[
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
pub(super) const NAME_TRIES: usize = 16;

/// Who is taken at one moment: agents on a live leg or in wrap-up, and the names and addresses
/// of the callers on live calls. Read from the world when someone must be placed (so changes
/// made by clients, a kick say, count), then kept up to date while placing.
pub(super) struct Occupancy {
    pub(crate) busy: Vec<bool>,
    /// How many of `busy` are false: with none free, placing a call costs no scan (a busy
    /// center with a long queue would otherwise scan every agent for every waiting call).
    pub(crate) free: usize,
    pub(crate) parties: HashSet<String>,
}

impl Occupancy {
    pub(super) fn read(state: &State, settings: &CallSettings, instant: Instant) -> Occupancy {
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
        let free = busy.iter().filter(|b| !**b).count();
        Occupancy {
            busy,
            free,
            parties,
        }
    }
}

/// A customer or an outside party (who must not be on two live calls at once).
pub(super) fn is_caller(leg: &Leg) -> bool {
    leg.purpose.is_customer_side()
}

/// The pause after an agent's leg ends before the next call: a tenth of the shortest call,
/// 1 to 15 s (so sped-up scenarios keep their pace).
pub(super) fn wrap_up(settings: &CallSettings) -> Duration {
    Duration::from_secs((settings.call_secs[0] / 10).clamp(1, 15))
}

pub(crate) fn phone_number(rng: &mut StdRng) -> String {
    format!("tel:+1555{:07}", rng.random_range(0..10_000_000u32))
}

/// A caller not on a live call: a free number, and a free name (or the number when no free
/// name is found).
pub(super) fn pick_caller(rng: &mut StdRng, occupancy: &mut Occupancy) -> (String, String) {
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

/// Random picks tried before a queue's members are scanned for a free one.
const RANDOM_TRIES: usize = 32;

/// A free agent of the queue (any free agent when `members_only` is off and the queue has none
/// free), marked busy. None when nobody is free.
pub(super) fn pick_agent(
    state: &mut State,
    occupancy: &mut Occupancy,
    queue_id: &str,
    members_only: bool,
) -> Option<(String, String)> {
    // A few random tries first: while most agents are free one is found at once, so placing N
    // calls among M agents is not N scans of M (100,000 calls among 100,000 agents would
    // never finish building); the scan below is the fallback when most are busy.
    if occupancy.free == 0 {
        return None;
    }
    let members_len = state.simulation.members.get(queue_id).map_or(0, Vec::len);
    for _ in 0..RANDOM_TRIES.min(members_len) {
        let pick = state.rng.random_range(0..members_len);
        let index = state.simulation.members[queue_id][pick];
        if !occupancy.busy[index] {
            occupancy.busy[index] = true;
            occupancy.free -= 1;
            let agent = &state.world.agents[index];
            return Some((agent.id.clone(), agent.name.clone()));
        }
    }
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
    occupancy.free -= 1;
    let agent = &state.world.agents[index];
    Some((agent.id.clone(), agent.name.clone()))
}
