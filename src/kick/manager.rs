//! Kick jobs by target: one job per target (a second request joins it), each cancellable, each
//! fed the live events of its call.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use super::driver::{self, EventSource, KickOptions, KickRequest, LiveInput, Stop};
use super::lock::LockHistory;
use super::machine::Wanted;
use super::{Outcome, OutcomeKind, Progress, Step, Target};
use crate::kick::audit::AuditLog;
use crate::platform::Client;
use crate::wire::CallConversation;

#[derive(Clone)]
pub struct KickManager {
    inner: Arc<ManagerState>,
}

/// What every clone of the manager shares.
struct ManagerState {
    client: Client,
    options: KickOptions,
    progress: mpsc::UnboundedSender<Progress>,
    /// True: jobs subscribe to their own events (no caller feed).
    standalone: bool,
    audit: Option<Arc<AuditLog>>,
    /// Why the audit file could not be opened: then every kick is refused (fail closed).
    audit_error: Option<String>,
    /// The transition lock as this session met it, each job learning from the others (and from
    /// earlier runs when `options.lock_history` names a file).
    locks: Arc<Mutex<LockHistory>>,
    jobs: Mutex<HashMap<Target, JobHandle>>,
}

/// A running job, as the manager holds it: to cancel it and to pass it live events.
struct JobHandle {
    id: u64,
    stop: Stop,
    events: mpsc::UnboundedSender<LiveInput>,
}

impl KickManager {
    /// Jobs hear live events through `on_conversation` from a feed the caller already has
    /// (the console's watch).
    pub fn new(
        client: Client,
        options: KickOptions,
        progress: mpsc::UnboundedSender<Progress>,
    ) -> KickManager {
        let audit = options.open_audit().map(|log| log.map(Arc::new));
        Self::build(client, options, progress, false, audit)
    }

    /// Without a feed: each job subscribes to its target user's (or its queue's) topic itself.
    pub fn standalone(
        client: Client,
        options: KickOptions,
        progress: mpsc::UnboundedSender<Progress>,
    ) -> KickManager {
        let audit = options.open_audit().map(|log| log.map(Arc::new));
        Self::build(client, options, progress, true, audit)
    }

    /// `confwatch kick`: standalone, with the audit file the command opened (and checked).
    pub(crate) fn for_command(
        client: Client,
        options: KickOptions,
        audit: Option<Arc<AuditLog>>,
        progress: mpsc::UnboundedSender<Progress>,
    ) -> KickManager {
        Self::build(client, options, progress, true, Ok(audit))
    }

    fn build(
        client: Client,
        options: KickOptions,
        progress: mpsc::UnboundedSender<Progress>,
        standalone: bool,
        audit: color_eyre::Result<Option<Arc<AuditLog>>>,
    ) -> KickManager {
        let (audit, audit_error) = match audit {
            Ok(log) => (log, None),
            Err(e) => {
                tracing::error!("kicks are refused: the audit file cannot be opened: {e:#}");
                (None, Some(format!("{e:#}")))
            }
        };
        let locks = options
            .lock_history
            .as_deref()
            .map(LockHistory::load)
            .unwrap_or_default();
        KickManager {
            inner: Arc::new(ManagerState {
                client,
                options,
                progress,
                standalone,
                audit,
                audit_error,
                locks: Arc::new(Mutex::new(locks)),
                jobs: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The audit file in use, if it could be opened.
    pub(crate) fn audit_path(&self) -> Option<&std::path::Path> {
        self.inner.audit.as_deref().map(AuditLog::path)
    }

    /// Why the audit file could not be opened (then every kick is refused).
    pub(crate) fn audit_error(&self) -> Option<&str> {
        self.inner.audit_error.as_deref()
    }

    /// Kicks run without a record, by the supervisor's choice (`--no-audit`).
    pub(crate) fn audit_off(&self) -> bool {
        self.inner.options.no_audit
    }

    /// Starts a job, or joins the running one for the same target (returns false then; a
    /// `Started { joined: true }` is reported).
    pub fn start(&self, target: Target, force: bool) -> bool {
        self.start_request(
            KickRequest {
                conversation_id: target.conversation_id.clone(),
                wanted: Wanted::Participant(target.participant_id.clone()),
                force,
            },
            target,
        )
    }

    /// Like `start`, for any request (a user target is keyed by the user id until resolved).
    pub(crate) fn start_request(&self, request: KickRequest, key: Target) -> bool {
        if let Some(error) = &self.inner.audit_error {
            // The audit fails closed: no record, no kick.
            let _ = self.inner.progress.send(Progress {
                target: key,
                at_ms: 0,
                step: Step::Finished(Outcome {
                    outcome: OutcomeKind::Failed,
                    attempts: 0,
                    requests: 0,
                    elapsed_ms: 0,
                    message: format!(
                        "not started: the audit file cannot be opened ({error}); nothing was sent"
                    ),
                    status: None,
                    audit_incomplete: false,
                }),
            });
            return false;
        }
        let Ok(mut jobs) = self.inner.jobs.lock() else {
            return false;
        };
        // A cancelled job is winding down: a new press starts afresh rather than joining it (its
        // end will not remove the new job: the ids differ).
        if jobs.get(&key).is_some_and(|job| !job.stop.is_cancelled()) {
            let _ = self.inner.progress.send(Progress {
                target: key,
                at_ms: 0,
                step: Step::Started {
                    name: None,
                    purpose: None,
                    joined: true,
                },
            });
            return false;
        }
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let stop = Stop::new();
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        jobs.insert(
            key.clone(),
            JobHandle {
                id,
                stop: stop.clone(),
                events: events_tx,
            },
        );
        drop(jobs);
        let inner = Arc::clone(&self.inner);
        let source = if inner.standalone {
            EventSource::Subscribe
        } else {
            EventSource::Feed(events_rx)
        };
        tokio::spawn(async move {
            let progress = inner.progress.clone();
            let before = inner.locks.lock().map(|h| h.clone()).unwrap_or_default();
            let config = inner.options.machine_config(request.force);
            let (locks, lock_file) = (Arc::clone(&inner.locks), inner.options.lock_history.clone());
            driver::run(
                inner.client.clone(),
                request,
                config,
                source,
                stop,
                inner.audit.clone(),
                Arc::clone(&inner.locks),
                move |p| {
                    // What the job learned is on disk before its outcome is told.
                    if matches!(p.step, Step::Finished(_))
                        && let Some(path) = &lock_file
                        && let Ok(history) = locks.lock()
                    {
                        history.save_if_changed(&before, path);
                    }
                    let _ = progress.send(p);
                },
            )
            .await;
            if let Ok(mut jobs) = inner.jobs.lock()
                && jobs.get(&key).is_some_and(|job| job.id == id)
            {
                jobs.remove(&key);
            }
        });
        true
    }

    pub fn cancel(&self, target: &Target) {
        if let Ok(jobs) = self.inner.jobs.lock()
            && let Some(job) = jobs.get(target)
        {
            job.stop.cancel();
        }
    }

    /// Ends every running job `interrupted by {signal}` (the console is quitting); returns how
    /// many there were.
    pub(crate) fn interrupt_all(&self, signal: &str) -> usize {
        let Ok(jobs) = self.inner.jobs.lock() else {
            return 0;
        };
        jobs.values().for_each(|job| job.stop.interrupt(signal));
        jobs.len()
    }

    /// Waits until every job has ended (its outcome told and audited), at most `within`;
    /// true if they all did.
    pub(crate) async fn wait_idle(&self, within: std::time::Duration) -> bool {
        let until = tokio::time::Instant::now() + within;
        loop {
            let idle = self.inner.jobs.lock().map(|j| j.is_empty()).unwrap_or(true);
            if idle || tokio::time::Instant::now() >= until {
                return idle;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Whether a job for `target` is running.
    #[cfg(test)]
    pub(crate) fn is_running(&self, target: &Target) -> bool {
        self.inner
            .jobs
            .lock()
            .map(|jobs| jobs.contains_key(target))
            .unwrap_or(false)
    }

    /// Live events from a feed the caller already has: wakes jobs waiting on that call.
    pub fn on_conversation(&self, conversation: &CallConversation) {
        let Ok(jobs) = self.inner.jobs.lock() else {
            return;
        };
        for (target, job) in jobs.iter() {
            if target.conversation_id == conversation.id {
                let _ = job
                    .events
                    .send(LiveInput::Conversation(conversation.clone()));
            }
        }
    }

    /// The caller's feed reconnected (events may be lost): jobs re-read.
    pub(crate) fn on_events_lost(&self) {
        if let Ok(jobs) = self.inner.jobs.lock() {
            for job in jobs.values() {
                let _ = job.events.send(LiveInput::Lost);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::connection::{ConnectionConfig, Credentials};

    fn manager() -> (KickManager, mpsc::UnboundedReceiver<Progress>) {
        // Never contacted: on a current-thread runtime the spawned jobs do not run before the
        // test's assertions (it never awaits).
        let client = Client::new(ConnectionConfig {
            api_base: "http://127.0.0.1:1".into(),
            login_base: "http://127.0.0.1:1".into(),
            credentials: Credentials::AccessToken("t".into()),
            warnings: Vec::new(),
            max_answer_bytes: None,
        })
        .unwrap();
        let audit = std::env::temp_dir().join(format!(
            "confwatch-manager-test-{}-{}.jsonl",
            std::process::id(),
            uuid::Uuid::new_v4()
        ));
        let options = KickOptions {
            audit_log: Some(audit),
            ..KickOptions::default()
        };
        let (tx, rx) = mpsc::unbounded_channel();
        (KickManager::new(client, options, tx), rx)
    }

    fn target() -> Target {
        Target {
            conversation_id: "c1".into(),
            participant_id: "p1".into(),
        }
    }

    #[tokio::test]
    async fn a_second_press_joins_the_running_job() {
        let (manager, mut progress) = manager();
        assert!(manager.start(target(), false));
        assert!(!manager.start(target(), false), "joined, not a second job");
        let joined = progress.try_recv().unwrap();
        assert!(matches!(joined.step, Step::Started { joined: true, .. }));
    }

    #[tokio::test]
    async fn a_press_after_cancel_starts_a_new_job_instead_of_joining_the_cancelled_one() {
        let (manager, mut progress) = manager();
        assert!(manager.start(target(), false));
        manager.cancel(&target());
        // The cancelled job has not wound down yet; a new press must not be swallowed by it.
        assert!(
            manager.start(target(), false),
            "the new kick joined a cancelled job and would never run"
        );
        assert!(manager.is_running(&target()));
        assert!(progress.try_recv().is_err(), "no 'joined' report");
    }
}
