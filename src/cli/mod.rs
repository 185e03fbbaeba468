//! `confwatch list` and `confwatch kick`.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use color_eyre::eyre::{Result, eyre};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::{ConnectionArgs, ConnectionConfig};
use crate::kick::driver::{self, EventSource, KickOptions, KickRequest};
use crate::kick::machine::Wanted;
use crate::kick::{Outcome, OutcomeKind, Progress, Step};
use crate::live::{LiveModel, Update};
use crate::platform::Client;
use crate::platform::conversations::check_id;
use crate::platform::watch::{QueueSelection, read_active_calls, select_queues, with_retry};

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Only these queues (name or id); repeat for several. Default: every queue.
    #[arg(long = "queue", value_name = "NAME|ID")]
    pub queues: Vec<String>,
    /// One JSON document on stdout instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("who").required(true).args(["participant", "user"])))]
pub struct KickArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// The conversation (call) id.
    #[arg(long, value_name = "ID")]
    pub conversation: String,
    /// The participant to remove.
    #[arg(long, value_name = "ID")]
    pub participant: Option<String>,
    /// The user to remove (their live leg, if they appear more than once).
    #[arg(long, value_name = "ID")]
    pub user: Option<String>,
    /// Remove even a customer/external party or the last other party (ending the call).
    #[arg(long)]
    pub force: bool,
    /// How long to wait for the leg to settle (e.g. 30s, 500ms, 2m).
    #[arg(long, value_name = "DUR", default_value = "30s", value_parser = parse_duration)]
    pub wait_timeout: Duration,
    /// Give up after this many removal attempts.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub max_attempts: u32,
    /// Give up after this long in all.
    #[arg(long, value_name = "DUR", default_value = "60s", value_parser = parse_duration)]
    pub deadline: Duration,
    /// Audit file [default: confwatch/audit.jsonl in the user's data directory].
    #[arg(long, value_name = "PATH")]
    pub audit_log: Option<PathBuf>,
    /// JSON lines on stdout (one per progress event, the last one the outcome).
    #[arg(long)]
    pub json: bool,
}

/// Exit codes of `confwatch kick`.
pub mod exit {
    pub const OK: i32 = 0;
    pub const OTHER: i32 = 1;
    pub const REFUSED: i32 = 2;
    pub const TIMED_OUT: i32 = 3;
    pub const NOT_PERMITTED: i32 = 4;
}

/// `30s`, `500ms`, `2m`, or plain seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
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

fn connect(args: &ConnectionArgs) -> Result<Client> {
    let config = ConnectionConfig::from_args(args)?.ok_or_else(|| {
        eyre!(
            "no credentials: set GENESYSCLOUD_OAUTHCLIENT_ID and GENESYSCLOUD_OAUTHCLIENT_SECRET \
             (and GENESYSCLOUD_REGION), or use --base-url with the mock's credentials"
        )
    })?;
    for warning in &config.warnings {
        eprintln!("confwatch: warning: {warning}");
    }
    Client::new(config)
}

/// Runs `confwatch list`; returns the process exit code.
pub async fn list(args: ListArgs) -> Result<i32> {
    // `list` only reads: it leaves the kicks' share of the budget alone.
    let client = connect(&args.connection)?.for_reads();
    let all = with_retry(|| client.queues()).await?;
    let selection = if args.queues.is_empty() {
        QueueSelection::All
    } else {
        QueueSelection::Named(args.queues.clone())
    };
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
    for c in conferences {
        let age = c
            .started
            .map(|t| format_age((now - t).num_seconds().max(0) as u64))
            .unwrap_or_else(|| "-".into());
        writeln!(
            out,
            "{}  queue {}  customer {}  {} live  age {}",
            c.conversation_id,
            c.queue_name
                .as_deref()
                .or(c.queue_id.as_deref())
                .unwrap_or("-"),
            c.customer.as_deref().unwrap_or("-"),
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
                "  {}  {:<20} {:<9} {:<12} {:<6} {:<5}{}",
                p.participant_id,
                truncate(&p.name, 20),
                p.purpose,
                p.state.as_str(),
                format_age(p.in_state_ms / 1000),
                flags.join(","),
                p.user_id.map(|u| format!("  user {u}")).unwrap_or_default(),
            );
            writeln!(out, "{}", line.trim_end())?;
        }
    }
    Ok(out)
}

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_string()
    } else {
        let mut t: String = text.chars().take(width - 1).collect();
        t.push('…');
        t
    }
}

fn format_age(secs: u64) -> String {
    if secs >= 3600 {
        format!("{}h{:02}m", secs / 3600, secs % 3600 / 60)
    } else {
        format!("{}m{:02}s", secs / 60, secs % 60)
    }
}

/// The exit code for an outcome: 0 removed or already gone, 2 refused, 3 timed out,
/// 4 not permitted, 1 anything else.
pub fn exit_code(outcome: &Outcome) -> i32 {
    match outcome.outcome {
        OutcomeKind::Removed | OutcomeKind::AlreadyGone => exit::OK,
        OutcomeKind::Refused => exit::REFUSED,
        OutcomeKind::TimedOut => exit::TIMED_OUT,
        OutcomeKind::Failed if outcome.status == Some(403) => exit::NOT_PERMITTED,
        OutcomeKind::Failed | OutcomeKind::Cancelled => exit::OTHER,
    }
}

/// One progress step as a readable line.
pub fn describe_step(step: &Step) -> String {
    match step {
        Step::Started {
            name,
            purpose,
            joined,
        } => format!(
            "{} {} ({})",
            if *joined {
                "joined the kick of"
            } else {
                "target:"
            },
            name.as_deref().unwrap_or("unnamed participant"),
            purpose.as_deref().unwrap_or("no purpose")
        ),
        Step::Waiting { state } => format!("waiting: leg {state}, removing once it settles"),
        Step::Attempt { number } => format!("attempt {number}: PATCH state=disconnected"),
        Step::Answer {
            number,
            status,
            code,
            message,
        } => {
            let mut line = format!("attempt {number}: {status}");
            if let Some(code) = code {
                line.push_str(&format!(" {code}"));
            }
            if let Some(message) = message {
                line.push_str(&format!(" ({message})"));
            }
            line
        }
        Step::Backoff { delay_ms, reason } => format!("backing off {delay_ms} ms: {reason}"),
        Step::RateLimited { retry_after_ms } => format!(
            "rate limited: nothing sent for {:.1} s (Retry-After)",
            *retry_after_ms as f64 / 1000.0
        ),
        Step::Verifying => "accepted; verifying the leg is gone and the others stay".into(),
        Step::Finished(o) => format!(
            "{}: {} ({} attempts, {} requests, {:.1} s)",
            o.outcome,
            o.message,
            o.attempts,
            o.requests,
            o.elapsed_ms as f64 / 1000.0
        ),
    }
}

/// Runs `confwatch kick`; returns the process exit code.
pub async fn kick(args: KickArgs) -> Result<i32> {
    // Bad ids are caught before anything is sent.
    let checks = [
        Some(("conversation", &args.conversation)),
        args.participant.as_ref().map(|p| ("participant", p)),
        args.user.as_ref().map(|u| ("user", u)),
    ];
    for (what, id) in checks.into_iter().flatten() {
        if let Err(message) = check_id(what, id) {
            eprintln!("confwatch: {message}");
            return Ok(exit::OTHER);
        }
    }
    let wanted = match (&args.participant, &args.user) {
        (Some(p), _) => Wanted::Participant(p.clone()),
        (None, Some(u)) => Wanted::User(u.clone()),
        (None, None) => return Err(eyre!("--participant or --user is required")),
    };
    let client = connect(&args.connection)?;
    let options = KickOptions {
        wait_timeout: args.wait_timeout,
        max_attempts: args.max_attempts,
        deadline: args.deadline,
        audit_log: args.audit_log.clone(),
    };
    let audit = match options.open_audit() {
        Ok(log) => Some(std::sync::Arc::new(log)),
        Err(e) => {
            eprintln!("confwatch: warning: the kick will not be audited: {e:#}");
            None
        }
    };
    let cancel = CancellationToken::new();
    let on_ctrl_c = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_ctrl_c.cancel();
        }
    });
    let (tx, mut rx) = mpsc::unbounded_channel::<Progress>();
    let json = args.json;
    let printer = tokio::spawn(async move {
        while let Some(progress) = rx.recv().await {
            print_progress(&progress, json);
        }
    });
    let request = KickRequest {
        conversation_id: args.conversation.clone(),
        wanted,
        force: args.force,
    };
    let outcome = driver::run(
        client,
        request,
        options.machine_config(args.force),
        EventSource::Subscribe,
        cancel,
        audit,
        move |p| {
            let _ = tx.send(p);
        },
    )
    .await;
    let _ = printer.await;
    if json {
        write_line(&mut std::io::stdout(), &serde_json::to_string(&outcome)?);
    }
    Ok(exit_code(&outcome))
}

fn print_progress(progress: &Progress, json: bool) {
    if json {
        if let Ok(line) = serde_json::to_string(progress) {
            write_line(&mut std::io::stdout(), &line);
        }
    } else {
        let line = format!(
            "{:>6.2}s  {}",
            progress.at_ms as f64 / 1000.0,
            describe_step(&progress.step)
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
        };
        assert_eq!(exit_code(&outcome(OutcomeKind::Removed, None)), 0);
        assert_eq!(exit_code(&outcome(OutcomeKind::AlreadyGone, None)), 0);
        assert_eq!(exit_code(&outcome(OutcomeKind::Refused, None)), 2);
        assert_eq!(exit_code(&outcome(OutcomeKind::TimedOut, None)), 3);
        assert_eq!(exit_code(&outcome(OutcomeKind::Failed, Some(403))), 4);
        assert_eq!(exit_code(&outcome(OutcomeKind::Failed, Some(404))), 1);
    }
}
