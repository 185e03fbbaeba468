//! The call view's and the job view's lines, built from the live model and the jobs (pure, so the
//! reducer knows what the cursor is on and the view draws the same lines). A line may carry an id:
//! the copy key copies the id of the line under the cursor.

use chrono::{DateTime, Utc};

use super::jobs::{Job, JobTone, Jobs, finished};
use crate::kick::Step;
use crate::kick::progress::describe_step;
use crate::live::LiveModel;
use crate::text::{clean, pad, truncate};

/// How a line looks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Look {
    Heading,
    Plain,
    Dim,
    Ok,
    Error,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct DetailLine {
    pub(crate) text: String,
    pub(crate) look: Look,
    /// What the copy key copies on this line.
    pub(crate) id: Option<String>,
}

fn line(text: impl Into<String>, look: Look) -> DetailLine {
    DetailLine {
        text: text.into(),
        look,
        id: None,
    }
}

fn with_id(text: impl Into<String>, look: Look, id: &str) -> DetailLine {
    DetailLine {
        text: text.into(),
        look,
        id: Some(id.to_string()),
    }
}

/// `07:00:01`
fn clock(at: DateTime<Utc>) -> String {
    at.format("%H:%M:%S").to_string()
}

/// The call view of one conversation: its ids, each participant, its timeline since the console
/// started (and what analytics or the first read said before), and the kicks made on it.
pub(crate) fn call_lines(
    model: &LiveModel,
    jobs: &Jobs,
    conversation_id: &str,
    console_started: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Vec<DetailLine> {
    let mut lines = vec![with_id(
        format!("conversation  {conversation_id}"),
        Look::Heading,
        conversation_id,
    )];
    match model.conversation(conversation_id) {
        Some(conversation) => {
            let row = model.conference_row(conversation);
            let mut about = vec![format!("{} live parties", row.live_parties)];
            if let Some(queue) = row.queue_name.as_deref().or(row.queue_id.as_deref()) {
                about.insert(0, format!("queue {queue}"));
            }
            if let Some(started) = row.started {
                about.push(format!("started {}", clock(started)));
            }
            if model.is_from_analytics(conversation_id) {
                about.push("known from analytics only (approximate)".to_string());
            }
            lines.push(line(format!("  {}", about.join(" · ")), Look::Dim));
            lines.push(line("participants", Look::Heading));
            let participants = model.participants(conversation_id, now);
            let id_width = participants
                .iter()
                .map(|p| p.participant_id.len())
                .max()
                .unwrap_or(0);
            for p in participants {
                let mut state = p.state.as_str().to_string();
                if p.held {
                    state.push_str(", held");
                }
                if p.muted {
                    state.push_str(", muted");
                }
                lines.push(with_id(
                    format!(
                        "  {} {} {}  {state}",
                        pad(&truncate(&p.name, 18), 18),
                        pad(&truncate(&p.purpose, 8), 8),
                        pad(&p.participant_id, id_width)
                    ),
                    Look::Plain,
                    &p.participant_id,
                ));
            }
        }
        None => lines.push(line("  the call has ended", Look::Dim)),
    }
    lines.push(line(
        format!(
            "timeline (events since {}; earlier lines from analytics or a read)",
            clock(console_started)
        ),
        Look::Heading,
    ));
    let mut changes: Vec<_> = model
        .timeline(conversation_id)
        .map(|t| t.changes().collect())
        .unwrap_or_default();
    // Platform times can be older than when the change was seen: in time order (stable).
    changes.sort_by_key(|c| c.at);
    if changes.is_empty() {
        lines.push(line("  nothing seen yet", Look::Dim));
    }
    for change in changes {
        let what = match &change.from {
            Some(from) => format!("{} → {}", from.words(), change.to.words()),
            None => format!("{} (first seen)", change.to.words()),
        };
        let who = format!("{} ({})", clean(&change.name), change.purpose);
        lines.push(with_id(
            format!(
                "  {}  {} {what} · {}",
                clock(change.at),
                pad(&truncate(&who, 24), 24),
                change.origin.as_str()
            ),
            Look::Plain,
            &change.participant_id,
        ));
    }
    lines.push(line("kicks", Look::Heading));
    let kicks: Vec<&Job> = jobs
        .all()
        .iter()
        .filter(|j| j.target.conversation_id == conversation_id)
        .collect();
    if kicks.is_empty() {
        lines.push(line("  none from this console", Look::Dim));
    }
    for job in kicks {
        lines.push(with_id(
            format!(
                "  {}  {}  {}",
                clock(job.started_at),
                job.name,
                job.status(now)
            ),
            look_of(job),
            &job.target.participant_id,
        ));
    }
    lines
}

fn look_of(job: &Job) -> Look {
    match job.tone() {
        JobTone::Running => Look::Plain,
        JobTone::Done => Look::Ok,
        JobTone::Failed => Look::Error,
    }
}

/// The job view: who and where, every step with its time (in the words `confwatch kick` prints),
/// the correlation id of each answer, and the outcome's whole message.
pub(crate) fn job_lines(job: &Job, now: DateTime<Utc>) -> Vec<DetailLine> {
    let mut lines = vec![
        line(
            format!(
                "{} in {}{}",
                job.name,
                job.conference,
                if job.force { " · forced" } else { "" }
            ),
            Look::Heading,
        ),
        with_id(
            format!("  conversation  {}", job.target.conversation_id),
            Look::Plain,
            &job.target.conversation_id,
        ),
        with_id(
            format!("  participant   {}", job.target.participant_id),
            Look::Plain,
            &job.target.participant_id,
        ),
        line("requests and waits", Look::Heading),
    ];
    if job.story.is_empty() {
        lines.push(line("  nothing reported yet", Look::Dim));
    }
    for (at_ms, step) in &job.story {
        let time = job.time_of(*at_ms).format("%H:%M:%S%.3f");
        let look = match step {
            Step::Answer { status, .. } if *status >= 400 => Look::Error,
            Step::Finished(_) => look_of(job),
            _ => Look::Plain,
        };
        lines.push(line(
            format!(
                "  {time} {:>8}  {}",
                format!("+{at_ms} ms"),
                clean(&describe_step(step))
            ),
            look,
        ));
        if let Step::Answer {
            correlation_id: Some(id),
            ..
        } = step
        {
            lines.push(with_id(format!("      correlation id {id}"), Look::Dim, id));
        }
    }
    lines.push(line("outcome", Look::Heading));
    match job.outcome() {
        Some(outcome) => {
            lines.push(line(format!("  {}", finished(outcome)), look_of(job)));
            if !outcome.message.is_empty() {
                lines.push(line(format!("  {}", clean(&outcome.message)), Look::Plain));
            }
            lines.push(line(
                format!(
                    "  {} attempts, {} requests, {} ms{}",
                    outcome.attempts,
                    outcome.requests,
                    outcome.elapsed_ms,
                    outcome
                        .status
                        .map(|s| format!(", HTTP {s}"))
                        .unwrap_or_default()
                ),
                Look::Dim,
            ));
        }
        None => lines.push(line(format!("  running: {}", job.status(now)), Look::Plain)),
    }
    lines
}
