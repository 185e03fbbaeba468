//! The kick as a pure state machine: each input (an answer, a live event, a timer, a cancel) with
//! the time since the job began gives effects as data (read, PATCH, report). No I/O and no clock:
//! the driver performs the effects, and tests feed plain values.
//!
//! Order (the README's kick rules; platform facts in `docs/platform.md`): read → safety → PATCH at once, whatever the leg's state (or,
//! with the `settled` strategy, wait for a settled leg first) → on a 409 wait for the leg's next
//! change from the live feed, then the lock's learned length, then PATCH again → on other
//! failures back off / honour Retry-After → verify.
//!
//! State by phase: what matters in one phase only rides in its `Phase` variant (a read's
//! purpose, a wait's start, a pause's end and sequel). What outlives a phase is a small struct
//! the machine owns, each in its own module below: a wait for the leg to settle survives the
//! re-reads inside it, a verification survives its own reads (and may be re-entered from a
//! pause or a decision), and the attempts, the pacing, the lock and the trouble span the job.
//! Kept out of the variants, they need not be carried from phase to phase at each transition,
//! and no phase change can drop them. The modules below use nothing of this file (the layering
//! test forbids a parent–child cycle): the machine calls them, never the other way.

mod attempts;
mod config;
mod io;
mod lock_tracker;
mod pacing;
mod settle;
mod trouble;
mod verification;
mod view;
mod words;

use std::time::Duration;

pub(crate) use crate::config::Strategy;
pub(crate) use crate::platform::conversations::PatchPath;
pub(crate) use config::MachineConfig;
pub(crate) use io::{Effect, MachineInput};
pub use view::Wanted;

use crate::kick::lock::LockSample;
use crate::kick::policy::{self, Backoff};
use crate::kick::{Outcome, OutcomeKind, Step};
use crate::platform::error::{ApiError, DISCONNECT_PERMISSIONS, FailureKind};
use crate::wire::{CallConversation, CallMediaParticipant};
use attempts::Attempts;
use lock_tracker::LockTracker;
use pacing::Pacing;
use settle::{SettleWait, is_settled};
use trouble::Trouble;
use verification::Verification;
use view::CallView;
use words::{describe, safety_refusal, short};

/// A PATCH answer that says the leg (or its call) has already ended: `/calls/`'s code, and the
/// generic path's two (its documented error list; which one a gone leg gets is not documented).
const LEG_GONE_CODES: &[&str] = &[
    "conversation.error.call.disconnected",
    "conversation.error.participant.no.active.conversations",
    "conversation.error.cannot.disconnect.call",
];

/// Why a read was sent.
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

/// Where the job stands, with what matters only there.
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
    /// The call as last seen, and the target's participant id once known.
    view: CallView,
    /// The current (or last) wait for a settled leg.
    settle: SettleWait,
    /// The PATCHes and requests sent, and how they fared.
    attempts: Attempts,
    /// The backoff and a 429's hold.
    pacing: Pacing,
    /// What a platform in trouble answered (5xx, no answer), for the outcome's words.
    trouble: Trouble,
    /// The check that an accepted removal took effect.
    verification: Verification,
    started_reported: bool,
    outcome: Option<Outcome>,
    /// A live feed carries the call's changes (then a 409 waits for them instead of re-reading).
    live: bool,
    /// Events may have been lost while no read or wait could catch it (see `EventsLost`).
    stale: bool,
    /// The transition lock as this job meets it.
    lock: LockTracker,
    /// Participant or user ids other kicks are removing from the same call (`kick::claims`):
    /// they count as leaving in the safety rule, re-checked before each PATCH.
    leaving: Vec<String>,
}

impl KickMachine {
    pub(crate) fn new(
        conversation_id: impl Into<String>,
        wanted: Wanted,
        config: MachineConfig,
    ) -> Self {
        let view = CallView::new(&wanted);
        KickMachine {
            config,
            conversation_id: conversation_id.into(),
            wanted,
            phase: Phase::Idle,
            view,
            settle: SettleWait::default(),
            attempts: Attempts::default(),
            pacing: Pacing::default(),
            trouble: Trouble::default(),
            verification: Verification::default(),
            started_reported: false,
            outcome: None,
            live: false,
            stale: false,
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
        self.lock.sample()
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
        self.view.target.as_deref()
    }

    /// The target's leg as last seen (read or event).
    pub(crate) fn target_leg(&self) -> Option<&CallMediaParticipant> {
        self.view.target_leg()
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
        self.pacing.hold_until(at);
    }

    /// Whether the platform accepted a removal (a 202): from then on it may have happened.
    pub(crate) fn accepted(&self) -> bool {
        self.attempts.patched
    }

    /// PATCHes decided so far (the number of the latest attempt).
    pub(crate) fn attempts(&self) -> u32 {
        self.attempts.count
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
                (*since + self.config.wait_timeout).min(self.view.at + self.config.quiet_reread)
            }
            Phase::Pausing { until, .. } => *until,
            Phase::Verifying => self
                .verification
                .wake_at(self.pacing.not_before, self.config.wait_timeout),
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
                    self.attempts.count
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
            if self.phase == Phase::Patching || self.attempts.may_have_worked() {
                message.push_str(&format!(
                    "; removal attempt {} was sent and may have taken effect",
                    self.attempts.count
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
                self.trouble.answered();
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
                        if self.attempts.maybe_patched
                            && self.view.target_leg().is_some_and(|p| p.state.is_gone()) =>
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
                self.attempts.patched = true;
                self.pacing.succeeded();
                self.trouble.answered();
                self.lock.accepted();
                out.push(Effect::Report(Step::Answer {
                    number: self.attempts.count,
                    status: 202,
                    code: None,
                    message: None,
                    correlation_id,
                }));
                out.push(Effect::Report(Step::Verifying));
                self.phase = Phase::Verifying;
                let first = verification::pause(0, self.config.verify_grace, self.heard());
                self.verification.begin(now, now + first);
                // An event that came while the PATCH was in flight may already show it done.
                if self.view.target_leg().is_some_and(|p| p.state.is_gone()) {
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
                self.attempts.take_back();
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
                        .view
                        .target_leg()
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
                if self.verification.expired(now, self.config.wait_timeout) {
                    let message = format!(
                        "the removal may have happened: the platform accepted it but the leg was not seen disconnected within {} s",
                        self.config.wait_timeout.as_secs_f64()
                    );
                    self.finish(out, now, OutcomeKind::Unknown, &message, None);
                } else {
                    let (grace, heard) = (self.config.verify_grace, self.heard());
                    self.verification.read_again(now, grace, heard);
                    self.read(out, now, ReadFor::Verify);
                }
            }
            Phase::Patching => {
                // No answer while the deadline runs out: the PATCH may have worked; a read says.
                self.attempts.maybe_patched = true;
                self.check(out, now, self.config.deadline);
            }
            Phase::Idle | Phase::Reading(_) | Phase::Done => {}
        }
    }

    /// The deadline has come: nothing more is sent. A removal that was sent but not seen done is
    /// reported as what it is: it may have happened.
    fn deadline_passed(&mut self, out: &mut Vec<Effect>, now: Duration) {
        if self.attempts.may_have_worked() || self.phase == Phase::Patching {
            let seen = self
                .view
                .target_leg()
                .map(|p| format!("the last view of the call showed the leg {}", p.state))
                .unwrap_or_else(|| "the call could not be read".into());
            let sent = if self.attempts.patched {
                format!("removal attempt {} was accepted (202)", self.attempts.count)
            } else {
                format!("removal attempt {} got no answer", self.attempts.count)
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
            let status = self.trouble.last_status();
            self.finish(out, now, OutcomeKind::TimedOut, &message, status);
        }
    }

    /// Sends a read now, or pauses until a Retry-After ends.
    fn read(&mut self, out: &mut Vec<Effect>, now: Duration, purpose: ReadFor) {
        if self.pacing.held(now) {
            if purpose == ReadFor::Verify {
                // Verification waits inside its own phase; its timer comes back after the pause.
                self.phase = Phase::Verifying;
                return;
            }
            self.pause(now, AfterPause::Read);
            return;
        }
        self.attempts.requests += 1;
        self.stale = false;
        self.phase = Phase::Reading(purpose);
        out.push(Effect::Read);
    }

    /// Takes a view of the call (read or event), and notes what it shows of the target's leg.
    fn absorb(&mut self, view: CallConversation, now: Duration) {
        self.view.absorb(view, now);
        self.mark_leg(now);
    }

    /// Notes when the target's state or hold changed: the platform's lock runs from there.
    fn mark_leg(&mut self, now: Duration) {
        let Some(target) = self.view.target_leg() else {
            return;
        };
        let mark = (target.state.clone(), target.held.unwrap_or(false));
        self.lock.mark(mark, now);
    }

    /// With a fresh view of the call: done, refused, wait, or PATCH.
    fn decide(&mut self, out: &mut Vec<Effect>, now: Duration, jitter: f64) {
        if let Err(message) = self.view.resolve(&self.wanted, &self.conversation_id) {
            self.finish(out, now, OutcomeKind::Refused, &message, None);
            return;
        }
        let Some(conversation) = self.view.latest.clone() else {
            self.read(out, now, ReadFor::Decide);
            return;
        };
        let Some(target) = self.view.target_leg().cloned() else {
            let message = self.wanted.missing_from(&self.conversation_id);
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
            if self.attempts.may_have_worked() {
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
        if !settled && (self.config.strategy == Strategy::Settled || self.lock.conflicted()) {
            let since = self.settle.begin(now);
            if self.settle.report(&target.state) {
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
        self.settle.settled();
        let due = if self.lock.conflicted() {
            let (at, scheduled) = self.lock.retry_at(self.config.lock_plan, now);
            if let Some(learned) = scheduled {
                out.push(Effect::Report(Step::Locked {
                    retry_in_ms: at.saturating_sub(now).as_millis() as u64,
                    learned,
                }));
            }
            Some(at)
        } else if self.config.strategy == Strategy::Settled {
            // No PATCH into a lock the history says still holds: the settled strategy's point.
            let ahead = self.lock.ahead(self.config.lock_plan, now);
            if let Some((at, true)) = ahead {
                out.push(Effect::Report(Step::LockAhead {
                    wait_ms: at.saturating_sub(now).as_millis() as u64,
                }));
            }
            ahead.map(|(at, _)| at)
        } else {
            None
        };
        if let Some(at) = due
            && now < at
        {
            self.pause(at, AfterPause::Patch);
            return;
        }
        self.patch(out, now);
    }

    /// A 409: the platform's transition lock. With live events, wait for the leg's next change
    /// and the lock's end (no GET); without, back off and re-read.
    fn locked(&mut self, out: &mut Vec<Effect>, now: Duration, jitter: f64) {
        self.attempts.refusals += 1;
        self.trouble.answered();
        let settled = self.view.target_leg().is_some_and(|p| is_settled(&p.state));
        self.lock.refused(settled);
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
            );
            self.lock.waited_out();
            return;
        }
        self.decide(out, now, jitter);
    }

    fn patch(&mut self, out: &mut Vec<Effect>, now: Duration) {
        if self.pacing.held(now) {
            self.pause(now, AfterPause::Patch);
            return;
        }
        if self.attempts.refusals >= self.config.max_attempts {
            let message = format!(
                "gave up after {} attempts: the platform's transition lock (409) refused {} of them",
                self.attempts.count, self.attempts.refusals
            );
            let kind = if self.attempts.maybe_patched {
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
        let Some(participant_id) = self.view.target.clone() else {
            return;
        };
        // Re-checked right before each PATCH: another kick on the call may have begun since.
        if !self.config.force
            && let (Some(conversation), Some(target)) = (&self.view.latest, self.view.target_leg())
            && let Some(reason) = safety_refusal(conversation, target, &self.leaving)
        {
            self.finish(out, now, OutcomeKind::Refused, &reason, None);
            return;
        }
        let number = self.attempts.patch_sent();
        self.settle.patch_sent();
        self.lock.patch_sent(now);
        self.phase = Phase::Patching;
        out.push(Effect::Report(Step::Attempt { number }));
        out.push(Effect::Patch {
            participant_id,
            path: self.attempts.path,
        });
    }

    /// Waits a jittered exponential backoff, never past the job's deadline.
    fn backoff(
        &mut self,
        out: &mut Vec<Effect>,
        now: Duration,
        jitter: f64,
        then: AfterPause,
        reason: &str,
    ) {
        let delay = self
            .pacing
            .backoff(self.config.backoff, jitter)
            .min(self.config.deadline.saturating_sub(now));
        out.push(Effect::Report(Step::Backoff {
            delay_ms: delay.as_millis() as u64,
            reason: reason.to_string(),
            trouble: None,
        }));
        self.pause(now + delay, then);
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
        self.pause(now + delay, then);
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
        let left = self.config.deadline.saturating_sub(now);
        self.trouble.delay(error, now, jitter, schedule, left)
    }

    /// Whether live events carry the call's changes and none may have been lost: a channel that
    /// opened while the PATCH was in flight may have missed what came before.
    fn heard(&self) -> bool {
        self.live && !self.stale
    }

    /// Begins checking that a removal took effect at `now`: a read at once (or after a 429's
    /// hold), the next one due at `next`.
    fn check(&mut self, out: &mut Vec<Effect>, now: Duration, next: Duration) {
        out.push(Effect::Report(Step::Verifying));
        self.verification.begin(now, next);
        self.read(out, now, ReadFor::Verify);
    }

    /// Pauses until `until`, or until a 429's hold ends if later; then `then`.
    fn pause(&mut self, until: Duration, then: AfterPause) {
        self.phase = Phase::Pausing {
            until: until.max(self.pacing.not_before),
            then,
        };
    }

    fn rate_limited(
        &mut self,
        out: &mut Vec<Effect>,
        now: Duration,
        retry_after: Duration,
        then: AfterPause,
    ) {
        self.pacing.hold_until(now + retry_after);
        out.push(Effect::Report(Step::RateLimited {
            retry_after_ms: retry_after.as_millis() as u64,
        }));
        self.pause(now, then);
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
                self.pacing.hold_until(now + retry_after);
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
                    self.verification.read_due(now + delay);
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
                self.backoff(out, now, jitter, AfterPause::Read, &reason);
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
            number: self.attempts.count,
            status: error.status.unwrap_or(0),
            code: error.code.clone(),
            message: Some(error.message.clone()),
            correlation_id: error.correlation_id.as_ref().map(|id| id.0.clone()),
        }));
        if self.attempts.path == PatchPath::Calls
            && (error.has_code("not.a.user") || error.has_code("conversation.error.user.not.party"))
        {
            // Client credentials have no user context, and a signed-in supervisor is not a
            // party of the call: the media-agnostic endpoint takes the same body.
            self.attempts.path = PatchPath::Generic;
            self.decide(out, now, jitter);
            return;
        }
        if LEG_GONE_CODES.iter().any(|code| error.has_code(code)) {
            if self.attempts.maybe_patched && !self.attempts.patched {
                // Perhaps our own earlier PATCH: check the others are still on the call.
                self.attempts.patched = true;
                self.check(out, now, now + self.config.verify_grace);
                return;
            }
            let kind = if self.attempts.patched {
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
                    self.attempts.answer_lost();
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
        let target_gone = self.view.target_leg().is_none_or(|p| p.state.is_gone());
        if self.view.latest.is_none() || !target_gone {
            self.phase = Phase::Verifying;
            return;
        }
        if let Some(stays) = self.view.who_stays() {
            let mut message = format!("seen disconnected; {stays}");
            if let Some(attempt) = self.attempts.lost_answer {
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
            attempts: self.attempts.count,
            requests: self.attempts.requests,
            elapsed_ms: now.as_millis() as u64,
            message: message.to_string(),
            status,
            audit_incomplete: false,
        };
        self.phase = Phase::Done;
        self.outcome = Some(outcome.clone());
        out.push(Effect::Report(Step::Finished(outcome)));
    }
}

#[cfg(test)]
mod tests;
