//! The console's record of kick jobs, built from the progress stream, and the one-line text each
//! job shows inline ("waiting: alerting 1.4 s", "attempt 2 → 409, retry in 320 ms", ...).

use chrono::{DateTime, Duration, Utc};

use crate::kick::{Outcome, OutcomeKind, Progress, Step, Target};
use crate::text::seconds_1;

/// How a job's line should look.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum JobTone {
    Running,
    Done,
    Failed,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    /// Unique in the session: the jobs view's cursor follows it.
    pub(crate) seq: u64,
    pub(crate) target: Target,
    /// Who, as shown when it was asked for.
    pub(crate) name: String,
    pub(crate) conference: String,
    pub(crate) force: bool,
    /// When the job started (its `at_ms` zero), as seen by the console.
    pub(crate) started_at: DateTime<Utc>,
    /// The last step and when it was reported (ms from start); None until the first report.
    pub(crate) step: Option<(Step, u64)>,
    /// Start of the current run of `Waiting` steps (ms from start).
    waiting_since_ms: Option<u64>,
    last_answer: Option<(u32, u16)>,
    /// Retries since the platform last answered (5xx, no answer); 0 once it answers again.
    pub(crate) trouble_retries: u32,
    /// Every step reported, with its time (ms from start), for the job view; repeated waits in
    /// one state are one step, and at most [`STORY_STEPS`] are kept (the first and the latest).
    pub(crate) story: Vec<(u64, Step)>,
}

/// A job's story keeps at most this many steps: a kick makes a handful of attempts, each a few
/// steps; a runaway one keeps its first steps and its end.
const STORY_STEPS: usize = 200;

impl Job {
    pub(crate) fn outcome(&self) -> Option<&Outcome> {
        match &self.step {
            Some((Step::Finished(outcome), _)) => Some(outcome),
            _ => None,
        }
    }

    pub(crate) fn is_running(&self) -> bool {
        self.outcome().is_none()
    }

    pub(crate) fn tone(&self) -> JobTone {
        match self.outcome().map(|o| o.outcome) {
            None => JobTone::Running,
            Some(OutcomeKind::Removed | OutcomeKind::AlreadyGone) => JobTone::Done,
            Some(_) => JobTone::Failed,
        }
    }

    fn step_time(&self, at_ms: u64) -> DateTime<Utc> {
        self.started_at + Duration::milliseconds(at_ms as i64)
    }

    fn elapsed_since(&self, at_ms: u64, now: DateTime<Utc>) -> u64 {
        (now - self.step_time(at_ms)).num_milliseconds().max(0) as u64
    }

    fn remember(&mut self, progress: &Progress) {
        let repeated_wait = matches!(
            (self.story.last(), &progress.step),
            (Some((_, Step::Waiting { state: a })), Step::Waiting { state: b }) if a == b
        );
        if repeated_wait {
            return;
        }
        if self.story.len() >= STORY_STEPS {
            // The middle goes: the start says what was asked, the end how it went.
            self.story.remove(STORY_STEPS / 2);
        }
        self.story.push((progress.at_ms, progress.step.clone()));
    }

    /// When a step reported at `at_ms` happened, by the console's clock.
    pub(crate) fn time_of(&self, at_ms: u64) -> DateTime<Utc> {
        self.step_time(at_ms)
    }

    /// The job's line at `now`.
    pub(crate) fn status(&self, now: DateTime<Utc>) -> String {
        let Some((step, at_ms)) = &self.step else {
            return "starting…".to_string();
        };
        match step {
            Step::Started { joined: true, .. } => "joined running kick".to_string(),
            Step::Started { .. } => "started".to_string(),
            Step::Waiting { state } => {
                let since = self.waiting_since_ms.unwrap_or(*at_ms);
                format!(
                    "waiting: {state} {}",
                    seconds_1(self.elapsed_since(since, now))
                )
            }
            Step::Attempt { number } => format!("attempt {number}…"),
            Step::Answer { number, status, .. } => format!("attempt {number} → {status}"),
            Step::Backoff {
                delay_ms,
                reason,
                trouble,
            } => {
                let left = delay_ms.saturating_sub(self.elapsed_since(*at_ms, now));
                if let Some(status) = trouble {
                    let answered = match status {
                        0 => "no answer".to_string(),
                        status => status.to_string(),
                    };
                    return format!(
                        "platform unavailable ({answered}) · retry {} in {}",
                        self.trouble_retries,
                        seconds_1(left)
                    );
                }
                match self.last_answer {
                    Some((number, status)) => {
                        format!("attempt {number} → {status}, retry in {}", short(left))
                    }
                    None => format!("{reason}, retry in {}", short(left)),
                }
            }
            Step::Locked {
                retry_in_ms,
                learned,
            } => {
                let left = retry_in_ms.saturating_sub(self.elapsed_since(*at_ms, now));
                crate::kick::progress::locked_words(left, *learned)
            }
            Step::LockAhead { wait_ms } => {
                let left = wait_ms.saturating_sub(self.elapsed_since(*at_ms, now));
                crate::kick::progress::lock_ahead_words(left)
            }
            Step::RateLimited { retry_after_ms } => {
                let left = retry_after_ms.saturating_sub(self.elapsed_since(*at_ms, now));
                format!("rate limited, resuming in {} s", left.div_ceil(1000))
            }
            Step::Verifying => "removal accepted, confirming…".to_string(),
            Step::Unprotected { reason } => crate::kick::progress::unprotected_words(reason),
            Step::Finished(outcome) => finished(outcome),
        }
    }
}

pub(crate) fn finished(outcome: &Outcome) -> String {
    let detail = |what: &str| {
        let parts: Vec<String> = outcome
            .status
            .map(|s| s.to_string())
            .into_iter()
            .chain((!outcome.message.is_empty()).then(|| outcome.message.clone()))
            .collect();
        if parts.is_empty() {
            what.to_string()
        } else {
            format!("{what}: {}", parts.join(" "))
        }
    };
    match outcome.outcome {
        OutcomeKind::Removed if outcome.attempts > 1 => format!(
            "removed in {} after {} attempts",
            short(outcome.elapsed_ms),
            outcome.attempts
        ),
        OutcomeKind::Removed => format!("removed in {}", short(outcome.elapsed_ms)),
        OutcomeKind::AlreadyGone => "already gone, nothing sent".to_string(),
        OutcomeKind::Refused => detail("refused"),
        OutcomeKind::TimedOut => detail("timed out"),
        OutcomeKind::Failed => detail("failed"),
        OutcomeKind::Cancelled => "cancelled".to_string(),
        OutcomeKind::Unknown => detail("unknown"),
        OutcomeKind::Interrupted => detail("interrupted"),
    }
}

/// `320 ms` below a second, `1.2 s` above.
fn short(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        seconds_1(ms)
    }
}

/// Every job of the session, oldest first; at most one running job per target.
#[derive(Debug, Default)]
pub struct Jobs {
    jobs: Vec<Job>,
    next_seq: u64,
}

/// Finished jobs kept for the jobs view; older ones are dropped.
const KEEP_FINISHED: usize = 200;

impl Jobs {
    pub fn all(&self) -> &[Job] {
        &self.jobs
    }

    pub fn len(&self) -> usize {
        self.jobs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }

    pub(crate) fn running(&self, target: &Target) -> Option<&Job> {
        self.jobs
            .iter()
            .rev()
            .find(|j| &j.target == target && j.is_running())
    }

    /// The newest job of a target, running or finished: what its row shows.
    pub(crate) fn latest(&self, target: &Target) -> Option<&Job> {
        self.jobs.iter().rev().find(|j| &j.target == target)
    }

    pub(crate) fn any_running_in(&self, conversation_id: &str) -> bool {
        self.jobs
            .iter()
            .any(|j| j.target.conversation_id == conversation_id && j.is_running())
    }

    /// Records a kick the supervisor asked for (before the engine reports anything).
    pub(crate) fn requested(
        &mut self,
        target: Target,
        name: String,
        conference: String,
        force: bool,
        now: DateTime<Utc>,
    ) {
        self.next_seq += 1;
        self.jobs.push(Job {
            seq: self.next_seq,
            target,
            name,
            conference,
            force,
            started_at: now,
            step: None,
            waiting_since_ms: None,
            last_answer: None,
            trouble_retries: 0,
            story: Vec::new(),
        });
        self.trim();
    }

    /// Applies one progress report seen at `now`; returns the job it belongs to.
    pub(crate) fn apply(&mut self, progress: Progress, now: DateTime<Utc>) -> &Job {
        let index = match self
            .jobs
            .iter()
            .rposition(|j| j.target == progress.target && j.is_running())
        {
            Some(index) => index,
            None => {
                // A job the console did not ask for (or whose request was trimmed).
                self.next_seq += 1;
                self.jobs.push(Job {
                    seq: self.next_seq,
                    target: progress.target.clone(),
                    name: progress.target.participant_id.clone(),
                    conference: progress.target.conversation_id.clone(),
                    force: false,
                    started_at: now,
                    step: None,
                    waiting_since_ms: None,
                    last_answer: None,
                    trouble_retries: 0,
                    story: Vec::new(),
                });
                self.jobs.len() - 1
            }
        };
        let job = &mut self.jobs[index];
        job.remember(&progress);
        if matches!(progress.step, Step::Started { joined: true, .. }) && job.step.is_some() {
            // Another request joined this job: its progress (and its wait's start) stands.
            return &self.jobs[index];
        }
        if job.step.is_none() {
            // The engine's clock starts at the job's start: anchor it to ours once.
            job.started_at = now - Duration::milliseconds(progress.at_ms as i64);
        }
        match &progress.step {
            Step::Started {
                name: Some(name), ..
            } if job.name == job.target.participant_id => job.name = name.clone(),
            // A run of waits counts from its first report.
            Step::Waiting { .. } if !matches!(job.step, Some((Step::Waiting { .. }, _))) => {
                job.waiting_since_ms = Some(progress.at_ms);
            }
            Step::Answer { number, status, .. } => job.last_answer = Some((*number, *status)),
            _ => {}
        }
        // The platform in trouble: count the retries; any real answer ends the run.
        match &progress.step {
            Step::Backoff {
                trouble: Some(_), ..
            } => job.trouble_retries += 1,
            Step::Answer { status, .. } if *status == 0 || *status >= 500 => {}
            Step::Backoff { .. } | Step::Attempt { .. } | Step::RateLimited { .. } => {}
            _ => job.trouble_retries = 0,
        }
        job.step = Some((progress.step, progress.at_ms));
        &self.jobs[index]
    }

    fn trim(&mut self) {
        let finished = self.jobs.iter().filter(|j| !j.is_running()).count();
        if finished > KEEP_FINISHED {
            let mut drop = finished - KEEP_FINISHED;
            self.jobs.retain(|j| {
                if drop > 0 && !j.is_running() {
                    drop -= 1;
                    false
                } else {
                    true
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::wire::ParticipantState;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 28, 7, 0, 0).unwrap()
    }

    fn target() -> Target {
        Target {
            conversation_id: "c1".into(),
            participant_id: "p1".into(),
        }
    }

    fn report(at_ms: u64, step: Step) -> Progress {
        Progress {
            target: target(),
            at_ms,
            step,
        }
    }

    fn ms(n: i64) -> Duration {
        Duration::milliseconds(n)
    }

    #[test]
    fn waiting_counts_from_the_first_wait() {
        let mut jobs = Jobs::default();
        jobs.requested(target(), "Dana".into(), "Sales".into(), false, t0());
        let waiting = Step::Waiting {
            state: ParticipantState::Alerting,
        };
        jobs.apply(report(100, waiting.clone()), t0() + ms(100));
        jobs.apply(report(900, waiting), t0() + ms(900));
        let job = jobs.running(&target()).unwrap();
        assert_eq!(job.status(t0() + ms(1500)), "waiting: alerting 1.4 s");
        // The story keeps one wait in one state, from its first report.
        assert_eq!(job.story.len(), 1);
        assert_eq!(job.story[0].0, 100);
    }

    #[test]
    fn backoff_names_the_answer_and_counts_down() {
        let mut jobs = Jobs::default();
        jobs.apply(report(0, Step::Attempt { number: 2 }), t0());
        let answer = Step::Answer {
            number: 2,
            status: 409,
            code: None,
            message: None,
            correlation_id: None,
        };
        jobs.apply(report(50, answer), t0() + ms(50));
        let backoff = Step::Backoff {
            delay_ms: 400,
            reason: "transition lock".into(),
            trouble: None,
        };
        jobs.apply(report(60, backoff), t0() + ms(60));
        let job = jobs.latest(&target()).unwrap();
        assert_eq!(
            job.status(t0() + ms(140)),
            "attempt 2 → 409, retry in 320 ms"
        );
        assert_eq!(job.tone(), JobTone::Running);
    }

    #[test]
    fn a_platform_in_trouble_shows_its_answer_and_the_retry_then_confirming() {
        let mut jobs = Jobs::default();
        jobs.apply(report(0, Step::Attempt { number: 1 }), t0());
        for (at, status) in [(50, 503), (300, 503), (700, 0)] {
            let answer = Step::Answer {
                number: 1,
                status,
                code: None,
                message: None,
                correlation_id: None,
            };
            jobs.apply(report(at, answer), t0() + ms(at as i64));
            let backoff = Step::Backoff {
                delay_ms: 600,
                reason: "503 Service Unavailable".into(),
                trouble: Some(status),
            };
            jobs.apply(report(at + 1, backoff), t0() + ms(at as i64 + 1));
        }
        let job = jobs.latest(&target()).unwrap();
        assert_eq!(job.trouble_retries, 3);
        assert_eq!(
            job.status(t0() + ms(901)),
            "platform unavailable (no answer) · retry 3 in 0.4 s"
        );
        jobs.apply(report(1400, Step::Verifying), t0() + ms(1400));
        let job = jobs.latest(&target()).unwrap();
        assert_eq!(job.trouble_retries, 0, "the platform answered again");
        assert_eq!(job.status(t0() + ms(1400)), "removal accepted, confirming…");
    }

    #[test]
    fn a_joined_request_does_not_reset_the_progress() {
        let mut jobs = Jobs::default();
        jobs.requested(target(), "Dana".into(), "Sales".into(), false, t0());
        let waiting = Step::Waiting {
            state: ParticipantState::Alerting,
        };
        jobs.apply(report(100, waiting.clone()), t0() + ms(100));
        // The engine reports the join at its own zero.
        let joined = Step::Started {
            name: None,
            purpose: None,
            joined: true,
        };
        jobs.apply(report(0, joined), t0() + ms(1000));
        let job = jobs.running(&target()).unwrap();
        assert_eq!(job.status(t0() + ms(1000)), "waiting: alerting 0.9 s");
        jobs.apply(report(1200, waiting), t0() + ms(1200));
        let job = jobs.running(&target()).unwrap();
        assert_eq!(job.status(t0() + ms(1500)), "waiting: alerting 1.4 s");
    }

    #[test]
    fn finished_jobs_free_the_target() {
        let mut jobs = Jobs::default();
        jobs.requested(target(), "Dana".into(), "Sales".into(), false, t0());
        let done = Outcome {
            outcome: OutcomeKind::Removed,
            attempts: 1,
            requests: 2,
            elapsed_ms: 640,
            message: String::new(),
            status: None,
            audit_incomplete: false,
        };
        jobs.apply(report(640, Step::Finished(done)), t0() + ms(640));
        assert!(jobs.running(&target()).is_none());
        let job = jobs.latest(&target()).unwrap();
        assert_eq!(job.status(t0()), "removed in 640 ms");
        assert_eq!(job.story.len(), 1);
        assert_eq!(job.tone(), JobTone::Done);
    }

    #[test]
    fn failures_show_the_platform_message() {
        let mut jobs = Jobs::default();
        let failed = Outcome {
            outcome: OutcomeKind::Failed,
            attempts: 1,
            requests: 2,
            elapsed_ms: 100,
            message: "missing permission conversation:communication:disconnect".into(),
            status: Some(403),
            audit_incomplete: false,
        };
        jobs.apply(report(100, Step::Finished(failed)), t0());
        let job = jobs.latest(&target()).unwrap();
        assert_eq!(
            job.status(t0()),
            "failed: 403 missing permission conversation:communication:disconnect"
        );
        assert_eq!(job.tone(), JobTone::Failed);
    }
}
