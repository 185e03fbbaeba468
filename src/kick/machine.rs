//! The kick as a pure state machine: each input (an answer, a live event, a timer, a cancel) with
//! the time since the job began gives effects as data (read, PATCH, report). No I/O and no clock:
//! the driver performs the effects, and tests feed plain values.
//!
//! Order (the README's kick rules; platform facts in `docs/platform.md`): read → safety → PATCH at once, whatever the leg's state (or,
//! with the `settled` strategy, wait for a settled leg first) → on a 409 wait for the leg's next
//! change from the live feed, then the lock's learned length, then PATCH again → on other
//! failures back off / honour Retry-After → verify.

use std::time::Duration;

use super::safety::Risk;
pub(crate) use crate::config::Strategy;
pub(crate) use crate::platform::conversations::PatchPath;

use crate::kick::lock::{LockPlan, LockSample};
use crate::kick::policy::{self, Backoff, LEARNED_TRIES, LOCK_FLOOR, MARGIN};
/// A PATCH answer that says the leg (or its call) has already ended: `/calls/`'s code, and the
/// generic path's two (its documented error list; which one a gone leg gets is not documented).
const LEG_GONE_CODES: &[&str] = &[
    "conversation.error.call.disconnected",
    "conversation.error.participant.no.active.conversations",
    "conversation.error.cannot.disconnect.call",
];
use crate::kick::{Outcome, OutcomeKind, Step};
use crate::platform::error::{ApiError, DISCONNECT_PERMISSIONS, FailureKind};
use crate::wire::{CallConversation, CallMediaParticipant, ParticipantState};

/// Who to remove: a participant id, or a user id (then the user's live leg).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Wanted {
    Participant(String),
    User(String),
}

/// Limits of one job.
#[derive(Clone, Debug, PartialEq)]
pub struct MachineConfig {
    pub(crate) strategy: Strategy,
    /// When to retry after a 409 and a settle, learned from earlier kicks (None: the backoff).
    pub(crate) lock_plan: Option<LockPlan>,
    /// How long to wait for the target's leg to settle.
    pub(crate) wait_timeout: Duration,
    /// PATCHes the lock (409) may refuse before the job gives up; server errors and lost
    /// answers are bounded by the deadline instead.
    pub(crate) max_attempts: u32,
    /// The whole job gives up after this.
    pub(crate) deadline: Duration,
    /// A 409 without live events: back off, then re-read.
    pub(crate) backoff: Backoff,
    /// The retry rule for a platform in trouble (5xx, no answer): see `policy::TROUBLE`.
    pub(crate) trouble: Backoff,
    /// After a 202, how long to wait for the event that shows the leg gone before reading.
    pub(crate) verify_grace: Duration,
    /// While waiting, re-read only when no event about the call came for this long (events can
    /// be lost; this is not polling while events flow).
    pub(crate) quiet_reread: Duration,
    /// Skip the safety rules (customer/external, last other party).
    pub(crate) force: bool,
    /// The driver's: where per-call claims of other kicks are kept (`kick::claims`); None: none.
    pub(crate) claims_dir: Option<std::path::PathBuf>,
}

impl Default for MachineConfig {
    fn default() -> Self {
        MachineConfig {
            strategy: Strategy::Eager,
            lock_plan: None,
            wait_timeout: policy::WAIT_TIMEOUT,
            max_attempts: policy::MAX_ATTEMPTS,
            deadline: policy::DEADLINE,
            backoff: policy::LOCK_BACKOFF,
            trouble: policy::TROUBLE,
            verify_grace: policy::VERIFY_GRACE,
            quiet_reread: policy::QUIET_REREAD,
            force: false,
            claims_dir: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum MachineInput {
    Start,
    ReadOk(CallConversation),
    ReadFailed(ApiError),
    /// A live notification carrying the conversation as it now stands.
    Event(CallConversation),
    /// The PATCH answered 202 (with its correlation id, when the answer had one).
    PatchAccepted(Option<String>),
    PatchFailed(ApiError),
    /// The PATCH did not leave: its token could not be had (the error), or it was too late to
    /// leave (None: its start fell in the deadline's reserve).
    PatchNotSent(Option<ApiError>),
    /// The wake time the machine asked for has come.
    Timer,
    /// Live events may have been lost (the socket reconnected, or the subscription began after
    /// the first read): re-read if waiting on events.
    EventsLost,
    Cancel,
    /// A signal (SIGINT, SIGTERM, SIGHUP) ends the process: the job ends `interrupted`.
    Interrupt(String),
    /// The audit record could not be written: nothing more is sent.
    AuditFailed(String),
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Effect {
    /// GET the call; answer with `ReadOk` or `ReadFailed`.
    Read,
    /// PATCH `{"state":"disconnected"}`; answer with `PatchAccepted` or `PatchFailed`.
    Patch {
        participant_id: String,
        path: PatchPath,
    },
    Report(Step),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ReadFor {
    /// Deciding what to do (first read, after a 409, after a quiet wait).
    Decide,
    /// Checking that an accepted removal took effect.
    Verify,
}

/// What a pause (a backoff, a rate limit) leads to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AfterPause {
    Read,
    Patch,
}

#[derive(Clone, Debug, PartialEq)]
enum Phase {
    Idle,
    Reading(ReadFor),
    Waiting { since: Duration },
    Patching,
    Pausing { until: Duration, then: AfterPause },
    Verifying,
    Done,
}

/// One kick job's state.
#[derive(Clone, Debug)]
pub(crate) struct KickMachine {
    config: MachineConfig,
    conversation_id: String,
    wanted: Wanted,
    phase: Phase,
    /// The participant id, once known (a user target is resolved by the first read).
    target: Option<String>,
    /// The newest view of the call (read or event).
    latest: Option<CallConversation>,
    /// When the latest view came.
    latest_at: Duration,
    /// The state last reported while waiting, so a wait is reported once per state.
    waiting_state: Option<ParticipantState>,
    /// When the current wait for a settled leg began (kept across re-reads, reset by a PATCH).
    wait_since: Option<Duration>,
    path: PatchPath,
    attempts: u32,
    requests: u32,
    /// Failed requests that are retried (409 without events, 5xx, timeouts): the backoff
    /// exponent, reset by a success.
    retries: u32,
    /// PATCHes the lock refused (409), against `max_attempts`.
    refusals: u32,
    /// What a platform in trouble answered (5xx, no answer), for the outcome's words.
    trouble: Trouble,
    /// 429: no request before this.
    not_before: Duration,
    patched: bool,
    /// A PATCH got no answer (timeout, connection lost, 504): it may have worked. A leg then
    /// seen gone is verified as our removal, not reported as already gone.
    maybe_patched: bool,
    /// When the 202 came, and when the next verification read is due if no event shows the result.
    verify_started: Duration,
    verify_next: Duration,
    verify_reads: u32,
    started_reported: bool,
    outcome: Option<Outcome>,
    /// A live feed carries the call's changes (then a 409 waits for them instead of re-reading).
    live: bool,
    /// Events may have been lost while no read or wait could catch it (see `EventsLost`).
    stale: bool,
    /// The first attempt whose answer never came (it may have been applied).
    lost_answer: Option<u32>,
    /// When the PATCH in flight was sent.
    patch_sent_at: Duration,
    /// The transition lock as this job meets it.
    lock: LockTracker,
    /// Participant or user ids other kicks are removing from the same call (`kick::claims`):
    /// they count as leaving in the safety rule, re-checked before each PATCH.
    leaving: Vec<String>,
}

/// The transition lock as one job meets it: the leg's last change (the lock runs from there),
/// the refusals since, the retry scheduled, and what the job learned.
#[derive(Clone, Debug, Default)]
struct LockTracker {
    /// A 409 was met: retries wait for the leg to settle and the lock to end.
    conflicted: bool,
    /// The target's state and hold as last seen, and when that last changed;
    /// `change_seen`: the change itself was seen, not just its result.
    leg_mark: Option<(ParticipantState, bool)>,
    changed_at: Duration,
    change_seen: bool,
    /// PATCHes refused since the leg's last change, and the latest one's offset from it.
    lock_refusals: u32,
    refused_after: Option<Duration>,
    /// The scheduled retry after a 409.
    retry_at: Option<Duration>,
    /// What this job learned about the lock (a 409, then a 202 after a seen settle).
    sample: Option<LockSample>,
}

impl KickMachine {
    pub(crate) fn new(
        conversation_id: impl Into<String>,
        wanted: Wanted,
        config: MachineConfig,
    ) -> Self {
        let target = match &wanted {
            Wanted::Participant(id) => Some(id.clone()),
            Wanted::User(_) => None,
        };
        KickMachine {
            config,
            conversation_id: conversation_id.into(),
            wanted,
            phase: Phase::Idle,
            target,
            latest: None,
            latest_at: Duration::ZERO,
            waiting_state: None,
            wait_since: None,
            path: PatchPath::Calls,
            attempts: 0,
            requests: 0,
            retries: 0,
            refusals: 0,
            trouble: Trouble::default(),
            not_before: Duration::ZERO,
            patched: false,
            maybe_patched: false,
            verify_started: Duration::ZERO,
            verify_next: Duration::ZERO,
            verify_reads: 0,
            started_reported: false,
            outcome: None,
            live: false,
            stale: false,
            lost_answer: None,
            patch_sent_at: Duration::ZERO,
            lock: LockTracker::default(),
            leaving: Vec::new(),
        }
    }

    /// The legs other kicks on the same call are removing (the driver says so before each input).
    pub(crate) fn set_leaving(&mut self, leaving: Vec<String>) {
        self.leaving = leaving;
    }

    /// Whether a live feed now carries the call's changes (the driver says so).
    pub(crate) fn set_live(&mut self, live: bool) {
        self.live = live;
    }

    /// What this job learned about the transition lock, once a 202 followed a 409.
    pub(crate) fn lock_sample(&self) -> Option<LockSample> {
        self.lock.sample
    }

    /// The end of the deadline kept to learn a PATCH's fate: no new PATCH starts in it.
    fn reserve(&self) -> Duration {
        (self.config.deadline / 4).min(policy::MAX_RESERVE)
    }

    /// The latest moment (since the job began) a PATCH may leave: checked by the driver as it
    /// leaves, after its token, so a slow token cannot push a PATCH into the reserve.
    pub(crate) fn patch_leave_by(&self) -> Duration {
        self.config.deadline.saturating_sub(self.reserve())
    }

    /// The participant being removed, once known.
    pub(crate) fn target(&self) -> Option<&str> {
        self.target.as_deref()
    }

    /// The target's leg as last seen (read or event).
    pub(crate) fn target_leg(&self) -> Option<&CallMediaParticipant> {
        self.latest_target()
    }

    /// The final outcome, once the job is over.
    pub(crate) fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_ref()
    }

    #[cfg(test)]
    pub(crate) fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// The client saw a 429 (maybe for another job on the same token): no request before `at`
    /// (time since the job began).
    pub(crate) fn hold_until(&mut self, at: Duration) {
        self.not_before = self.not_before.max(at);
    }

    /// PATCHes decided so far (the number of the latest attempt).
    /// Whether the platform accepted a removal (a 202): from then on it may have happened.
    pub(crate) fn accepted(&self) -> bool {
        self.patched
    }

    pub(crate) fn attempts(&self) -> u32 {
        self.attempts
    }

    /// When the driver must send `MachineInput::Timer` (None: nothing to wait for but answers).
    pub(crate) fn wake_at(&self) -> Option<Duration> {
        let phase_wake = match &self.phase {
            Phase::Idle | Phase::Done => return None,
            // Every request is bounded by the deadline; a PATCH's answer is awaited only until
            // half the reserve is left, so that a read can still tell what became of it.
            Phase::Reading(_) => self.config.deadline,
            Phase::Patching => self.config.deadline.saturating_sub(self.reserve() / 2),
            Phase::Waiting { since } => {
                (*since + self.config.wait_timeout).min(self.latest_at + self.config.quiet_reread)
            }
            Phase::Pausing { until, .. } => *until,
            Phase::Verifying => self
                .verify_next
                .max(self.not_before)
                .min(self.verify_started + self.config.wait_timeout),
        };
        Some(phase_wake.min(self.config.deadline))
    }

    /// Feeds one input seen at `now` (time since the job began); `jitter` in [0, 1) picks the
    /// backoff delay (full jitter). Returns the effects to perform, in order.
    pub(crate) fn handle(
        &mut self,
        input: MachineInput,
        now: Duration,
        jitter: f64,
    ) -> Vec<Effect> {
        let mut out = Vec::new();
        if self.phase == Phase::Done {
            return out;
        }
        if input == MachineInput::Cancel {
            // A PATCH already sent cannot be called back: the record must say so.
            let message = if self.phase == Phase::Patching {
                format!(
                    "cancelled while removal attempt {} was in flight; it may have taken effect",
                    self.attempts
                )
            } else {
                "cancelled".to_string()
            };
            self.finish(&mut out, now, OutcomeKind::Cancelled, &message, None);
            return out;
        }
        if let MachineInput::Interrupt(signal) | MachineInput::AuditFailed(signal) = &input {
            let kind = if matches!(input, MachineInput::Interrupt(_)) {
                OutcomeKind::Interrupted
            } else {
                OutcomeKind::Failed
            };
            let mut message = signal.clone();
            if self.phase == Phase::Patching || self.maybe_patched || self.patched {
                message.push_str(&format!(
                    "; removal attempt {} was sent and may have taken effect",
                    self.attempts
                ));
            } else {
                message.push_str("; no removal was sent");
            }
            self.finish(&mut out, now, kind, &message, None);
            return out;
        }
        if now >= self.config.deadline {
            self.deadline_passed(&mut out, now);
            return out;
        }
        match input {
            MachineInput::Start => {
                if self.phase == Phase::Idle {
                    self.read(&mut out, now, ReadFor::Decide);
                }
            }
            MachineInput::ReadOk(conversation) => {
                let Phase::Reading(purpose) = self.phase else {
                    return out;
                };
                self.trouble.tries = 0;
                self.absorb(conversation, now);
                match purpose {
                    ReadFor::Decide => self.decide(&mut out, now, jitter),
                    ReadFor::Verify => self.verify(&mut out, now),
                }
            }
            MachineInput::ReadFailed(error) => {
                let Phase::Reading(purpose) = self.phase else {
                    return out;
                };
                self.read_failed(&mut out, now, jitter, purpose, error);
            }
            MachineInput::Event(conversation) => {
                if conversation.id != self.conversation_id {
                    return out;
                }
                self.absorb(conversation, now);
                match self.phase {
                    Phase::Waiting { .. } => self.decide(&mut out, now, jitter),
                    Phase::Verifying => self.verify(&mut out, now),
                    // A PATCH whose answer was lost: the event that shows it done is enough.
                    Phase::Pausing { .. }
                        if self.maybe_patched
                            && self.latest_target().is_some_and(|p| p.state.is_gone()) =>
                    {
                        self.verify(&mut out, now)
                    }
                    // A request is in flight or a pause runs: the view is kept for later.
                    _ => {}
                }
            }
            MachineInput::PatchAccepted(correlation_id) => {
                if self.phase != Phase::Patching {
                    return out;
                }
                self.patched = true;
                self.retries = 0;
                self.trouble.tries = 0;
                self.lock.accepted(self.patch_sent_at);
                out.push(Effect::Report(Step::Answer {
                    number: self.attempts,
                    status: 202,
                    code: None,
                    message: None,
                    correlation_id,
                }));
                out.push(Effect::Report(Step::Verifying));
                self.phase = Phase::Verifying;
                self.verify_started = now;
                self.verify_next = now + self.verify_pause(0);
                // An event that came while the PATCH was in flight may already show it done.
                if self.latest_target().is_some_and(|p| p.state.is_gone()) {
                    self.verify(&mut out, now);
                }
            }
            MachineInput::PatchFailed(error) => {
                if self.phase != Phase::Patching {
                    return out;
                }
                self.patch_failed(&mut out, now, jitter, error);
            }
            MachineInput::PatchNotSent(error) => {
                if self.phase != Phase::Patching {
                    return out;
                }
                // Nothing left: the attempt is taken back, so nothing "may have happened".
                self.attempts -= 1;
                self.requests -= 1;
                self.phase = Phase::Idle;
                match error {
                    None => self.deadline_passed(&mut out, now),
                    Some(error) => self.troubled(
                        &mut out,
                        now,
                        jitter,
                        &error,
                        AfterPause::Patch,
                        format!("not sent: {}", short(&error)),
                    ),
                }
            }
            MachineInput::Timer => self.timer(&mut out, now, jitter),
            MachineInput::EventsLost => match self.phase {
                Phase::Waiting { .. } => self.read(&mut out, now, ReadFor::Decide),
                Phase::Verifying => self.read(&mut out, now, ReadFor::Verify),
                // A PATCH in flight (the channel opened beside it): if it meets the lock, the
                // view may have missed a change, so the leg is read before waiting on events.
                _ => self.stale = true,
            },
            MachineInput::Cancel | MachineInput::Interrupt(_) | MachineInput::AuditFailed(_) => {}
        }
        out
    }

    fn timer(&mut self, out: &mut Vec<Effect>, now: Duration, jitter: f64) {
        let Some(due) = self.wake_at() else { return };
        if now < due {
            return;
        }
        match self.phase.clone() {
            Phase::Waiting { since } => {
                if now >= since + self.config.wait_timeout {
                    let state = self
                        .latest_target()
                        .map(|p| p.state.to_string())
                        .unwrap_or_else(|| "unknown".into());
                    let message = format!(
                        "the leg is still {state} after {} s; not removed",
                        self.config.wait_timeout.as_secs_f64()
                    );
                    self.finish(out, now, OutcomeKind::TimedOut, &message, None);
                } else {
                    // No event about the call for a while: read once to be sure none was lost.
                    self.read(out, now, ReadFor::Decide);
                }
            }
            Phase::Pausing { then, .. } => match then {
                AfterPause::Read => self.read(out, now, ReadFor::Decide),
                AfterPause::Patch => self.decide(out, now, jitter),
            },
            Phase::Verifying => {
                if now >= self.verify_started + self.config.wait_timeout {
                    let message = format!(
                        "the removal may have happened: the platform accepted it but the leg was not seen disconnected within {} s",
                        self.config.wait_timeout.as_secs_f64()
                    );
                    self.finish(out, now, OutcomeKind::Unknown, &message, None);
                } else {
                    self.verify_reads += 1;
                    self.verify_next = now + self.verify_pause(self.verify_reads);
                    self.read(out, now, ReadFor::Verify);
                }
            }
            Phase::Patching => {
                // No answer while the deadline runs out: the PATCH may have worked; a read says.
                self.maybe_patched = true;
                out.push(Effect::Report(Step::Verifying));
                self.verify_started = now;
                self.verify_next = self.config.deadline;
                self.read(out, now, ReadFor::Verify);
            }
            Phase::Idle | Phase::Reading(_) | Phase::Done => {}
        }
    }

    /// The deadline has come: nothing more is sent. A removal that was sent but not seen done is
    /// reported as what it is: it may have happened.
    fn deadline_passed(&mut self, out: &mut Vec<Effect>, now: Duration) {
        if self.patched || self.maybe_patched || self.phase == Phase::Patching {
            let seen = self
                .latest_target()
                .map(|p| format!("the last view of the call showed the leg {}", p.state))
                .unwrap_or_else(|| "the call could not be read".into());
            let sent = if self.patched {
                format!("removal attempt {} was accepted (202)", self.attempts)
            } else {
                format!("removal attempt {} got no answer", self.attempts)
            };
            let mut message = format!(
                "the removal may have happened: {sent}, but it was not seen done within the {} s deadline; {seen}",
                self.config.deadline.as_secs_f64()
            );
            if let Some(trouble) = self.trouble.words() {
                message.push_str(&format!("; the platform answered {trouble}"));
            }
            self.finish(out, now, OutcomeKind::Unknown, &message, None);
        } else {
            let answered = self
                .trouble
                .words()
                .map(|t| format!(": the platform answered {t}"))
                .unwrap_or_default();
            let message = format!(
                "gave up after {} s (the job's deadline){answered}; no removal was sent that could have taken effect",
                self.config.deadline.as_secs_f64()
            );
            let status = self.trouble.last_status;
            self.finish(out, now, OutcomeKind::TimedOut, &message, status);
        }
    }

    /// Sends a read now, or pauses until a Retry-After ends.
    fn read(&mut self, out: &mut Vec<Effect>, now: Duration, purpose: ReadFor) {
        if now < self.not_before {
            if purpose == ReadFor::Verify {
                // Verification waits inside its own phase; its timer comes back after the pause.
                self.phase = Phase::Verifying;
                return;
            }
            self.phase = Phase::Pausing {
                until: self.not_before,
                then: AfterPause::Read,
            };
            return;
        }
        self.requests += 1;
        self.stale = false;
        self.phase = Phase::Reading(purpose);
        out.push(Effect::Read);
    }

    /// Takes a view of the call (read or event). A read and an event can arrive out of order, so
    /// a leg seen gone stays gone: a participant never comes back once disconnected (the
    /// platform makes a new one), and an older view must not bring back a party whose presence
    /// the safety rule counts on.
    fn absorb(&mut self, mut view: CallConversation, now: Duration) {
        if let Some(previous) = &self.latest {
            for leg in &mut view.participants {
                if let Some(seen) = previous.participant(&leg.id)
                    && seen.state.is_gone()
                    && !leg.state.is_gone()
                {
                    leg.state = seen.state.clone();
                }
            }
        }
        self.latest = Some(view);
        self.latest_at = now;
        self.mark_leg(now);
    }

    /// Notes when the target's state or hold changed: the platform's lock runs from there.
    fn mark_leg(&mut self, now: Duration) {
        let Some(target) = self.latest_target() else {
            return;
        };
        let mark = (target.state.clone(), target.held.unwrap_or(false));
        self.lock.mark(mark, now);
    }

    fn latest_target(&self) -> Option<&CallMediaParticipant> {
        let id = self.target.as_deref()?;
        self.latest.as_ref()?.participant(id)
    }

    /// Resolves a user target to the user's live leg (the same user may appear twice: an old
    /// terminated leg and a new one). Without a live leg, the newest leg (then: already gone).
    /// With two live legs there is no safe guess: the error names them.
    fn resolve(&mut self) -> Result<(), String> {
        if self.target.is_some() {
            return Ok(());
        }
        let (Wanted::User(user_id), Some(conversation)) = (&self.wanted, &self.latest) else {
            return Ok(());
        };
        let legs: Vec<&CallMediaParticipant> = conversation
            .participants
            .iter()
            .filter(|p| p.user_id() == Some(user_id.as_str()))
            .collect();
        let live: Vec<String> = legs
            .iter()
            .filter(|p| p.state.is_live())
            .map(|p| format!("{} {}", p.id, p.state))
            .collect();
        if live.len() > 1 {
            return Err(format!(
                "user {user_id} has {} live legs in conversation {} ({}); name the participant to remove",
                live.len(),
                self.conversation_id,
                live.join(", ")
            ));
        }
        let chosen = legs
            .iter()
            .rev()
            .find(|p| p.state.is_live())
            .or_else(|| legs.last());
        self.target = chosen.map(|p| p.id.clone());
        Ok(())
    }

    /// With a fresh view of the call: done, refused, wait, or PATCH.
    fn decide(&mut self, out: &mut Vec<Effect>, now: Duration, jitter: f64) {
        if let Err(message) = self.resolve() {
            self.finish(out, now, OutcomeKind::Refused, &message, None);
            return;
        }
        let Some(conversation) = self.latest.clone() else {
            self.read(out, now, ReadFor::Decide);
            return;
        };
        let Some(target) = self.latest_target().cloned() else {
            let message = match &self.wanted {
                Wanted::Participant(id) => format!(
                    "participant {id} is not in conversation {}",
                    self.conversation_id
                ),
                Wanted::User(id) => format!(
                    "user {id} has no leg in conversation {}",
                    self.conversation_id
                ),
            };
            self.finish(out, now, OutcomeKind::Failed, &message, Some(404));
            return;
        };
        if !self.started_reported {
            self.started_reported = true;
            out.push(Effect::Report(Step::Started {
                name: target.display_name(),
                purpose: target.purpose.clone(),
                joined: false,
            }));
        }
        if target.state.is_gone() {
            if self.patched || self.maybe_patched {
                self.verify(out, now);
            } else {
                let message = format!("{} had already left the call", describe(&target));
                self.finish(out, now, OutcomeKind::AlreadyGone, &message, None);
            }
            return;
        }
        if !self.config.force
            && let Some(reason) = safety_refusal(&conversation, &target, &self.leaving)
        {
            self.finish(out, now, OutcomeKind::Refused, &reason, None);
            return;
        }
        self.mark_leg(now);
        let settled = is_settled(&target.state);
        if !settled && (self.config.strategy == Strategy::Settled || self.lock.conflicted) {
            let since = *self.wait_since.get_or_insert(now);
            if self.waiting_state.as_ref() != Some(&target.state) {
                self.waiting_state = Some(target.state.clone());
                out.push(Effect::Report(Step::Waiting {
                    state: target.state.clone(),
                }));
            }
            self.phase = Phase::Waiting { since };
            if now >= since + self.config.wait_timeout {
                self.timer(out, now, jitter);
            }
            return;
        }
        self.waiting_state = None;
        if self.lock.conflicted {
            let at = match self.lock.retry_at {
                Some(at) => at,
                None => {
                    let (at, learned) =
                        self.lock
                            .retry(self.config.lock_plan, self.patch_sent_at, now);
                    self.lock.retry_at = Some(at);
                    out.push(Effect::Report(Step::Locked {
                        retry_in_ms: at.saturating_sub(now).as_millis() as u64,
                        learned,
                    }));
                    at
                }
            };
            if now < at {
                self.phase = Phase::Pausing {
                    until: at.max(self.not_before),
                    then: AfterPause::Patch,
                };
                return;
            }
        }
        self.patch(out, now);
    }

    /// A 409: the platform's transition lock. With live events, wait for the leg's next change
    /// and the lock's end (no GET); without, back off and re-read.
    fn locked(&mut self, out: &mut Vec<Effect>, now: Duration, jitter: f64) {
        self.refusals += 1;
        self.trouble.tries = 0;
        let settled = self.latest_target().is_some_and(|p| is_settled(&p.state));
        self.lock.refused(settled, self.patch_sent_at);
        if self.live && std::mem::take(&mut self.stale) {
            self.read(out, now, ReadFor::Decide);
            return;
        }
        if !self.live {
            self.backoff(
                out,
                now,
                jitter,
                AfterPause::Read,
                "409 locked by the platform: re-reading the leg (no live events)",
                None,
            );
            // The backoff was the wait: the read's leg, unchanged and settled, is PATCHed at once.
            self.lock.retry_at = Some(Duration::ZERO);
            return;
        }
        self.decide(out, now, jitter);
    }

    fn patch(&mut self, out: &mut Vec<Effect>, now: Duration) {
        if now < self.not_before {
            self.phase = Phase::Pausing {
                until: self.not_before,
                then: AfterPause::Patch,
            };
            return;
        }
        if self.refusals >= self.config.max_attempts {
            let message = format!(
                "gave up after {} attempts: the platform's transition lock (409) refused {} of them",
                self.attempts, self.refusals
            );
            let kind = if self.maybe_patched {
                OutcomeKind::Unknown
            } else {
                OutcomeKind::TimedOut
            };
            self.finish(out, now, kind, &message, None);
            return;
        }
        if now + self.reserve() >= self.config.deadline {
            // Too late to send one: its answer and its check would not fit in the deadline.
            self.deadline_passed(out, now);
            return;
        }
        let Some(participant_id) = self.target.clone() else {
            return;
        };
        // Re-checked right before each PATCH: another kick on the call may have begun since.
        if !self.config.force
            && let (Some(conversation), Some(target)) = (&self.latest, self.latest_target())
            && let Some(reason) = safety_refusal(conversation, target, &self.leaving)
        {
            self.finish(out, now, OutcomeKind::Refused, &reason, None);
            return;
        }
        self.attempts += 1;
        self.requests += 1;
        self.wait_since = None;
        self.lock.retry_at = None;
        self.patch_sent_at = now;
        self.phase = Phase::Patching;
        out.push(Effect::Report(Step::Attempt {
            number: self.attempts,
        }));
        out.push(Effect::Patch {
            participant_id,
            path: self.path,
        });
    }

    /// Waits a jittered exponential backoff, or the server's `Retry-After` (5xx) when longer;
    /// never past the job's deadline.
    fn backoff(
        &mut self,
        out: &mut Vec<Effect>,
        now: Duration,
        jitter: f64,
        then: AfterPause,
        reason: &str,
        server_retry_after: Option<Duration>,
    ) {
        let delay = self.config.backoff.delay(self.retries, jitter);
        self.retries += 1;
        let delay = delay
            .max(server_retry_after.unwrap_or_default())
            .min(self.config.deadline.saturating_sub(now));
        out.push(Effect::Report(Step::Backoff {
            delay_ms: delay.as_millis() as u64,
            reason: reason.to_string(),
            trouble: None,
        }));
        self.phase = Phase::Pausing {
            until: (now + delay).max(self.not_before),
            then,
        };
    }

    /// A platform in trouble (5xx other than 501, no answer): noted for the outcome, then a
    /// retry on the trouble schedule (full jitter, `Retry-After` as a floor), until the deadline.
    fn troubled(
        &mut self,
        out: &mut Vec<Effect>,
        now: Duration,
        jitter: f64,
        error: &ApiError,
        then: AfterPause,
        reason: String,
    ) {
        let delay = self.trouble_delay(now, jitter, error, self.config.trouble);
        out.push(Effect::Report(Step::Backoff {
            delay_ms: delay.as_millis() as u64,
            reason,
            trouble: Some(error.status.unwrap_or(0)),
        }));
        self.phase = Phase::Pausing {
            until: (now + delay).max(self.not_before),
            then,
        };
    }

    /// Notes a failure of a platform in trouble and gives the wait before the next try (never
    /// past the deadline).
    fn trouble_delay(
        &mut self,
        now: Duration,
        jitter: f64,
        error: &ApiError,
        schedule: Backoff,
    ) -> Duration {
        self.trouble.note(error, now);
        let delay = schedule.delay(self.trouble.tries, jitter);
        self.trouble.tries += 1;
        delay
            .max(error.server_retry_after().unwrap_or_default())
            .min(self.config.deadline.saturating_sub(now))
    }

    /// The wait before verification read number `reads` (0: the first after the 202). With
    /// live events, a grace for the event and then a slow safety net; without, soon and often.
    fn verify_pause(&self, reads: u32) -> Duration {
        // A channel that opened while the PATCH was in flight may have missed what came before:
        // read as without one.
        if self.live && !self.stale {
            self.config
                .verify_grace
                .saturating_mul(1 << reads.min(4))
                .min(policy::VERIFY_CAP.max(self.config.verify_grace))
        } else {
            policy::VERIFY_UNHEARD.ceiling(reads)
        }
    }

    fn rate_limited(
        &mut self,
        out: &mut Vec<Effect>,
        now: Duration,
        retry_after: Duration,
        then: AfterPause,
    ) {
        self.not_before = self.not_before.max(now + retry_after);
        out.push(Effect::Report(Step::RateLimited {
            retry_after_ms: retry_after.as_millis() as u64,
        }));
        self.phase = Phase::Pausing {
            until: self.not_before,
            then,
        };
    }

    fn read_failed(
        &mut self,
        out: &mut Vec<Effect>,
        now: Duration,
        jitter: f64,
        purpose: ReadFor,
        error: ApiError,
    ) {
        if purpose == ReadFor::Verify {
            // Verification keeps its own clock; a failed read is retried at once on the short
            // schedule (not at the next slot: a run of failures must not cost the check).
            if let FailureKind::RateLimited { retry_after } = error.kind {
                self.not_before = self.not_before.max(now + retry_after);
                out.push(Effect::Report(Step::RateLimited {
                    retry_after_ms: retry_after.as_millis() as u64,
                }));
            }
            if error.is_retryable() {
                if error.kind == FailureKind::Unavailable {
                    let delay = self.trouble_delay(now, jitter, &error, policy::VERIFY_RETRY);
                    out.push(Effect::Report(Step::Backoff {
                        delay_ms: delay.as_millis() as u64,
                        reason: format!("verifying: read failed: {}", short(&error)),
                        trouble: Some(error.status.unwrap_or(0)),
                    }));
                    self.verify_next = now + delay;
                }
                self.phase = Phase::Verifying;
                return;
            }
        }
        match &error.kind {
            FailureKind::RateLimited { retry_after } => {
                self.rate_limited(out, now, *retry_after, AfterPause::Read)
            }
            FailureKind::Unavailable => {
                let reason = format!("read failed: {}", short(&error));
                self.troubled(out, now, jitter, &error, AfterPause::Read, reason);
            }
            FailureKind::Conflict => {
                let reason = format!("read failed: {}", short(&error));
                self.backoff(out, now, jitter, AfterPause::Read, &reason, None);
            }
            FailureKind::NotFound => {
                let message = format!(
                    "conversation {} not found (it may have ended): {}",
                    self.conversation_id, error.message
                );
                self.finish(out, now, OutcomeKind::Failed, &message, error.status);
            }
            FailureKind::Forbidden => {
                let message = format!("not permitted to read the call: {error}");
                self.finish(out, now, OutcomeKind::Failed, &message, Some(403));
            }
            FailureKind::Unauthorized | FailureKind::Rejected | FailureKind::Malformed => {
                let message = error.to_string();
                self.finish(out, now, OutcomeKind::Failed, &message, error.status);
            }
        }
    }

    fn patch_failed(&mut self, out: &mut Vec<Effect>, now: Duration, jitter: f64, error: ApiError) {
        out.push(Effect::Report(Step::Answer {
            number: self.attempts,
            status: error.status.unwrap_or(0),
            code: error.code.clone(),
            message: Some(error.message.clone()),
            correlation_id: error.correlation_id.as_ref().map(|id| id.0.clone()),
        }));
        if self.path == PatchPath::Calls
            && (error.has_code("not.a.user") || error.has_code("conversation.error.user.not.party"))
        {
            // Client credentials have no user context, and a signed-in supervisor is not a
            // party of the call: the media-agnostic endpoint takes the same body.
            self.path = PatchPath::Generic;
            self.decide(out, now, jitter);
            return;
        }
        if LEG_GONE_CODES.iter().any(|code| error.has_code(code)) {
            if self.maybe_patched && !self.patched {
                // Perhaps our own earlier PATCH: check the others are still on the call.
                self.patched = true;
                out.push(Effect::Report(Step::Verifying));
                self.verify_started = now;
                self.verify_next = now + self.config.verify_grace;
                self.read(out, now, ReadFor::Verify);
                return;
            }
            let kind = if self.patched {
                OutcomeKind::Removed
            } else {
                OutcomeKind::AlreadyGone
            };
            self.finish(
                out,
                now,
                kind,
                "the platform says the leg or its call has already ended",
                None,
            );
            return;
        }
        match &error.kind {
            FailureKind::Conflict => self.locked(out, now, jitter),
            FailureKind::RateLimited { retry_after } => {
                self.rate_limited(out, now, *retry_after, AfterPause::Patch)
            }
            FailureKind::Unavailable => {
                // No answer (or a gateway's timeout): the PATCH may have been applied. A read
                // says before another PATCH goes (one PATCH fewer when it was).
                let unanswered = error.status.is_none() || error.status == Some(504);
                if unanswered {
                    self.maybe_patched = true;
                    self.lost_answer.get_or_insert(self.attempts);
                }
                let then = if unanswered {
                    AfterPause::Read
                } else {
                    AfterPause::Patch
                };
                self.troubled(out, now, jitter, &error, then, short(&error));
                if unanswered && let Phase::Pausing { until, .. } = &mut self.phase {
                    // Time for the platform to apply it: a read sooner would see the leg still
                    // there and send the PATCH again.
                    *until = (*until).max(now + policy::LOST_ANSWER_CHECK);
                }
            }
            FailureKind::Forbidden => {
                let message = format!(
                    "not permitted: {} (needs {DISCONNECT_PERMISSIONS})",
                    error.message
                );
                self.finish(out, now, OutcomeKind::Failed, &message, Some(403));
            }
            FailureKind::NotFound
            | FailureKind::Unauthorized
            | FailureKind::Rejected
            | FailureKind::Malformed => {
                let message = error.to_string();
                self.finish(out, now, OutcomeKind::Failed, &message, error.status);
            }
        }
    }

    /// After a 202: done when the target is seen gone and the others are still on the call.
    fn verify(&mut self, out: &mut Vec<Effect>, now: Duration) {
        let Some(conversation) = self.latest.clone() else {
            self.phase = Phase::Verifying;
            return;
        };
        let target_gone = self.latest_target().is_none_or(|p| p.state.is_gone());
        if !target_gone {
            self.phase = Phase::Verifying;
            return;
        }
        let others = conversation
            .live_participants()
            .filter(|p| Some(p.id.as_str()) != self.target.as_deref())
            .filter(|p| super::safety::keeps_the_call(p))
            .count();
        if others > 0 {
            let mut message = match self.latest_target() {
                Some(target) => format!(
                    "seen disconnected; {}",
                    super::safety::assess(&conversation, target, &[]).who_stays()
                ),
                None => format!("seen disconnected; {others} other parties still connected"),
            };
            if let Some(attempt) = self.lost_answer {
                // The audit keeps that the answer was lost and what the check found.
                message = format!("attempt {attempt} got no answer; then {message}");
            }
            self.finish(out, now, OutcomeKind::Removed, &message, None);
        } else if self.config.force {
            self.finish(
                out,
                now,
                OutcomeKind::Removed,
                "seen disconnected; the call has ended (forced)",
                None,
            );
        } else {
            self.finish(
                out,
                now,
                OutcomeKind::Failed,
                "the target left, but no other party is still connected",
                None,
            );
        }
    }

    fn finish(
        &mut self,
        out: &mut Vec<Effect>,
        now: Duration,
        kind: OutcomeKind,
        message: &str,
        status: Option<u16>,
    ) {
        let outcome = Outcome {
            outcome: kind,
            attempts: self.attempts,
            requests: self.requests,
            elapsed_ms: now.as_millis() as u64,
            message: message.to_string(),
            status,
        };
        self.phase = Phase::Done;
        self.outcome = Some(outcome.clone());
        out.push(Effect::Report(Step::Finished(outcome)));
    }
}

impl LockTracker {
    /// The target's (state, held) as now seen: a change restarts the lock's clock.
    fn mark(&mut self, mark: (ParticipantState, bool), now: Duration) {
        if self.leg_mark.as_ref() == Some(&mark) {
            return;
        }
        self.change_seen = self.leg_mark.is_some();
        self.leg_mark = Some(mark);
        self.changed_at = now;
        self.lock_refusals = 0;
        self.refused_after = None;
        self.retry_at = None;
    }

    /// A 409 to the PATCH sent at `patch_sent_at`; counted against the lock when the leg was
    /// settled and the PATCH came after its change.
    fn refused(&mut self, settled: bool, patch_sent_at: Duration) {
        self.conflicted = true;
        self.retry_at = None;
        if settled && patch_sent_at >= self.changed_at {
            self.lock_refusals += 1;
            let after = patch_sent_at - self.changed_at;
            self.refused_after = Some(self.refused_after.map_or(after, |r| r.max(after)));
        }
    }

    /// A 202 to the PATCH sent at `patch_sent_at`: a sample, if the lock was met after a seen
    /// change.
    fn accepted(&mut self, patch_sent_at: Duration) {
        if self.conflicted && self.change_seen && patch_sent_at >= self.changed_at {
            self.sample = Some(LockSample {
                refused_ms: self.refused_after.map(|d| d.as_millis() as u64),
                accepted_ms: (patch_sent_at - self.changed_at).as_millis() as u64,
            });
        }
    }

    /// When to retry a PATCH the lock refused, the leg now settled: the learned plan (its first
    /// time after the leg's change, then its fallback), then the schedule without history, all
    /// anchored on the settle. Returns the time and whether it was learned.
    fn retry(
        &self,
        plan: Option<LockPlan>,
        patch_sent_at: Duration,
        now: Duration,
    ) -> (Duration, bool) {
        if let Some(plan) = plan {
            // Refusals before the learned time (a PATCH at the settle, the `settled` strategy's)
            // say nothing the plan does not know: its first time still stands.
            let before_first = self.refused_after.is_none_or(|lo| lo < plan.first);
            let learned = match (self.lock_refusals, self.refused_after) {
                _ if before_first => Some(self.changed_at + plan.first),
                // Refused: the lock ends between the refusal and the fallback, known to pass;
                // halve that gap while it is wide (each try narrows what the next kick learns).
                (1..=LEARNED_TRIES, Some(lo)) => {
                    let hi = plan.fallback;
                    let next = if hi > lo + 2 * MARGIN {
                        lo + (hi - lo) / 2
                    } else {
                        hi
                    };
                    Some(self.changed_at + next)
                }
                _ => None,
            };
            if let Some(at) = learned.filter(|at| *at > now) {
                return (at, true);
            }
            if before_first {
                // The learned time has already passed (the leg settled a while ago): at once.
                return (now, true);
            }
        }
        (self.scheduled(patch_sent_at, now), false)
    }

    /// The schedule without history: the first of the settle's geometric points (see
    /// `policy::lock_offset`) at least the floor after the last PATCH, and not before now.
    fn scheduled(&self, patch_sent_at: Duration, now: Duration) -> Duration {
        let earliest = (patch_sent_at + LOCK_FLOOR).max(self.changed_at);
        let mut k = 0;
        let mut at = self.changed_at + policy::lock_offset(k);
        while at < earliest && k < 64 {
            k += 1;
            at = self.changed_at + policy::lock_offset(k);
        }
        at.max(earliest).max(now)
    }
}

/// What a platform in trouble answered during one job: each kind of answer, how often, and
/// from when to when.
#[derive(Clone, Debug, Default, PartialEq)]
struct Trouble {
    /// Each kind in the order first seen: "503 Service Unavailable", "no answer (timed out)".
    counts: Vec<(String, u32)>,
    first_at: Option<Duration>,
    last_at: Duration,
    last_status: Option<u16>,
    /// Failures in a row since the platform last answered: the backoff's exponent.
    tries: u32,
}

impl Trouble {
    fn note(&mut self, error: &ApiError, now: Duration) {
        let kind = match error.status {
            Some(status) => match reqwest::StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
            {
                Some(reason) => format!("{status} {reason}"),
                None => status.to_string(),
            },
            // "timed out: …", "could not connect: …", "connection failed: …"
            None => format!(
                "no answer ({})",
                error
                    .message
                    .split(':')
                    .next()
                    .unwrap_or("connection failed")
            ),
        };
        match self.counts.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, n)) => *n += 1,
            None => self.counts.push((kind, 1)),
        }
        self.first_at.get_or_insert(now);
        self.last_at = now;
        if error.status.is_some() {
            self.last_status = error.status;
        }
    }

    /// "8 × 503 Service Unavailable, 1 × no answer (timed out) in 9.1 s".
    fn words(&self) -> Option<String> {
        let first = self.first_at?;
        let kinds: Vec<String> = self
            .counts
            .iter()
            .map(|(kind, n)| format!("{n} × {kind}"))
            .collect();
        Some(format!(
            "{} in {:.1} s",
            kinds.join(", "),
            self.last_at.saturating_sub(first).as_secs_f64()
        ))
    }
}

/// A leg the platform lets go of without a 409: connected (held or not).
pub(crate) fn is_settled(state: &ParticipantState) -> bool {
    matches!(state, ParticipantState::Connected)
}

/// Why the kick must not go ahead without `--force`, if it must not (the rule: `kick::safety`),
/// with `leaving` (other kicks on the call) counted as gone.
pub(crate) fn safety_refusal(
    conversation: &CallConversation,
    target: &CallMediaParticipant,
    leaving: &[String],
) -> Option<String> {
    let leaving: Vec<&str> = leaving.iter().map(String::as_str).collect();
    let assessment = super::safety::assess(conversation, target, &leaving);
    match assessment.risk? {
        Risk::Customer => Some(format!(
            "{} is the {} party; removing them is refused without --force",
            describe(target),
            target.purpose()
        )),
        Risk::LastOtherParty => Some(format!(
            "removing {} would leave {} connected part{} ({}{}), ending the call for them; refused without --force",
            describe(target),
            assessment.connected_remaining,
            if assessment.connected_remaining == 1 {
                "y"
            } else {
                "ies"
            },
            assessment.who_stays(),
            if leaving.is_empty() {
                ""
            } else {
                "; another kick on this call is removing a party too"
            },
        )),
    }
}

fn describe(p: &CallMediaParticipant) -> String {
    match p.display_name() {
        Some(name) => format!("{name} ({})", p.id),
        None => format!("participant {}", p.id),
    }
}

fn short(error: &ApiError) -> String {
    match error.status {
        Some(status) => format!("{status} {}", error.message),
        None => error.message.clone(),
    }
}

#[cfg(test)]
mod tests;
