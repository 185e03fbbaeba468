//! Runs one kick job: performs the machine's effects (requests, timers), feeds it answers, live
//! events and the time, and reports each step to the progress stream and the audit record.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::claims::Claim;
use super::lock::LockHistory;
use super::machine::{
    Effect, KickMachine, MachineConfig, MachineInput, PatchPath, Strategy, Wanted,
};
use super::policy;
use super::{Outcome, Progress, Step, Target};
use crate::config::KickFlags;
use crate::kick::audit::{AuditEntry, AuditLog, AuditRecord};
use crate::platform::Client;
use crate::platform::error::ApiError;
use crate::platform::notifications::{self, Signal};
use crate::wire::{CallConversation, Purpose, Timestamp};

/// Limits of a kick job and where its audit lines go.
#[derive(Clone, Debug)]
pub struct KickOptions {
    /// How long to wait for the target's leg to settle.
    pub wait_timeout: Duration,
    /// PATCHes the lock may refuse at most.
    pub max_attempts: u32,
    /// The job gives up after this.
    pub deadline: Duration,
    /// The audit file; None: `confwatch/audit.jsonl` in the user's data directory.
    pub audit_log: Option<std::path::PathBuf>,
    /// Kick without an audit record (`--no-audit`): the supervisor's explicit choice.
    pub no_audit: bool,
    /// When the first PATCH goes out (`--strategy`, config key `kick.strategy`).
    pub strategy: Strategy,
    /// Where what kicks learn about the transition lock is kept between runs; None: in memory.
    pub lock_history: Option<std::path::PathBuf>,
    /// Where kicks claim their call, so two at once on one call see each other (`kick::claims`);
    /// None: no claims.
    pub claims_dir: Option<std::path::PathBuf>,
}

impl Default for KickOptions {
    fn default() -> Self {
        KickOptions {
            wait_timeout: policy::WAIT_TIMEOUT,
            max_attempts: policy::MAX_ATTEMPTS,
            deadline: policy::DEADLINE,
            audit_log: None,
            no_audit: false,
            strategy: Strategy::Eager,
            lock_history: None,
            claims_dir: None,
        }
    }
}

impl KickOptions {
    pub fn machine_config(&self, force: bool) -> MachineConfig {
        MachineConfig {
            wait_timeout: self.wait_timeout,
            max_attempts: self.max_attempts,
            deadline: self.deadline,
            strategy: self.strategy,
            force,
            claims_dir: self.claims_dir.clone(),
            ..MachineConfig::default()
        }
    }

    /// What the flags ask for; without `--strategy`, the config file's `[kick] strategy`.
    pub(crate) fn from_flags(flags: &KickFlags, settings: &crate::config::Settings) -> Self {
        let strategy = flags
            .strategy
            .or_else(|| settings.kick_strategy())
            .unwrap_or_default();
        KickOptions {
            audit_log: flags.audit_log.clone(),
            no_audit: flags.no_audit,
            strategy,
            lock_history: Some(crate::kick::lock::default_history_path()),
            claims_dir: Some(crate::kick::claims::default_claims_dir()),
            ..KickOptions::default()
        }
    }

    /// Opens the audit file (the default one when none is set); Ok(None) with `no_audit`.
    pub fn open_audit(&self) -> color_eyre::Result<Option<AuditLog>> {
        if self.no_audit {
            return Ok(None);
        }
        let path = self
            .audit_log
            .clone()
            .unwrap_or_else(crate::kick::audit::default_audit_path);
        AuditLog::open(&path).map(Some)
    }
}

/// What a job hears from the live side.
#[derive(Clone, Debug)]
pub enum LiveInput {
    Conversation(CallConversation),
    /// Events may have been lost (a reconnect).
    Lost,
}

/// One kick to run.
#[derive(Clone, Debug)]
pub struct KickRequest {
    pub conversation_id: String,
    pub wanted: Wanted,
    pub force: bool,
}

/// Where the job's events come from.
pub enum EventSource {
    /// The caller forwards the events of a feed it already has.
    Feed(mpsc::UnboundedReceiver<LiveInput>),
    /// The job subscribes on its own to the target user's (or the call's queue's) topic.
    Subscribe,
}

type Pending = Pin<Box<dyn Future<Output = MachineInput> + Send>>;
type Opening = Pin<Box<dyn Future<Output = Result<notifications::Listening, ApiError>> + Send>>;

/// Stops a job: a cancel (the supervisor's), or an interrupt (a signal; the job ends
/// `interrupted`, audited as such).
#[derive(Clone, Debug, Default)]
pub struct Stop {
    token: CancellationToken,
    signal: Arc<Mutex<Option<String>>>,
}

impl Stop {
    pub(crate) fn new() -> Stop {
        Stop::default()
    }

    /// Ends the job `cancelled` (the supervisor's choice).
    pub(crate) fn cancel(&self) {
        self.token.cancel();
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Ends the job `interrupted by {signal}`.
    pub(crate) fn interrupt(&self, signal: &str) {
        if let Ok(mut held) = self.signal.lock() {
            held.get_or_insert_with(|| signal.to_string());
        }
        self.token.cancel();
    }

    fn input(&self) -> MachineInput {
        match self.signal.lock().ok().and_then(|s| s.clone()) {
            Some(signal) => MachineInput::Interrupt(format!("interrupted by {signal}")),
            None => MachineInput::Cancel,
        }
    }
}

impl From<CancellationToken> for Stop {
    fn from(token: CancellationToken) -> Stop {
        Stop {
            token,
            signal: Arc::default(),
        }
    }
}

/// Runs the job to its end and returns the outcome. `report` sees every progress step. The
/// lock `history` gives the job its plan (unless the config has one) and takes what it learned.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    client: Client,
    request: KickRequest,
    config: MachineConfig,
    source: EventSource,
    stop: impl Into<Stop>,
    audit: Option<Arc<AuditLog>>,
    history: Arc<Mutex<LockHistory>>,
    report: impl FnMut(Progress) + Send,
) -> Outcome {
    use tracing::Instrument;
    // One span per job: two kicks at once can be told apart in the log file.
    let span = tracing::info_span!(
        "kick",
        conversation = %request.conversation_id,
        target = ?request.wanted
    );
    run_job(
        client, request, config, source, stop, audit, history, report,
    )
    .instrument(span)
    .await
}

#[allow(clippy::too_many_arguments)]
async fn run_job(
    client: Client,
    request: KickRequest,
    mut config: MachineConfig,
    source: EventSource,
    stop: impl Into<Stop>,
    audit: Option<Arc<AuditLog>>,
    history: Arc<Mutex<LockHistory>>,
    report: impl FnMut(Progress) + Send,
) -> Outcome {
    // The job's own count of what it sent: every request through this clone (reads, PATCHes,
    // channel and subscription calls), whoever else shares the token.
    let (client, sent) = client.counted();
    let start = Instant::now();
    // A deadline too far to add (a huge `--deadline`) is as good as none.
    let deadline = start
        .checked_add(config.deadline)
        .unwrap_or(start + Duration::from_secs(86_400 * 365));
    // What kicks in this org learned about its lock (each org may have its own).
    let lock_key = client.lock_key();
    if config.lock_plan.is_none() {
        config.lock_plan = history.lock().ok().and_then(|h| h.plan(&lock_key));
    }
    let (claim, unprotected) = match take_claim(&config, &request) {
        Ok(claim) => (claim, None),
        Err(reason) => (None, Some(reason)),
    };
    let machine = KickMachine::new(
        request.conversation_id.clone(),
        request.wanted.clone(),
        config,
    );
    let audit = AuditContext {
        log: audit,
        who: client.who(),
        conversation_id: request.conversation_id.clone(),
        participant_id: machine.target().map(str::to_string),
        name: None,
        purpose: None,
        lost: Arc::default(),
    };
    let job = Job {
        client,
        request,
        machine,
        source,
        stop: stop.into(),
        start,
        deadline,
        sent,
        history,
        lock_key,
        claim,
        unprotected,
        audit,
        report,
        pending: None,
        opening: None,
        subscription: None,
        subscribed: false,
        feed_open: true,
    };
    job.run().await
}

/// One running kick: the machine, what it waits for (its request in flight, its channel, live
/// events, a timer) and where its steps go.
struct Job<R> {
    client: Client,
    request: KickRequest,
    machine: KickMachine,
    source: EventSource,
    stop: Stop,
    start: Instant,
    deadline: Instant,
    sent: Arc<AtomicU64>,
    history: Arc<Mutex<LockHistory>>,
    lock_key: String,
    /// This kick's claim on the call (`kick::claims`), if one could be made.
    claim: Option<Claim>,
    /// Why the call could not be claimed: told as the job's first step.
    unprotected: Option<String>,
    audit: AuditContext,
    report: R,
    /// The request in flight.
    pending: Option<Pending>,
    /// The channel being opened, in the background (it never delays a read or a PATCH): the
    /// attempt, its topics and its try number.
    opening: Option<(Opening, Vec<String>, u32)>,
    subscription: Option<notifications::Listening>,
    /// The channel was asked for (once the topic is known).
    subscribed: bool,
    /// The caller's feed still sends.
    feed_open: bool,
}

impl<R: FnMut(Progress) + Send> Job<R> {
    async fn run(mut self) -> Outcome {
        let mut effects = self.begin();
        loop {
            let audit_failed = self.perform(effects).await;
            if let Some(outcome) = self.machine.outcome() {
                let mut outcome = outcome.clone();
                outcome.requests = self.sent.load(Ordering::Relaxed) as u32;
                self.audit.note_if_incomplete(&mut outcome);
                return outcome;
            }
            if let Some(e) = audit_failed.filter(|_| !self.machine.accepted()) {
                // Nothing more is sent once the record cannot be kept. After a 202 the removal
                // is the platform's fact: the job goes on to see it done (reads only; another
                // PATCH needs its own line first), and the record is marked incomplete.
                self.pending = None;
                effects = self
                    .machine
                    .handle(MachineInput::AuditFailed(e), self.now(), 0.5);
                continue;
            }
            self.open_channel_once_known();
            effects = match self.next_input().await {
                Some(input) => {
                    hold_for_rate_limit(&mut self.machine, &self.client, self.start);
                    let live = match &self.source {
                        EventSource::Feed(_) => self.feed_open,
                        EventSource::Subscribe => self.subscription.is_some(),
                    };
                    self.machine.set_live(live);
                    note_other_kicks(&mut self.machine, self.claim.as_ref(), &self.request.wanted);
                    self.machine.handle(input, self.now(), rand::random())
                }
                None => Vec::new(),
            };
        }
    }

    /// Time since the job began.
    fn now(&self) -> Duration {
        Instant::now().saturating_duration_since(self.start)
    }

    /// The request line (the audit fails closed: without it, nothing is sent), then the start.
    fn begin(&mut self) -> Vec<Effect> {
        let first = self.audit.write(AuditEntry::Request {
            force: self.request.force,
            user_id: match &self.request.wanted {
                Wanted::User(id) => Some(id.clone()),
                Wanted::Participant(_) => None,
            },
        });
        if let Err(e) = first {
            return self
                .machine
                .handle(MachineInput::AuditFailed(e), Duration::ZERO, 0.5);
        }
        // A user target: its topic is known, so the channel opens beside the first read (once
        // open, a re-read catches what came before).
        if let (EventSource::Subscribe, Wanted::User(user_id)) =
            (&self.source, &self.request.wanted)
        {
            let topics = vec![notifications::user_topic(user_id)];
            self.opening = Some((open_channel(&self.client, topics.clone(), 0), topics, 0));
            self.subscribed = true;
        }
        hold_for_rate_limit(&mut self.machine, &self.client, self.start);
        self.machine.set_live(false);
        note_other_kicks(&mut self.machine, self.claim.as_ref(), &self.request.wanted);
        let mut effects = self
            .machine
            .handle(MachineInput::Start, self.now(), rand::random());
        // Said before anything else the job reports, so the supervisor sees it while it runs.
        if let Some(reason) = self.unprotected.take() {
            effects.insert(0, Effect::Report(Step::Unprotected { reason }));
        }
        effects
    }

    /// Performs the machine's effects; returns why the audit failed, if it did.
    async fn perform(&mut self, effects: Vec<Effect>) -> Option<String> {
        let mut audit_failed = None;
        for effect in effects {
            match effect {
                Effect::Report(step) => {
                    if let Err(e) = self.report_step(step).await {
                        audit_failed.get_or_insert(e);
                    }
                }
                Effect::Read => self.send_read(),
                Effect::Patch {
                    participant_id,
                    path,
                } => self.send_patch(participant_id, path),
            }
        }
        audit_failed
    }

    /// Audits one step and tells it; the outcome only once the channel is released and what the
    /// job learned about the lock is kept.
    async fn report_step(&mut self, mut step: Step) -> Result<(), String> {
        if let Step::Started { name, purpose, .. } = &step {
            self.audit.name = name.clone();
            self.audit.purpose = purpose.clone();
        }
        if let Step::Finished(outcome) = &mut step {
            self.audit.note_if_incomplete(outcome);
            // The job's channel drops its subscriptions before the outcome is told, so none are
            // left behind and that request is in the count.
            if let Some(listening) = self.subscription.take() {
                let left = self.deadline.saturating_duration_since(Instant::now());
                listening.release(left.min(RELEASE_WAIT)).await;
            }
            outcome.requests = self.sent.load(Ordering::Relaxed) as u32;
            // Kept before the outcome is told, so whoever hears it (and saves the history) has it.
            if let Some(sample) = self.machine.lock_sample()
                && let Ok(mut history) = self.history.lock()
            {
                history.push(&self.lock_key, sample);
            }
        }
        self.audit.participant_id = self.machine.target().map(str::to_string);
        // An attempt is audited as its PATCH leaves (see `send_patch`), not when it is decided.
        let written = if matches!(step, Step::Attempt { .. }) {
            Ok(())
        } else {
            self.audit
                .write(AuditEntry::Progress { step: step.clone() })
        };
        // The outcome's own line may be the one lost: the outcome told says so too.
        if let (Err(_), Step::Finished(outcome)) = (&written, &mut step) {
            self.audit.note_if_incomplete(outcome);
        }
        let participant_id =
            self.machine
                .target()
                .map(str::to_string)
                .unwrap_or_else(|| match &self.request.wanted {
                    Wanted::Participant(id) | Wanted::User(id) => id.clone(),
                });
        let progress = Progress {
            target: Target {
                conversation_id: self.request.conversation_id.clone(),
                participant_id,
            },
            at_ms: self.now().as_millis() as u64,
            step,
        };
        (self.report)(progress);
        written
    }

    fn send_read(&mut self) {
        let client = self.client.clone();
        let id = self.request.conversation_id.clone();
        self.pending = Some(Box::pin(async move {
            match client.call(&id).await {
                Ok(call) => MachineInput::ReadOk(call),
                Err(e) => MachineInput::ReadFailed(e),
            }
        }));
    }

    /// The PATCH: its token first, then its start checked against the reserve, its attempt
    /// audited (written and synced, or no PATCH), then sent.
    fn send_patch(&mut self, participant_id: String, path: PatchPath) {
        let client = self.client.clone();
        let id = self.request.conversation_id.clone();
        let mut audit = self.audit.clone();
        audit.participant_id = Some(participant_id.clone());
        let number = self.machine.attempts();
        let leave_by = self.start + self.machine.patch_leave_by();
        self.pending = Some(Box::pin(async move {
            // The token first, so that the attempt's audit time is when it leaves.
            if let Err(e) = client.ensure_token().await {
                return MachineInput::PatchNotSent(Some(e));
            }
            // The PATCH's own start, checked as it leaves: none in the reserve.
            if Instant::now() >= leave_by {
                return MachineInput::PatchNotSent(None);
            }
            if let Err(e) = audit.write(AuditEntry::Progress {
                step: Step::Attempt { number },
            }) {
                return MachineInput::AuditFailed(e);
            }
            match client
                .disconnect_participant(&id, &participant_id, path)
                .await
            {
                Ok(correlation_id) => MachineInput::PatchAccepted(correlation_id),
                Err(e) => MachineInput::PatchFailed(e),
            }
        }));
    }

    /// A participant target: the channel opens once the first read has named its user or
    /// queue, beside the PATCH (never before it). Whatever happened before it opened is caught
    /// by a re-read if the machine is waiting on events.
    fn open_channel_once_known(&mut self) {
        if matches!(self.source, EventSource::Subscribe)
            && !self.subscribed
            && self.machine.target_leg().is_some()
        {
            self.subscribed = true;
            if let Some(topic) = topic_for(&self.machine) {
                let topics = vec![topic];
                self.opening = Some((open_channel(&self.client, topics.clone(), 0), topics, 0));
            }
        }
    }

    /// The next input for the machine (None: something happened the machine need not hear).
    // Each select branch's `if ….is_some()` guards the expect inside it.
    #[allow(clippy::expect_used)]
    async fn next_input(&mut self) -> Option<MachineInput> {
        let wake = self.machine.wake_at().map(|at| self.start + at);
        let deadline = self.deadline;
        let input = tokio::select! {
            // Cancel first: a cancelled job must not poll (and so send) a new request.
            biased;
            _ = self.stop.token.cancelled() => self.stop.input(),
            input = async { self.pending.as_mut().expect("guarded").await }, if self.pending.is_some() => {
                self.pending = None;
                input
            }
            live = async {
                match &mut self.source {
                    EventSource::Feed(rx) => rx.recv().await,
                    EventSource::Subscribe => std::future::pending().await,
                }
            }, if self.feed_open && matches!(self.source, EventSource::Feed(_)) => match live {
                Some(LiveInput::Conversation(c)) => MachineInput::Event(c),
                Some(LiveInput::Lost) => MachineInput::EventsLost,
                None => {
                    self.feed_open = false;
                    return None;
                }
            },
            opened = async { self.opening.as_mut().expect("guarded").0.as_mut().await }, if self.opening.is_some() => {
                return self.channel_opened(opened);
            }
            signal = async { self.subscription.as_mut().expect("guarded").events.recv().await }, if self.subscription.is_some() => match signal {
                Some(Signal::Conversation(c)) => MachineInput::Event(c),
                Some(Signal::Reconnected) => MachineInput::EventsLost,
                Some(Signal::Warning(w) | Signal::ChannelNotice(w)) => {
                    tracing::warn!("{w}");
                    return None;
                }
                Some(Signal::Dropped) => return None,
                None => {
                    self.subscription = None;
                    return None;
                }
            },
            _ = tokio::time::sleep_until(wake.unwrap_or(self.start).min(deadline)), if wake.is_some() => MachineInput::Timer,
        };
        Some(input)
    }

    /// The channel opened (the machine re-reads what it may have missed), or it is tried again
    /// in the background until the deadline; meanwhile the machine reads on its short schedule.
    fn channel_opened(
        &mut self,
        opened: Result<notifications::Listening, ApiError>,
    ) -> Option<MachineInput> {
        let (_, topics, tries) = self.opening.take()?;
        match opened {
            Ok(listening) => {
                self.subscription = Some(listening);
                Some(MachineInput::EventsLost)
            }
            Err(e) if e.is_retryable() && Instant::now() < self.deadline => {
                tracing::info!(error = %e, tries, "kick: the channel did not open; retrying");
                let next = open_channel(&self.client, topics.clone(), tries + 1);
                self.opening = Some((next, topics, tries + 1));
                None
            }
            Err(e) => {
                tracing::warn!("kick: no live events ({e}); the job reads instead");
                None
            }
        }
    }
}

/// Claims the call for this kick (`kick::claims`) until its deadline; Ok(None) without a claims
/// folder. When the claim cannot be made the kick still goes on (a broken state directory must
/// not stop a removal in a live call), judging its call alone: the reason is its first step.
fn take_claim(config: &MachineConfig, request: &KickRequest) -> Result<Option<Claim>, String> {
    let Some(dir) = config.claims_dir.as_deref() else {
        return Ok(None);
    };
    let who = match &request.wanted {
        Wanted::Participant(id) | Wanted::User(id) => id,
    };
    Claim::take(dir, &request.conversation_id, who, config.deadline)
        .map(Some)
        .map_err(|e| {
            tracing::warn!("cannot claim the call in {}: {e}", dir.display());
            format!("cannot claim the call in {} ({e})", dir.display())
        })
}

/// Other kicks' claims on the call count as leaving: refreshed before each input, so the
/// machine re-checks its safety rule with them right before each PATCH.
fn note_other_kicks(machine: &mut KickMachine, claim: Option<&Claim>, wanted: &Wanted) {
    let Some(claim) = claim else {
        return;
    };
    let mut own = vec![match wanted {
        Wanted::Participant(id) | Wanted::User(id) => id.as_str(),
    }];
    own.extend(machine.target());
    let others = claim.earlier_others(&own);
    machine.set_leaving(others);
}

/// A 429 seen by any user of the client (another job, the feed) holds this job back too: the
/// platform's limit is per token.
fn hold_for_rate_limit(machine: &mut KickMachine, client: &Client, start: Instant) {
    if let Some(until) = client.rate_limited_until() {
        machine.hold_until(until.saturating_duration_since(start));
    }
}

/// The topic that carries the target's call: its user's, else its queue's.
fn topic_for(machine: &KickMachine) -> Option<String> {
    let leg = machine.target_leg()?;
    leg.user_id()
        .map(notifications::user_topic)
        .or_else(|| leg.queue_id().map(notifications::queue_topic))
}

/// How long a finished job waits for its channel's subscriptions to be dropped.
const RELEASE_WAIT: Duration = Duration::from_secs(2);

/// Opens the job's channel (try number `tries`, after its backoff; a 429's wait as asked). The
/// job polls it beside its own requests, and drops it (unsent, or half set up) when it ends.
fn open_channel(client: &Client, topics: Vec<String>, tries: u32) -> Opening {
    let client = client.clone();
    Box::pin(async move {
        if tries > 0 {
            let mut wait = policy::CHANNEL_RETRY.delay(tries - 1, rand::random());
            if let Some(until) = client.rate_limited_until() {
                wait = wait.max(until.saturating_duration_since(Instant::now()));
            }
            tokio::time::sleep(wait).await;
        }
        notifications::listen(client, topics).await
    })
}

#[derive(Clone)]
struct AuditContext {
    log: Option<Arc<AuditLog>>,
    who: crate::platform::identity::Who,
    conversation_id: String,
    participant_id: Option<String>,
    name: Option<String>,
    purpose: Option<Purpose>,
    /// A line of this job's record could not be written (shared with the clone that audits
    /// each PATCH). The log's own flag is the session's: a console's later kick must not
    /// inherit an earlier one's loss.
    lost: Arc<std::sync::atomic::AtomicBool>,
}

impl AuditContext {
    /// A removal whose record lost a line after the 202 says so (the console's banner, its job
    /// view and `kick` show it): what happened on the platform, and that the record is short.
    fn note_if_incomplete(&self, outcome: &mut Outcome) {
        const NOTE: &str = "; the audit record is incomplete (a line could not be written)";
        if self.lost.load(Ordering::Relaxed) {
            outcome.audit_incomplete = true;
            if !outcome.message.ends_with(NOTE) {
                outcome.message.push_str(NOTE);
            }
        }
    }

    /// Writes and syncs one line; the error in words when it could not be.
    fn write(&self, entry: AuditEntry) -> Result<(), String> {
        let Some(log) = &self.log else {
            return Ok(());
        };
        // The `started` step names the participant itself: each key once per line.
        let started = matches!(
            &entry,
            AuditEntry::Progress {
                step: Step::Started { .. }
            }
        );
        let record = AuditRecord {
            at: Timestamp::now(),
            who: self.who.clone(),
            conversation_id: self.conversation_id.clone(),
            participant_id: self.participant_id.clone(),
            name: self.name.clone().filter(|_| !started),
            purpose: self.purpose.clone().filter(|_| !started),
            entry,
        };
        log.record(&record).map_err(|e| {
            self.lost.store(true, Ordering::Relaxed);
            tracing::error!("audit: {e:#}");
            format!("the audit record could not be written ({e:#})")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kick::OutcomeKind;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A loopback platform that answers every request 503 and counts them.
    async fn unavailable_platform() -> (Client, Arc<AtomicUsize>) {
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&hits);
        let app = axum::Router::new().fallback(move || async move {
            counter.fetch_add(1, Ordering::SeqCst);
            axum::http::StatusCode::SERVICE_UNAVAILABLE
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = crate::platform::fake::serve(listener, app);
        (client, hits)
    }

    #[tokio::test]
    async fn a_cancelled_job_sends_nothing_not_even_its_subscription() {
        let (client, hits) = unavailable_platform().await;
        let cancel = CancellationToken::new();
        cancel.cancel();
        let mut steps = Vec::new();
        let outcome = run(
            client,
            KickRequest {
                conversation_id: "c1".into(),
                wanted: Wanted::User("u1".into()),
                force: false,
            },
            MachineConfig::default(),
            EventSource::Subscribe,
            cancel,
            None,
            Arc::default(),
            |p| steps.push(p.step),
        )
        .await;
        assert_eq!(outcome.outcome, OutcomeKind::Cancelled);
        assert_eq!(hits.load(Ordering::SeqCst), 0, "requests sent after cancel");
        assert!(matches!(steps.last(), Some(Step::Finished(_))));
    }
}
