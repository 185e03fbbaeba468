//! `confwatch list` and `confwatch kick` (sign-in commands in `signin`).

pub(crate) mod signin;

pub use signin::{LoginArgs, ProfileArgs, login, logout, sign_in, whoami};

use std::io::Write;
use std::time::Duration;

use color_eyre::eyre::{Result, eyre};
use tokio::sync::mpsc;

use crate::config::{ConnectionArgs, KickFlags, Settings};
use crate::feed::{QueueSelection, read_active_calls, select_queues};
use crate::kick::driver::{KickOptions, KickRequest};
use crate::kick::machine::Wanted;
use crate::kick::policy;
use crate::kick::{KickManager, Outcome, OutcomeKind, Progress, Step, Target};
use crate::live::{LiveModel, Update};
use crate::platform::Client;
use crate::platform::connection::ConnectionConfig;
use crate::platform::conversations::check_id;
use crate::platform::retry::with_retry;

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub(crate) connection: ConnectionArgs,
    /// Only these queues (name or id); repeat for several. Default: every queue.
    #[arg(long = "queue", value_name = "NAME|ID")]
    pub(crate) queues: Vec<String>,
    /// One JSON document on stdout instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("who").required(true).args(["participant", "user"])))]
pub struct KickArgs {
    #[command(flatten)]
    pub(crate) connection: ConnectionArgs,
    /// The conversation (call) id.
    #[arg(long, value_name = "ID")]
    pub(crate) conversation: String,
    /// The participant to remove.
    #[arg(long, value_name = "ID")]
    pub(crate) participant: Option<String>,
    /// The user to remove (their live leg, if they appear more than once).
    #[arg(long, value_name = "ID")]
    pub(crate) user: Option<String>,
    /// Remove even a customer/external party or the last other party (ending the call).
    #[arg(long)]
    pub(crate) force: bool,
    /// How long to wait for the leg to settle (e.g. 30s, 500ms, 2m).
    #[arg(long, value_name = "DUR", default_value = policy::WAIT_TIMEOUT_ARG, value_parser = parse_duration)]
    pub(crate) wait_timeout: Duration,
    /// Give up after this many removal attempts (at least 1).
    #[arg(long, value_name = "N", default_value_t = policy::MAX_ATTEMPTS, value_parser = parse_attempts)]
    pub(crate) max_attempts: u32,
    /// Give up after this long in all.
    #[arg(long, value_name = "DUR", default_value = policy::DEADLINE_ARG, value_parser = parse_duration)]
    pub(crate) deadline: Duration,
    #[command(flatten)]
    pub(crate) kick: KickFlags,
    /// JSON lines on stdout (one per progress event, the last one the outcome).
    #[arg(long)]
    pub(crate) json: bool,
}

/// Exit codes of `confwatch kick`.
pub(crate) mod exit {
    pub(crate) const OK: i32 = 0;
    pub(crate) const OTHER: i32 = 1;
    pub(crate) const REFUSED: i32 = 2;
    pub(crate) const TIMED_OUT: i32 = 3;
    pub(crate) const NOT_PERMITTED: i32 = 4;
    /// A removal was sent but not seen done: it may have happened.
    pub(crate) const UNKNOWN: i32 = 5;
    /// The audit record could not be opened or written.
    pub(crate) const AUDIT: i32 = 6;
    /// Removed (the platform accepted it and it was seen done), but an audit line after the
    /// 202 could not be written: the record is incomplete.
    pub(crate) const AUDIT_INCOMPLETE: i32 = 7;
    // Interrupted by a signal: 128 + its number (`kick::progress::interrupted_exit_code`).
}

/// `30s`, `500ms`, `2m`, or plain seconds.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (e.g. 30s, 500ms, 2m)"))?;
    let secs = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        _ => return Err(format!("{text:?}: unknown unit {unit:?} (use ms, s or m)")),
    };
    Duration::try_from_secs_f64(secs).map_err(|e| format!("{text:?}: {e}"))
}

/// `--max-attempts`: zero would give up before sending anything.
pub(crate) fn parse_attempts(text: &str) -> Result<u32, String> {
    match text.trim().parse::<u32>() {
        Ok(0) => Err("0 would give up before trying: use at least 1 attempt".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!(
            "{:?} is not a number of attempts (e.g. 8)",
            crate::text::clip(text, 40)
        )),
    }
}

fn connect_with_profile(
    args: &ConnectionArgs,
    settings: &Settings,
) -> Result<(Client, crate::config::ProfileUse)> {
    let (config, profile) =
        ConnectionConfig::from_args_with_profile(args, settings)?.ok_or_else(|| {
        eyre!(
            "no credentials: set GENESYSCLOUD_OAUTHCLIENT_ID and GENESYSCLOUD_OAUTHCLIENT_SECRET \
             (and GENESYSCLOUD_REGION), or use --base-url with the mock's credentials"
        )
    })?;
    for warning in &config.warnings {
        eprintln!("confwatch: warning: {warning}");
    }
    Ok((Client::new(config)?, profile))
}

/// Runs `confwatch list`; returns the process exit code.
pub async fn list(args: ListArgs) -> Result<i32> {
    let settings = Settings::load(&args.connection)?;
    let (client, profile) = connect_with_profile(&args.connection, &settings)?;
    // `list` only reads: it leaves the kicks' share of the budget alone.
    let client = client.for_reads();
    let all = with_retry(|| client.queues()).await?;
    let selection = QueueSelection::given_or_profile(&args.queues, profile.queues);
    let queues = select_queues(&all, &selection).map_err(|e| eyre!(e))?;
    let queue_ids: Vec<String> = queues.iter().map(|q| q.id.clone()).collect();
    // The analytics query's pages alone: no GET per call.
    let calls = read_active_calls(&client, &queue_ids).await?;
    let now = chrono::Utc::now();
    let mut model = LiveModel::new();
    model.apply(Update::Queues(queues), now);
    model.apply(Update::ResyncPage(calls), now);
    let mut conferences = model.conferences();
    conferences
        .sort_by(|a, b| (a.started, &a.conversation_id).cmp(&(b.started, &b.conversation_id)));

    let text = render_list(&model, &conferences, now, args.json)?;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        // `confwatch list | head` closes the pipe early: not an error.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(exit::OK),
    }
}

fn render_list(
    model: &LiveModel,
    conferences: &[crate::live::ConferenceRow],
    now: chrono::DateTime<chrono::Utc>,
    json: bool,
) -> Result<String> {
    use std::fmt::Write as _;
    let mut out = String::new();
    if json {
        let doc: Vec<serde_json::Value> = conferences
            .iter()
            .map(|c| {
                let participants: Vec<serde_json::Value> = model
                    .participants(&c.conversation_id, now)
                    .into_iter()
                    .map(|p| {
                        serde_json::json!({
                            "participantId": p.participant_id,
                            "name": p.name,
                            "purpose": p.purpose,
                            "state": p.state.as_str(),
                            "held": p.held,
                            "muted": p.muted,
                            "userId": p.user_id,
                            "inStateMs": p.in_state_ms,
                        })
                    })
                    .collect();
                serde_json::json!({
                    "conversationId": c.conversation_id,
                    "queueId": c.queue_id,
                    "queue": c.queue_name,
                    "customer": c.customer,
                    "liveParties": c.live_parties,
                    "startedAt": c.started.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
                    "participants": participants,
                })
            })
            .collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        return Ok(out);
    }
    if conferences.is_empty() {
        writeln!(out, "no active conferences")?;
        return Ok(out);
    }
    // Every field came from the platform: cleaned of control bytes before it reaches the terminal.
    let clean = |text: &str| crate::text::clean(text).into_owned();
    for c in conferences {
        let age = c
            .started
            .map(|t| crate::text::age((now - t).num_milliseconds().max(0) as u64))
            .unwrap_or_else(|| "-".into());
        writeln!(
            out,
            "{}  queue {}  customer {}  {} live  age {}",
            clean(&c.conversation_id),
            clean(
                c.queue_name
                    .as_deref()
                    .or(c.queue_id.as_deref())
                    .unwrap_or("-")
            ),
            clean(c.customer.as_deref().unwrap_or("-")),
            c.live_parties,
            age
        )?;
        for p in model.participants(&c.conversation_id, now) {
            let mut flags = Vec::new();
            if p.held {
                flags.push("held");
            }
            if p.muted {
                flags.push("muted");
            }
            let line = format!(
                "  {}  {} {:<9} {:<12} {:<6} {:<5}{}",
                clean(&p.participant_id),
                crate::text::pad(&crate::text::truncate(&p.name, 20), 20),
                clean(&p.purpose),
                p.state.as_str(),
                crate::text::age(p.in_state_ms),
                flags.join(","),
                p.user_id
                    .map(|u| format!("  user {}", clean(&u)))
                    .unwrap_or_default(),
            );
            writeln!(out, "{}", line.trim_end())?;
        }
    }
    Ok(out)
}

/// The exit code for an outcome: 0 removed or already gone, 2 refused, 3 timed out,
/// 4 not permitted, 5 unknown (the removal may have happened), 1 anything else (an interrupt's
/// code is the signal's, set by the caller).
pub(crate) fn exit_code(outcome: &Outcome) -> i32 {
    match outcome.outcome {
        OutcomeKind::Removed | OutcomeKind::AlreadyGone => exit::OK,
        OutcomeKind::Refused => exit::REFUSED,
        OutcomeKind::TimedOut => exit::TIMED_OUT,
        OutcomeKind::Unknown => exit::UNKNOWN,
        OutcomeKind::Failed if outcome.status == Some(403) => exit::NOT_PERMITTED,
        OutcomeKind::Failed | OutcomeKind::Cancelled | OutcomeKind::Interrupted => exit::OTHER,
    }
}

/// Runs `confwatch kick`; returns the process exit code.
pub async fn kick(args: KickArgs) -> Result<i32> {
    let json = args.json;
    let (code, outcome) = match run_kick(args).await {
        Ok(done) => done,
        Err(report) if json => {
            tracing::error!("{report:?}");
            eprintln!("confwatch: {}", crate::text::clean(&format!("{report:#}")));
            (exit::OTHER, not_started(format!("{report:#}"), None))
        }
        Err(report) => return Err(report),
    };
    if json {
        write_line(&mut std::io::stdout(), &serde_json::to_string(&outcome)?);
    }
    Ok(code)
}

/// The outcome of a kick that ended before its job began: nothing was sent.
fn not_started(message: String, status: Option<u16>) -> Outcome {
    Outcome {
        outcome: OutcomeKind::Failed,
        attempts: 0,
        requests: 0,
        elapsed_ms: 0,
        message,
        status,
        audit_incomplete: false,
    }
}

/// The kick itself: its exit code and outcome.
async fn run_kick(args: KickArgs) -> Result<(i32, Outcome)> {
    // Bad ids are caught before anything is sent.
    let checks = [
        Some(("conversation", &args.conversation)),
        args.participant.as_ref().map(|p| ("participant", p)),
        args.user.as_ref().map(|u| ("user", u)),
    ];
    for (what, id) in checks.into_iter().flatten() {
        if let Err(message) = check_id(what, id) {
            eprintln!("confwatch: {message}");
            return Ok((exit::OTHER, not_started(message, None)));
        }
    }
    let wanted = match (&args.participant, &args.user) {
        (Some(p), _) => Wanted::Participant(p.clone()),
        (None, Some(u)) => Wanted::User(u.clone()),
        (None, None) => return Err(eyre!("--participant or --user is required")),
    };
    // The config file is read once, for the connection and the `[kick]` section.
    let settings = Settings::load(&args.connection)?;
    let (client, _) = connect_with_profile(&args.connection, &settings)?;
    // A signed-in user whose roles cannot disconnect: refused here, before any PATCH (a
    // person's own token in GENESYSCLOUD_ACCESS_TOKEN too).
    crate::platform::users::learn_token_owner(&client).await;
    if let Some(identity) = client.identity()
        && !identity.may_disconnect()
    {
        let message = format!(
            "{} may not remove participants: their roles lack {} (ask an admin for a role with it)",
            identity.label(),
            crate::platform::identity::DISCONNECT
        );
        eprintln!("confwatch: {}", crate::text::clean(&message));
        return Ok((exit::NOT_PERMITTED, not_started(message, Some(403))));
    }
    let options = KickOptions {
        wait_timeout: args.wait_timeout,
        max_attempts: args.max_attempts,
        deadline: args.deadline,
        ..KickOptions::from_flags(&args.kick, &settings)
    };
    // The audit fails closed: without a record, nothing is sent.
    let audit = match options.open_audit() {
        Ok(Some(log)) => Some(std::sync::Arc::new(log)),
        Ok(None) => {
            eprintln!("confwatch: --no-audit: this kick is not recorded in the audit file");
            None
        }
        Err(e) => {
            let message = format!(
                "the audit record cannot be kept ({e:#}); nothing was sent. \
                 Fix the path or its permissions, or choose --no-audit."
            );
            eprintln!("confwatch: {message}");
            return Ok((exit::AUDIT, not_started(message, None)));
        }
    };
    let json = args.json;
    // The console's manager, standalone: it subscribes for the job, keeps what it learns about
    // the lock in the history file (before the outcome is told) and audits every step.
    let (tx, mut rx) = mpsc::unbounded_channel::<Progress>();
    let manager = KickManager::for_command(client, options, audit.clone(), tx);
    let key = Target {
        conversation_id: args.conversation.clone(),
        participant_id: match &wanted {
            Wanted::Participant(id) | Wanted::User(id) => id.clone(),
        },
    };
    let request = KickRequest {
        conversation_id: args.conversation.clone(),
        wanted,
        force: args.force,
    };
    manager.start_request(request, key);
    let signal_code = std::sync::Arc::new(std::sync::atomic::AtomicI32::new(0));
    spawn_signal_watch(manager.clone(), std::sync::Arc::clone(&signal_code))?;
    let mut finished = None;
    while let Some(progress) = rx.recv().await {
        print_progress(&progress, json);
        // The readable line is on stderr already; with --json, stdout carries the step and
        // stderr says it as other warnings are said.
        if let (true, Step::Unprotected { reason }) = (json, &progress.step) {
            let words = crate::kick::progress::unprotected_words(reason);
            eprintln!("confwatch: warning: {}", crate::text::clean(&words));
        }
        if let Step::Finished(outcome) = progress.step {
            finished = Some(outcome);
            break;
        }
    }
    let outcome = finished.ok_or_else(|| eyre!("the kick ended without an outcome"))?;
    let code = match signal_code.load(std::sync::atomic::Ordering::SeqCst) {
        0 => exit_code(&outcome),
        signal if outcome.outcome == OutcomeKind::Interrupted => signal,
        _ => exit_code(&outcome),
    };
    if audit.as_ref().is_some_and(|a| a.failed()) {
        if outcome.outcome == OutcomeKind::Removed {
            // The platform's fact is told as it is; the missing line is the record's problem.
            eprintln!(
                "confwatch: removed on the platform, but the audit record is incomplete: a line could not be written (the log file says why)"
            );
            return Ok((exit::AUDIT_INCOMPLETE, outcome));
        }
        eprintln!(
            "confwatch: the audit record could not be written in full (the log file says why)"
        );
        // The outcome's own code when it says more than "failed" (timed out, unknown, ...).
        let code = if matches!(code, exit::OK | exit::OTHER) {
            exit::AUDIT
        } else {
            code
        };
        return Ok((code, outcome));
    }
    Ok((code, outcome))
}

/// SIGINT, SIGTERM and SIGHUP end a running kick `interrupted` (audited), and the process
/// with the signal's conventional code (128 + its number).
fn spawn_signal_watch(
    manager: KickManager,
    code: std::sync::Arc<std::sync::atomic::AtomicI32>,
) -> Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut hup = signal(SignalKind::hangup())?;
    tokio::spawn(async move {
        let name = tokio::select! {
            _ = int.recv() => "SIGINT",
            _ = term.recv() => "SIGTERM",
            _ = hup.recv() => "SIGHUP",
        };
        let exit_code = crate::kick::progress::interrupted_exit_code(name);
        code.store(exit_code, std::sync::atomic::Ordering::SeqCst);
        manager.interrupt_all(name);
    });
    Ok(())
}

fn print_progress(progress: &Progress, json: bool) {
    if json {
        if let Ok(line) = serde_json::to_string(progress) {
            write_line(&mut std::io::stdout(), &line);
        }
    } else {
        // Names, codes and messages in a step came from the platform.
        let line = format!(
            "{:>6.2}s  {}",
            progress.at_ms as f64 / 1000.0,
            crate::text::clean(&crate::kick::progress::describe_step(&progress.step))
        );
        write_line(&mut std::io::stderr(), &line);
    }
}

/// One line of output. A reader that went away (`| head -1`) is not the kick's failure:
/// unlike `println!`, this does not panic, and the kick ends with its own exit code.
fn write_line(out: &mut impl Write, line: &str) {
    let _ = writeln!(out, "{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        // The flags' defaults spell the policy's numbers.
        assert_eq!(
            parse_duration(policy::WAIT_TIMEOUT_ARG).unwrap(),
            policy::WAIT_TIMEOUT
        );
        assert_eq!(
            parse_duration(policy::DEADLINE_ARG).unwrap(),
            policy::DEADLINE
        );
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("5").unwrap(), Duration::from_secs(5));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5h").is_err());
    }

    #[test]
    fn exit_codes_follow_the_outcome() {
        let outcome = |kind, status| Outcome {
            outcome: kind,
            attempts: 0,
            requests: 0,
            elapsed_ms: 0,
            message: String::new(),
            status,
            audit_incomplete: false,
        };
        assert_eq!(exit_code(&outcome(OutcomeKind::Removed, None)), 0);
        assert_eq!(exit_code(&outcome(OutcomeKind::AlreadyGone, None)), 0);
        assert_eq!(exit_code(&outcome(OutcomeKind::Refused, None)), 2);
        assert_eq!(exit_code(&outcome(OutcomeKind::TimedOut, None)), 3);
        assert_eq!(exit_code(&outcome(OutcomeKind::Failed, Some(403))), 4);
        assert_eq!(exit_code(&outcome(OutcomeKind::Failed, Some(404))), 1);
    }
}
