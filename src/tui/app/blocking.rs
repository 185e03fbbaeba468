//! The states that stop the console's work, said in a banner above the panes (not as a warning
//! count): signed out or cannot log in, no data from the platform, a kick whose audit record is
//! incomplete (until dismissed), kicks off because the audit cannot be written, read-only. Each
//! with its whole reason and what to do.

use super::{App, Level};
use crate::feed::{AuthProblem, ConnectionState};
use crate::text::{clean, wrap};
use crate::tui::jobs::Job;
use crate::tui::keymap::Command;

/// The banner takes at most this many lines (the panes keep the rest).
const MOST_BANNER_LINES: usize = 8;

/// One blocking state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Blocking {
    /// A few words for the header and the status line: `SIGNED OUT`.
    pub(crate) label: &'static str,
    /// The whole reason and what to do, for the banner.
    pub(crate) text: String,
    /// Whether it is shown as an error (it stops the data, or the audit lost a line) or as a
    /// warning (it stops only kicks).
    pub(crate) stops_data: bool,
}

/// A kick whose audit record lost a line (`Outcome::audit_incomplete`): said in the banner
/// until the supervisor dismisses it, since the record alone no longer tells what was done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct IncompleteAudit {
    /// The job's `seq`: each kick is noted once.
    seq: u64,
    name: String,
    conference: String,
    conversation_id: String,
    /// How the kick ended: `removed`, `unknown`...
    outcome: String,
}

impl App {
    /// Notes a finished kick whose audit record is incomplete (once per job): a banner until
    /// dismissed, and an error in the log.
    pub(super) fn note_incomplete_audit(&mut self, job: &Job) {
        let Some(outcome) = job.outcome().filter(|o| o.audit_incomplete) else {
            return;
        };
        if self.audit_incomplete.iter().any(|a| a.seq == job.seq) {
            return;
        }
        self.audit_incomplete.push(IncompleteAudit {
            seq: job.seq,
            name: job.name.clone(),
            conference: job.conference.clone(),
            conversation_id: job.target.conversation_id.clone(),
            outcome: outcome.outcome.to_string(),
        });
        let text = format!(
            "audit record incomplete: the kick of {} in call {} ended {}",
            job.name, job.target.conversation_id, outcome.outcome
        );
        self.push_log(Level::Error, text);
    }

    /// The dismiss key: the incomplete-audit banner goes (the log keeps what it said).
    pub(super) fn dismiss_incomplete_audit(&mut self) {
        if self.audit_incomplete.is_empty() {
            self.flash = Some("nothing to dismiss".to_string());
            return;
        }
        let count = self.audit_incomplete.len();
        self.audit_incomplete.clear();
        self.push_log(
            Level::Info,
            format!("dismissed the incomplete-audit banner ({count} kick(s))"),
        );
    }

    /// The banner's words for the kicks whose audit record is incomplete, the newest named.
    fn incomplete_audit_state(&self) -> Option<Blocking> {
        let newest = self.audit_incomplete.last()?;
        let earlier = match self.audit_incomplete.len() - 1 {
            0 => String::new(),
            1 => " (and 1 earlier kick, in the log view)".to_string(),
            n => format!(" (and {n} earlier kicks, in the log view)"),
        };
        let log = self
            .log_file
            .as_deref()
            .map(|path| format!("The log file {}", clean(path)))
            .unwrap_or_else(|| "The log file".to_string());
        Some(Blocking {
            label: "AUDIT INCOMPLETE",
            text: format!(
                "AUDIT INCOMPLETE: the kick of {} from {} (call {}) ended {}{earlier}, but a \
                 line of its audit record could not be written. {log} says why. {} dismisses.",
                clean(&newest.name),
                clean(&newest.conference),
                clean(&newest.conversation_id),
                newest.outcome,
                self.keymap.keys_label(Command::Dismiss),
            ),
            stops_data: true,
        })
    }

    /// Every blocking state, the most important first.
    pub(crate) fn blocking(&self) -> Vec<Blocking> {
        let mut states = Vec::new();
        if let Some(reason) = &self.auth_problem {
            states.push(if self.signed_in.user.is_some() {
                let profile = self
                    .signed_in
                    .profile
                    .as_deref()
                    .map(|p| format!(" --profile {p}"))
                    .unwrap_or_default();
                // The client's own words end with the bare command: said once, with the profile.
                let reason = match reason {
                    AuthProblem::SignInEnded => {
                        "the sign-in has ended or was revoked, and cannot be refreshed"
                    }
                    AuthProblem::Refused(reason) => reason.as_str(),
                };
                Blocking {
                    label: "SIGNED OUT",
                    text: format!(
                        "SIGNED OUT: {reason}. Run `confwatch login{profile}`, then start the \
                         console again; nothing on screen is current and kicks are off."
                    ),
                    stops_data: true,
                }
            } else {
                Blocking {
                    label: "CANNOT LOG IN",
                    text: format!(
                        "CANNOT LOG IN: {reason}. Nothing on screen is current and kicks are off."
                    ),
                    stops_data: true,
                }
            });
        } else if let ConnectionState::Offline { reason } = &self.connection {
            states.push(Blocking {
                label: "NO DATA",
                text: format!(
                    "NO DATA from the platform: {reason}. The list is not the org's calls; \
                     confwatch keeps trying."
                ),
                stops_data: true,
            });
        }
        states.extend(self.incomplete_audit_state());
        if let Some(reason) = &self.kicks_off {
            states.push(Blocking {
                label: "KICKS OFF",
                text: format!(
                    "KICKS OFF: the audit record cannot be written ({reason}), so nothing can be \
                     removed. Fix the file or its folder and start again, or choose --no-audit."
                ),
                stops_data: false,
            });
        }
        if let Some(reason) = &self.signed_in.read_only {
            states.push(Blocking {
                label: "READ-ONLY",
                text: format!("READ-ONLY: {reason}."),
                stops_data: false,
            });
        }
        states
    }

    /// Why `d` cannot remove anyone now, if so: said instead of opening the dialog.
    pub(crate) fn kicks_blocked(&self) -> Option<String> {
        if let Some(reason) = &self.auth_problem {
            return Some(format!("{reason}; nothing sent"));
        }
        if let Some(reason) = &self.kicks_off {
            return Some(format!(
                "kicks are off: the audit record cannot be written ({reason}); nothing sent"
            ));
        }
        self.signed_in
            .read_only
            .as_ref()
            .map(|reason| format!("read-only: {reason}; nothing sent"))
    }

    /// The banner's lines at `width` columns (none when nothing blocks), each with whether its
    /// state stops the data.
    pub(crate) fn banner_lines(&self, width: u16) -> Vec<(String, bool)> {
        let room = usize::from(width.saturating_sub(2)).max(10);
        let mut lines: Vec<(String, bool)> = self
            .blocking()
            .into_iter()
            .flat_map(|state| {
                wrap(&state.text, room)
                    .into_iter()
                    .map(move |line| (line, state.stops_data))
            })
            .collect();
        if lines.len() > MOST_BANNER_LINES {
            lines.truncate(MOST_BANNER_LINES);
            if let Some((last, _)) = lines.last_mut() {
                *last = crate::text::truncate(&format!("{last} … (more in the log view)"), room);
            }
        }
        lines
    }
}
