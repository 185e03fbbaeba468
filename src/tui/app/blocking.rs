//! The states that stop the console's work, said in a banner above the panes (not as a warning
//! count): signed out or cannot log in, no data from the platform, kicks off because the audit
//! cannot be written, read-only. Each with its whole reason and what to do.

use super::App;
use crate::feed::{AuthProblem, ConnectionState};
use crate::text::wrap;

/// The banner takes at most this many lines (the panes keep the rest).
const MOST_BANNER_LINES: usize = 8;

/// One blocking state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Blocking {
    /// A few words for the header and the status line: `SIGNED OUT`.
    pub(crate) label: &'static str,
    /// The whole reason and what to do, for the banner.
    pub(crate) text: String,
    /// Whether it stops the data (an error) or only kicks (a warning).
    pub(crate) stops_data: bool,
}

impl App {
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
