//! The kick's confirm dialog: opening it on the participant under the cursor (captured by id),
//! its keys, and keeping it true to the call while the call changes under it.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::rows::conference_label;
use super::{Action, App, Level, Pane};
use crate::kick::Target;
use crate::tui::keymap::Command;

/// Why a kick needs a second, explicit confirmation (and is then sent with `force`).
pub(crate) use crate::kick::safety::Risk;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Choice {
    Cancel,
    Remove,
}

/// The confirm dialog. The target is captured by id when it opens.
#[derive(Clone, Debug, PartialEq)]
pub struct Confirm {
    pub target: Target,
    pub(crate) name: String,
    pub(crate) purpose: String,
    pub(crate) conference: String,
    /// Connected (or held) legs that stay if the removal goes through.
    pub others_remaining: usize,
    /// Who stays, and in what state ("Casey (customer) and Blair (ringing) stay").
    pub(crate) who_stays: String,
    /// Other kicks of this console running on the same call (counted as leaving).
    pub(crate) other_kicks: usize,
    pub risk: Option<Risk>,
    /// True once the first confirmation of a risky kick was given.
    pub second_stage: bool,
    pub choice: Choice,
}

/// A removal as the dialog judges it.
struct Judged {
    assessment: crate::kick::safety::Assessment,
    other_kicks: usize,
}

impl App {
    pub(super) fn on_confirm_key(&mut self, key: KeyEvent) -> Vec<Action> {
        let Some(confirm) = self.confirm.as_mut() else {
            return Vec::new();
        };
        if key.kind == KeyEventKind::Repeat
            || key
                .modifiers
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SUPER)
        {
            // A held key, or a chord (ctrl-y, alt-y), never answers the dialog.
            return Vec::new();
        }
        let activate = match key.code {
            KeyCode::Left | KeyCode::Right | KeyCode::Tab | KeyCode::BackTab => {
                confirm.choice = match confirm.choice {
                    Choice::Cancel => Choice::Remove,
                    Choice::Remove => Choice::Cancel,
                };
                None
            }
            KeyCode::Char('h') => {
                confirm.choice = Choice::Cancel;
                None
            }
            KeyCode::Char('l') => {
                confirm.choice = Choice::Remove;
                None
            }
            KeyCode::Enter => Some(confirm.choice),
            // The second question takes a different key than the first (`Y`, or choosing
            // Remove anyway and Enter), so a held or double-tapped `y` cannot answer both.
            KeyCode::Char('y') if !confirm.second_stage => Some(Choice::Remove),
            KeyCode::Char('Y') if confirm.second_stage => Some(Choice::Remove),
            KeyCode::Esc | KeyCode::Char('n') | KeyCode::Char('q') => Some(Choice::Cancel),
            _ => None,
        };
        match activate {
            None => Vec::new(),
            Some(Choice::Cancel) => {
                self.confirm = None;
                self.flash = Some("kick cancelled, nothing sent".to_string());
                Vec::new()
            }
            Some(Choice::Remove) if confirm.risk.is_some() && !confirm.second_stage => {
                // The risky case asks again, and again defaults to Cancel.
                confirm.second_stage = true;
                confirm.choice = Choice::Cancel;
                Vec::new()
            }
            Some(Choice::Remove) => {
                let Some(confirm) = self.confirm.take() else {
                    return Vec::new();
                };
                let force = confirm.risk.is_some();
                self.jobs.requested(
                    confirm.target.clone(),
                    confirm.name.clone(),
                    confirm.conference.clone(),
                    force,
                    self.now,
                );
                self.push_log(
                    Level::Info,
                    format!(
                        "kick {} from {}{}",
                        confirm.name,
                        confirm.conference,
                        if force { " (forced)" } else { "" }
                    ),
                );
                vec![Action::Kick {
                    target: confirm.target,
                    force,
                }]
            }
        }
    }

    /// Opens the confirm dialog for the participant under the cursor, capturing it by id.
    pub(super) fn open_confirm(&mut self) {
        if self.focus != Pane::Participants {
            self.flash = Some(format!(
                "open a conference ({}) and choose a participant first",
                self.keymap.keys_label(Command::Open)
            ));
            return;
        }
        let (Some(conversation_id), Some(participant_id)) =
            (self.conference.id.clone(), self.participant.id.clone())
        else {
            self.flash = Some("no participant selected".to_string());
            return;
        };
        let target = Target {
            conversation_id,
            participant_id,
        };
        let Some(conversation) = self.model.conversation(&target.conversation_id) else {
            self.flash = Some("that conference has ended".to_string());
            return;
        };
        let Some(leg) = conversation.participant(&target.participant_id) else {
            self.flash = Some("that participant has left".to_string());
            return;
        };
        if let Some(job) = self.jobs.running(&target) {
            // A second press joins the running job instead of starting another.
            self.flash = Some(format!(
                "a kick of {} is already running: {}",
                job.name,
                job.status(self.now)
            ));
            return;
        }
        if leg.state.is_gone() {
            self.flash = Some("that participant has already left".to_string());
            return;
        }
        let name = self
            .model
            .participants(&target.conversation_id, self.now)
            .into_iter()
            .find(|p| p.participant_id == target.participant_id)
            .map(|p| p.name)
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| target.participant_id.clone());
        let Some(judged) = self.assess(&target) else {
            return;
        };
        let row = self.model.conference_row(conversation);
        self.confirm = Some(Confirm {
            name,
            purpose: leg.purpose().to_string(),
            conference: conference_label(&row),
            others_remaining: judged.assessment.connected_remaining,
            who_stays: judged.assessment.who_stays(),
            other_kicks: judged.other_kicks,
            risk: judged.assessment.risk,
            second_stage: false,
            choice: Choice::Cancel,
            target,
        });
    }

    /// What removing `target` would do as the model now stands (the kick engine's own safety
    /// rule), this console's other kicks on the call counted as leaving; None when the target
    /// is no longer on the call.
    fn assess(&self, target: &Target) -> Option<Judged> {
        let conversation = self.model.conversation(&target.conversation_id)?;
        let leg = conversation
            .participant(&target.participant_id)
            .filter(|leg| !leg.state.is_gone())?;
        let leaving: Vec<&str> = self
            .jobs
            .all()
            .iter()
            .filter(|job| job.is_running())
            .map(|job| &job.target)
            .filter(|t| t.conversation_id == target.conversation_id && t != &target)
            .map(|t| t.participant_id.as_str())
            .collect();
        Some(Judged {
            assessment: crate::kick::safety::assess(conversation, leg, &leaving),
            other_kicks: leaving.len(),
        })
    }

    /// Keeps an open dialog true to the call while it changes: the target leaving closes it
    /// (nothing sent); a changed risk updates the warning and puts the answer back to Cancel,
    /// so a key already on its way cannot confirm what the supervisor has not read.
    pub(super) fn reassess_confirm(&mut self) {
        let Some(target) = self.confirm.as_ref().map(|c| c.target.clone()) else {
            return;
        };
        match self.assess(&target) {
            None => {
                let name = self.confirm.take().map(|c| c.name).unwrap_or_default();
                self.flash = Some(format!("{name} left the call; nothing sent"));
            }
            Some(judged) => {
                if let Some(confirm) = self.confirm.as_mut() {
                    let risk = judged.assessment.risk;
                    confirm.others_remaining = judged.assessment.connected_remaining;
                    confirm.who_stays = judged.assessment.who_stays();
                    confirm.other_kicks = judged.other_kicks;
                    if confirm.risk != risk {
                        confirm.risk = risk;
                        confirm.second_stage = false;
                        confirm.choice = Choice::Cancel;
                    }
                }
            }
        }
    }
}
