//! The simulated contact center: queues, agents, calls and their legs, and the changes that are
//! due later. Pure data and rules; the clock and the network live elsewhere.
//! Each platform behaviour simulated here has its source and certainty in `docs/platform.md`.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use genesys_cloud_models::{DisconnectType, ParticipantState, Purpose};

#[derive(Clone, Debug)]
pub(super) struct QueueInfo {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) member_count: i64,
    /// Checked against a signed-in user's division-limited permissions.
    pub(crate) division: String,
}

#[derive(Clone, Debug)]
pub(super) struct AgentInfo {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) queue_ids: Vec<String>,
}

/// One participant's leg of a call.
#[derive(Clone, Debug)]
pub(super) struct Leg {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) address: String,
    pub(crate) purpose: Purpose,
    /// (id, name) of the user, for agents and users.
    pub(crate) user: Option<(String, String)>,
    pub(crate) inbound: bool,
    pub(crate) state: ParticipantState,
    pub(crate) held: bool,
    pub(crate) muted: bool,
    pub(crate) start_time: DateTime<Utc>,
    pub(crate) alerting_time: Option<DateTime<Utc>>,
    pub(crate) connected_time: Option<DateTime<Utc>>,
    pub(crate) end_time: Option<DateTime<Utc>>,
    pub(crate) hold_time: Option<DateTime<Utc>>,
    pub(crate) disconnect_type: Option<DisconnectType>,
    pub(crate) consult_participant_id: Option<String>,
    /// (id, name) of the queue an agent or `acd` leg served, once the call has moved on to
    /// another queue (a transfer); `None`: the call's current queue.
    pub(crate) queue: Option<(String, String)>,
    /// When the leg last changed state or hold (the transition lock counts from here).
    pub(crate) changed_at: Instant,
}

impl Leg {
    pub(super) fn is_agent(&self) -> bool {
        self.purpose.is_agent()
    }

    /// Agents and `acd` legs belong to a queue; customers, IVRs and outside numbers do not.
    pub(super) fn in_queue(&self) -> bool {
        self.is_agent() || self.purpose == Purpose::Acd
    }
}

#[derive(Clone, Debug)]
pub(super) struct CallRecord {
    pub(crate) id: String,
    pub(crate) queue_id: String,
    pub(crate) queue_name: String,
    pub(crate) start_time: DateTime<Utc>,
    pub(crate) end_time: Option<DateTime<Utc>>,
    pub(crate) conference_start: Option<DateTime<Utc>>,
    pub(crate) max_participants: Option<i64>,
    pub(crate) legs: Vec<Leg>,
    /// When the call ended (for retention).
    pub(crate) ended_at: Option<Instant>,
}

impl CallRecord {
    /// A one-leg call (agent "Ava", user u1, queue q1) for unit tests of the shapes and the hub.
    #[cfg(test)]
    pub(super) fn sample(
        state: ParticipantState,
        disconnect_type: Option<DisconnectType>,
    ) -> CallRecord {
        let now = Utc::now();
        let leg = Leg {
            id: "p1".into(),
            name: "Ava".into(),
            address: String::new(),
            purpose: Purpose::Agent,
            user: Some(("u1".into(), "Ava".into())),
            inbound: false,
            connected_time: (state == ParticipantState::Connected).then_some(now),
            state,
            held: false,
            muted: false,
            start_time: now,
            alerting_time: None,
            end_time: None,
            hold_time: None,
            disconnect_type,
            consult_participant_id: None,
            queue: None,
            changed_at: Instant::now(),
        };
        CallRecord {
            id: "c1".into(),
            queue_id: "q1".into(),
            queue_name: "Q".into(),
            start_time: now,
            end_time: None,
            conference_start: None,
            max_participants: None,
            legs: vec![leg],
            ended_at: None,
        }
    }

    pub(super) fn live_count(&self) -> usize {
        self.legs.iter().filter(|l| l.state.is_live()).count()
    }

    pub(super) fn is_conference(&self) -> bool {
        self.end_time.is_none() && self.live_count() >= 3
    }

    pub(super) fn leg(&self, leg_id: &str) -> Option<&Leg> {
        self.legs.iter().find(|l| l.id == leg_id)
    }

    /// Marks the call a conference once three legs are live (and keeps the mark); returns how
    /// many legs are live.
    fn note_conference(&mut self, now: DateTime<Utc>) -> usize {
        let live = self.live_count();
        if live >= 3 {
            self.conference_start.get_or_insert(now);
            let max = self.max_participants.unwrap_or(0).max(live as i64);
            self.max_participants = Some(max);
        }
        live
    }

    /// (id, name) of the queue a leg is in: its own after a transfer, else the call's.
    pub(super) fn queue_of<'a>(&'a self, leg: &'a Leg) -> (&'a str, &'a str) {
        match &leg.queue {
            Some((id, name)) => (id, name),
            None => (&self.queue_id, &self.queue_name),
        }
    }

    /// Whether the call is or has been in queue `id` (what [`Self::queue_ids`] lists, without
    /// building the list: the analytics query asks it of every call for every page).
    pub(super) fn has_been_in(&self, id: &str) -> bool {
        self.queue_id == id
            || self
                .legs
                .iter()
                .any(|l| l.queue.as_ref().is_some_and(|(queue, _)| queue == id))
    }

    /// Every queue the call has been in: its current one first, then earlier ones, each once.
    pub(super) fn queue_ids(&self) -> Vec<&str> {
        let mut ids = vec![self.queue_id.as_str()];
        for (id, _) in self.legs.iter().filter_map(|l| l.queue.as_ref()) {
            if !ids.contains(&id.as_str()) {
                ids.push(id);
            }
        }
        ids
    }
}

/// A transfer of a call to another queue (see [`World::transfer`]).
#[derive(Clone, Debug)]
pub(super) struct Transfer {
    pub(crate) queue: QueueInfo,
    /// The agents of the earlier queue stay on the call (a consult to a queue) rather than
    /// leaving as `transfer` (a blind transfer).
    pub(crate) keep_agents: bool,
    /// The agent of the new queue who takes the call; without one the call waits in the queue.
    pub(crate) agent: Option<Leg>,
}

/// A change to one leg; fields left `None` stay as they are.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct LegChange {
    pub(crate) state: Option<ParticipantState>,
    pub(crate) held: Option<bool>,
    pub(crate) muted: Option<bool>,
    pub(crate) disconnect_type: Option<DisconnectType>,
}

/// Something the world will do at a given time.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum ScheduledAction {
    SetLeg {
        call_id: String,
        leg_id: String,
        change: LegChange,
    },
    /// The whole call ends (every live leg disconnects).
    EndCall {
        call_id: String,
        disconnect_type: DisconnectType,
    },
    /// A simulation step keyed by call (see `simulation/events.rs`).
    Simulate { call_id: String, step: SimStep },
}

/// Steps the simulation plans for a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum SimStep {
    /// A third party joins (consult, supervisor or external).
    Join,
    /// One agent leaves a conference.
    Leave,
    /// An agent puts the call on hold for a while.
    Hold,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Due {
    at: Instant,
    seq: u64,
}

#[derive(Debug)]
pub(super) struct World {
    pub(crate) queues: Vec<QueueInfo>,
    pub(crate) agents: Vec<AgentInfo>,
    /// Every user id the platform knows (agents and users made for scripted calls).
    pub(crate) users: HashMap<String, String>,
    calls: HashMap<String, CallRecord>,
    /// Call ids in creation order (for random picks and stable listings).
    order: Vec<String>,
    scheduled: BinaryHeap<Reverse<Due>>,
    actions: HashMap<u64, ScheduledAction>,
    next_seq: u64,
    /// Calls changed since the last `take_changed`.
    changed: Vec<String>,
    changed_set: HashSet<String>,
}

impl World {
    pub(super) fn new(queues: Vec<QueueInfo>, agents: Vec<AgentInfo>) -> World {
        let users = agents
            .iter()
            .map(|a| (a.id.clone(), a.name.clone()))
            .collect();
        World {
            queues,
            agents,
            users,
            calls: HashMap::new(),
            order: Vec::new(),
            scheduled: BinaryHeap::new(),
            actions: HashMap::new(),
            next_seq: 0,
            changed: Vec::new(),
            changed_set: HashSet::new(),
        }
    }

    pub(super) fn queue(&self, name_or_id: &str) -> Option<&QueueInfo> {
        self.queues
            .iter()
            .find(|q| q.id == name_or_id)
            .or_else(|| self.queues.iter().find(|q| q.name == name_or_id))
    }

    pub(super) fn call(&self, id: &str) -> Option<&CallRecord> {
        self.calls.get(id)
    }

    pub(super) fn call_count(&self) -> usize {
        self.order.len()
    }

    /// The i-th call in creation order.
    pub(super) fn call_at(&self, index: usize) -> Option<&CallRecord> {
        self.order.get(index).and_then(|id| self.calls.get(id))
    }

    pub(super) fn calls(&self) -> impl Iterator<Item = &CallRecord> {
        self.order.iter().filter_map(|id| self.calls.get(id))
    }

    pub(super) fn insert_call(&mut self, call: CallRecord) {
        let id = call.id.clone();
        self.order.push(id.clone());
        self.calls.insert(id.clone(), call);
        self.mark_changed(&id);
    }

    fn mark_changed(&mut self, call_id: &str) {
        if self.changed_set.insert(call_id.to_string()) {
            self.changed.push(call_id.to_string());
        }
    }

    /// Call ids changed since the last call, each once, in order of first change.
    pub(super) fn take_changed(&mut self) -> Vec<String> {
        self.changed_set.clear();
        std::mem::take(&mut self.changed)
    }

    pub(super) fn schedule(&mut self, at: Instant, action: ScheduledAction) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.scheduled.push(Reverse(Due { at, seq }));
        self.actions.insert(seq, action);
    }

    /// Removes and returns the next action due at or before `now`.
    pub(super) fn pop_due(&mut self, now: Instant) -> Option<ScheduledAction> {
        let Reverse(next) = self.scheduled.peek()?;
        if next.at > now {
            return None;
        }
        let Reverse(due) = self.scheduled.pop()?;
        self.actions.remove(&due.seq)
    }

    #[cfg(test)]
    pub(super) fn pending_actions(&self) -> usize {
        self.actions.len()
    }

    /// Applies `change` to a leg at `now`. Returns false when the call or leg is unknown or
    /// already gone. When fewer than two live legs remain, the call ends for all.
    pub(super) fn change_leg(
        &mut self,
        call_id: &str,
        leg_id: &str,
        change: &LegChange,
        now: DateTime<Utc>,
        instant: Instant,
    ) -> bool {
        let Some(call) = running_call(&mut self.calls, call_id) else {
            return false;
        };
        let Some(leg) = call.legs.iter_mut().find(|l| l.id == leg_id) else {
            return false;
        };
        if leg.state.is_gone() {
            return false;
        }
        let mut ended_leg = false;
        if let Some(state) = &change.state
            && *state != leg.state
        {
            leg.state = state.clone();
            leg.changed_at = instant;
            match state {
                ParticipantState::Connected => {
                    leg.connected_time.get_or_insert(now);
                }
                ParticipantState::Alerting
                | ParticipantState::Dialing
                | ParticipantState::Contacting
                | ParticipantState::Offering => {
                    leg.alerting_time.get_or_insert(now);
                }
                s if s.is_gone() => {
                    leg.end_time = Some(now);
                    leg.held = false;
                    leg.hold_time = None;
                    leg.disconnect_type = Some(
                        change
                            .disconnect_type
                            .clone()
                            .unwrap_or(DisconnectType::Client),
                    );
                    ended_leg = true;
                }
                _ => {}
            }
        }
        if !ended_leg {
            if let Some(held) = change.held
                && held != leg.held
            {
                leg.held = held;
                leg.hold_time = held.then_some(now);
                leg.changed_at = instant;
            }
            if let Some(muted) = change.muted {
                leg.muted = muted;
            }
        }
        let live = call.note_conference(now);
        if ended_leg && live < 2 {
            end_call(call, DisconnectType::Peer, now, instant);
        }
        self.mark_changed(call_id);
        true
    }

    /// Adds a leg to a live call. Returns false when the call is unknown or over.
    pub(super) fn add_leg(&mut self, call_id: &str, leg: Leg, now: DateTime<Utc>) -> bool {
        let Some(call) = running_call(&mut self.calls, call_id) else {
            return false;
        };
        if let Some((id, name)) = &leg.user {
            self.users.insert(id.clone(), name.clone());
        }
        call.legs.push(leg);
        call.note_conference(now);
        self.mark_changed(call_id);
        true
    }

    /// Moves a live call to another queue, as the platform keeps it: one `acd` participant per
    /// queue, each agent and `acd` leg with the queue it served. The earlier queue's `acd` legs
    /// (and, unless kept, its agents) leave as `transfer`; a new `acd` leg waits in the new
    /// queue, and leaves as `transfer` when an agent of the new queue takes the call. Returns
    /// false when the call is unknown or over, or already in that queue.
    pub(super) fn transfer(
        &mut self,
        call_id: &str,
        transfer: Transfer,
        acd_leg_id: String,
        now: DateTime<Utc>,
        instant: Instant,
    ) -> bool {
        let Some(call) = running_call(&mut self.calls, call_id) else {
            return false;
        };
        if call.queue_id == transfer.queue.id {
            return false;
        }
        let earlier = (call.queue_id.clone(), call.queue_name.clone());
        for leg in call.legs.iter_mut().filter(|l| l.in_queue()) {
            leg.queue.get_or_insert_with(|| earlier.clone());
            let leaves = leg.purpose == Purpose::Acd || !transfer.keep_agents;
            if leaves && leg.state.is_live() {
                end_leg(leg, DisconnectType::Transfer, now, instant);
            }
        }
        call.queue_id = transfer.queue.id.clone();
        call.queue_name = transfer.queue.name.clone();
        let mut acd = Leg {
            id: acd_leg_id,
            name: transfer.queue.name.clone(),
            address: String::new(),
            purpose: Purpose::Acd,
            user: None,
            inbound: true,
            state: ParticipantState::Connected,
            held: false,
            muted: false,
            start_time: now,
            alerting_time: None,
            connected_time: Some(now),
            end_time: None,
            hold_time: None,
            disconnect_type: None,
            consult_participant_id: None,
            queue: None,
            changed_at: instant,
        };
        if transfer.agent.is_some() {
            end_leg(&mut acd, DisconnectType::Transfer, now, instant);
        }
        call.legs.push(acd);
        if let Some(agent) = transfer.agent {
            if let Some((id, name)) = &agent.user {
                self.users.insert(id.clone(), name.clone());
            }
            call.legs.push(agent);
        }
        let live = call.note_conference(now);
        if live < 2 {
            end_call(call, DisconnectType::Peer, now, instant);
        }
        self.mark_changed(call_id);
        true
    }

    /// Ends the whole call. Returns false when unknown or already over.
    pub(super) fn end_call(
        &mut self,
        call_id: &str,
        disconnect_type: DisconnectType,
        now: DateTime<Utc>,
        instant: Instant,
    ) -> bool {
        let Some(call) = running_call(&mut self.calls, call_id) else {
            return false;
        };
        end_call(call, disconnect_type, now, instant);
        self.mark_changed(call_id);
        true
    }

    /// Forgets calls that ended more than `retain` ago.
    pub(super) fn forget_ended(&mut self, instant: Instant, retain: Duration) {
        let calls = &mut self.calls;
        let before = self.order.len();
        self.order.retain(|id| {
            let keep = calls
                .get(id)
                .and_then(|c| c.ended_at)
                .is_none_or(|ended| instant.saturating_duration_since(ended) < retain);
            if !keep {
                calls.remove(id);
            }
            keep
        });
        if self.order.len() != before {
            tracing::debug!(
                forgotten = before - self.order.len(),
                "mock: ended calls forgotten"
            );
        }
    }
}

fn end_leg(leg: &mut Leg, disconnect_type: DisconnectType, now: DateTime<Utc>, instant: Instant) {
    leg.state = ParticipantState::Disconnected;
    leg.end_time = Some(now);
    leg.held = false;
    leg.hold_time = None;
    leg.disconnect_type = Some(disconnect_type);
    leg.changed_at = instant;
}

fn end_call(
    call: &mut CallRecord,
    disconnect_type: DisconnectType,
    now: DateTime<Utc>,
    instant: Instant,
) {
    for leg in call.legs.iter_mut().filter(|l| l.state.is_live()) {
        end_leg(leg, disconnect_type.clone(), now, instant);
    }
    call.end_time = Some(now);
    call.ended_at = Some(instant);
}

/// A call that has not ended, to change (a free function, so other fields stay borrowable).
fn running_call<'a>(
    calls: &'a mut HashMap<String, CallRecord>,
    call_id: &str,
) -> Option<&'a mut CallRecord> {
    calls.get_mut(call_id).filter(|c| c.end_time.is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leg(id: &str, purpose: Purpose, state: ParticipantState) -> Leg {
        Leg {
            id: id.into(),
            name: id.into(),
            address: String::new(),
            purpose,
            user: None,
            inbound: true,
            state,
            held: false,
            muted: false,
            start_time: Utc::now(),
            alerting_time: None,
            connected_time: None,
            end_time: None,
            hold_time: None,
            disconnect_type: None,
            consult_participant_id: None,
            queue: None,
            changed_at: Instant::now(),
        }
    }

    fn world_with_call(legs: Vec<Leg>) -> World {
        let mut world = World::new(vec![], vec![]);
        world.insert_call(CallRecord {
            id: "c".into(),
            queue_id: "q".into(),
            queue_name: "Q".into(),
            start_time: Utc::now(),
            end_time: None,
            conference_start: None,
            max_participants: None,
            legs,
            ended_at: None,
        });
        world.take_changed();
        world
    }

    fn disconnect() -> LegChange {
        LegChange {
            state: Some(ParticipantState::Disconnected),
            ..Default::default()
        }
    }

    #[test]
    fn removing_one_of_three_keeps_the_others_connected() {
        let c = ParticipantState::Connected;
        let mut world = world_with_call(vec![
            leg("cust", Purpose::Customer, c.clone()),
            leg("a1", Purpose::Agent, c.clone()),
            leg("a2", Purpose::Agent, c.clone()),
        ]);
        assert!(world.change_leg("c", "a2", &disconnect(), Utc::now(), Instant::now()));
        let call = world.call("c").unwrap();
        assert_eq!(
            call.leg("a2").unwrap().state,
            ParticipantState::Disconnected
        );
        assert!(call.leg("a2").unwrap().end_time.is_some());
        assert_eq!(call.leg("a1").unwrap().state, c);
        assert_eq!(call.leg("cust").unwrap().state, c);
        assert!(call.end_time.is_none());
        assert_eq!(world.take_changed(), vec!["c".to_string()]);
    }

    #[test]
    fn fewer_than_two_live_legs_end_the_call() {
        let c = ParticipantState::Connected;
        let mut world = world_with_call(vec![
            leg("cust", Purpose::Customer, c.clone()),
            leg("a1", Purpose::Agent, c),
        ]);
        assert!(world.change_leg("c", "a1", &disconnect(), Utc::now(), Instant::now()));
        let call = world.call("c").unwrap();
        assert!(call.end_time.is_some());
        assert_eq!(
            call.leg("cust").unwrap().state,
            ParticipantState::Disconnected
        );
        assert_eq!(
            call.leg("cust").unwrap().disconnect_type,
            Some(DisconnectType::Peer)
        );
        // A gone leg cannot change again.
        assert!(!world.change_leg("c", "a1", &disconnect(), Utc::now(), Instant::now()));
    }

    #[test]
    fn scheduled_actions_come_out_in_time_order() {
        let mut world = World::new(vec![], vec![]);
        let t0 = Instant::now();
        let end = |id: &str| ScheduledAction::EndCall {
            call_id: id.into(),
            disconnect_type: DisconnectType::Client,
        };
        world.schedule(t0 + Duration::from_millis(20), end("late"));
        world.schedule(t0 + Duration::from_millis(10), end("early"));
        assert_eq!(world.pop_due(t0), None);
        assert_eq!(
            world.pop_due(t0 + Duration::from_millis(30)),
            Some(end("early"))
        );
        assert_eq!(
            world.pop_due(t0 + Duration::from_millis(30)),
            Some(end("late"))
        );
        assert_eq!(world.pending_actions(), 0);
    }
}
