//! The console's state and its reducer. Pure: keys, feed events and kick progress come in as
//! values (with the time they were seen); what the console wants done goes out as [`Action`]s.
//! Rows are keyed by id, never by index, so a list moving under the cursor never changes a target.
//! This file holds the state and the core (feed, progress, the main view's keys); each dialog,
//! picker and view with keys of its own has its own file below.

mod blocking;
mod confirm;
mod cursor;
mod detail_view;
mod filter;
mod jobs_view;
mod log;
mod mouse;
mod queues;
mod rows;

use std::collections::VecDeque;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent};
use ratatui::layout::Rect;

use super::jobs::Jobs;
use super::keymap::{Command, Keymap};
use super::layout::{self, Screen};
use crate::feed::{AuthProblem, ConnectionState, FeedEvent, RateFigures};
use crate::kick::{OutcomeKind, Progress, Step, Target};
use crate::live::{ConferenceRow, LiveModel, ParticipantRow, Update};

pub(crate) use blocking::IncompleteAudit;
pub use confirm::Choice;
pub(crate) use confirm::{Confirm, Risk};
pub(crate) use cursor::Cursor;
use cursor::step;
pub(crate) use detail_view::Detail;
pub(crate) use filter::Filter;
pub use log::Level;
pub(crate) use log::{LogLine, Unseen};
pub(crate) use mouse::{Hit, Hits};
pub(crate) use queues::QueuePicker;
pub(crate) use rows::SortKey;
pub(crate) use rows::conference_label;
use rows::{RowCache, RowQuery};

/// Everything that can happen to the console.
#[derive(Clone, Debug, PartialEq)]
pub enum Input {
    Key(KeyEvent),
    /// A click or the wheel (never destructive: a click selects, the wheel scrolls).
    Mouse(MouseEvent),
    Feed(FeedEvent),
    Progress(Progress),
    /// Time passed (ages and countdowns move).
    Tick,
    /// The terminal's size: set before every frame, and whenever the terminal is resized.
    Resize {
        width: u16,
        height: u16,
    },
}

/// What the console asks the outside world to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Kick {
        target: Target,
        force: bool,
    },
    Cancel(Target),
    /// Read this call exactly: its row is known only from analytics (one GET, in the budget).
    ReadCall(String),
    /// Put this id on the terminal's clipboard (OSC 52).
    Copy(String),
    Quit,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    Main,
    Jobs,
    Log,
    /// One call: its ids, timeline and kicks.
    Call,
    /// One kick's whole story.
    Job,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pane {
    Conferences,
    Participants,
}

pub struct App {
    pub model: LiveModel,
    pub(crate) now: DateTime<Utc>,
    /// Shown as a DEMO marker when the console runs on its built-in mock.
    pub demo: Option<String>,
    /// Where the data comes from (no secrets): an org's region or a mock's URL.
    pub source: String,
    /// Who is signed in, shown in the header: the profile and the user (none on client
    /// credentials without a profile).
    pub signed_in: SignedIn,
    pub(crate) connection: ConnectionState,
    pub(crate) last_event: Option<DateTime<Utc>>,
    pub(crate) rate: Option<RateFigures>,
    pub keymap: Keymap,
    pub view: View,
    pub focus: Pane,
    pub(crate) help: bool,
    pub confirm: Option<Confirm>,
    pub queues: QueuePicker,
    pub filter: Filter,
    pub(crate) sort: SortKey,
    /// The sort runs the other way.
    pub(crate) sort_reverse: bool,
    /// The conference list keeps its order (rows still update in place).
    pub paused: bool,
    /// Lines scrolled down in help.
    pub(crate) help_scroll: usize,
    /// The call view's or the job view's cursor, and what it shows.
    pub(crate) detail: Detail,
    /// When the console started: the call view's timeline is exact from here on.
    pub(crate) started: DateTime<Utc>,
    /// Where the last frame drew each row, for the mouse.
    pub(crate) hits: Hits,
    pub conference: Cursor,
    pub participant: Cursor,
    pub jobs: Jobs,
    /// The jobs view's cursor, on a job's `seq`.
    pub(crate) job_cursor: Cursor,
    pub log: VecDeque<LogLine>,
    /// Lines scrolled up from the newest in the log view.
    pub(crate) log_scroll: usize,
    /// Warnings and errors logged since the log view was last open (the status line says so).
    pub(crate) unseen: Unseen,
    /// A one-line notice in the status line until the next key.
    pub flash: Option<String>,
    /// Why the token no longer works (signed out, cannot log in): a banner, kicks off.
    pub(crate) auth_problem: Option<AuthProblem>,
    /// Why kicks are off: the audit record cannot be written (a banner; `d` explains).
    pub kicks_off: Option<String>,
    /// Kicks whose audit record lost a line: a banner until dismissed.
    pub(crate) audit_incomplete: Vec<IncompleteAudit>,
    /// The log file, named where the screen sends the supervisor to it.
    pub log_file: Option<String>,
    pub should_quit: bool,
    /// The terminal's area (None until the loop says: a page is then ten rows).
    viewport: Option<Rect>,
    /// A quit was held back by running kicks: the next quit key goes through.
    quit_armed: bool,
    cache: RowCache,
}

/// The profile and signed-in user, and why the console is read-only (if it is).
#[derive(Clone, Debug, Default)]
pub struct SignedIn {
    pub profile: Option<String>,
    pub user: Option<String>,
    /// Set when the user's roles cannot disconnect: `d` explains instead of opening the dialog.
    pub read_only: Option<String>,
}

impl App {
    pub fn new(keymap: Keymap, now: DateTime<Utc>) -> Self {
        App {
            model: LiveModel::new(),
            now,
            demo: None,
            source: String::new(),
            signed_in: SignedIn::default(),
            connection: ConnectionState::Connecting,
            last_event: None,
            rate: None,
            keymap,
            view: View::Main,
            focus: Pane::Conferences,
            help: false,
            confirm: None,
            queues: QueuePicker::default(),
            filter: Filter::default(),
            sort: SortKey::Age,
            sort_reverse: false,
            paused: false,
            help_scroll: 0,
            detail: Detail::default(),
            started: now,
            hits: Hits::default(),
            conference: Cursor::default(),
            participant: Cursor::default(),
            jobs: Jobs::default(),
            job_cursor: Cursor::default(),
            log: VecDeque::new(),
            log_scroll: 0,
            unseen: Unseen::default(),
            flash: None,
            auth_problem: None,
            kicks_off: None,
            audit_incomplete: Vec::new(),
            log_file: None,
            should_quit: false,
            viewport: None,
            quit_armed: false,
            cache: RowCache::default(),
        }
    }

    /// Applies one input seen at `now`; returns what the outside world should do.
    pub fn update(&mut self, input: Input, now: DateTime<Utc>) -> Vec<Action> {
        if now > self.now {
            self.now = now;
        }
        match input {
            Input::Key(key) => self.on_key(key),
            Input::Mouse(event) => self.on_mouse(event),
            Input::Feed(event) => {
                self.on_feed(event);
                Vec::new()
            }
            Input::Progress(progress) => {
                self.on_progress(progress);
                Vec::new()
            }
            Input::Tick => Vec::new(),
            Input::Resize { width, height } => {
                self.viewport = Some(Rect::new(0, 0, width, height));
                Vec::new()
            }
        }
    }

    /// The list's order as the header says it: `sort age`, `sort parties reversed · PAUSED`.
    pub(crate) fn order_label(&self) -> String {
        let reversed = if self.sort_reverse { " reversed" } else { "" };
        let paused = if self.paused { " · PAUSED" } else { "" };
        format!("sort {}{reversed}{paused}", self.sort.label())
    }

    /// The screen shows the too-small message instead of the console: keys other than quit are
    /// ignored, so nothing is chosen or confirmed on a screen the supervisor cannot see.
    pub(crate) fn screen_too_small(&self) -> bool {
        self.viewport.is_some_and(layout::too_small)
    }

    /// Rows a page holds in the current view (for PgUp/PgDn): what its pane shows.
    pub(crate) fn page_rows(&self) -> usize {
        let Some(area) = self.viewport else {
            return 10;
        };
        let screen = self.screen(area);
        let rows = match self.view {
            View::Main => layout::table_rows(screen.panes().0),
            View::Jobs => layout::table_rows(screen.body),
            View::Log | View::Call | View::Job => layout::list_rows(screen.body),
        };
        rows.max(1)
    }

    /// Where each part of the screen goes at this size, the banner (if any) included.
    pub(crate) fn screen(&self, area: Rect) -> Screen {
        let banner = self.banner_lines(area.width).len();
        Screen::with_banner(area, u16::try_from(banner).unwrap_or(u16::MAX))
    }

    fn on_feed(&mut self, event: FeedEvent) {
        match event {
            FeedEvent::Model(update) => {
                if let Update::Queues(queues) = &update {
                    self.queues.learn(queues);
                }
                self.cache.note(&update);
                self.model.apply(update, self.now);
                self.last_event = Some(self.now);
                self.reassess_confirm();
            }
            FeedEvent::Connection(state) => {
                if state != self.connection {
                    let level = match state {
                        ConnectionState::Live | ConnectionState::Connecting => Level::Info,
                        ConnectionState::Offline { .. } => Level::Error,
                        _ => Level::Warn,
                    };
                    self.push_log(level, format!("connection: {state}"));
                }
                self.connection = state;
            }
            FeedEvent::RateBudget(budget) => self.rate = Some(budget),
            FeedEvent::Auth(problem) => {
                if let Some(reason) = &problem
                    && self.auth_problem.as_ref() != Some(reason)
                {
                    self.push_log(Level::Error, format!("sign-in: {reason}"));
                }
                self.auth_problem = problem;
            }
            FeedEvent::Unwatched(queues) => {
                for queue in &queues {
                    let text = format!("queue {} not watched: {}", queue.name, queue.reason);
                    self.push_log(Level::Warn, text);
                }
                self.queues.set_unwatched(queues);
            }
            FeedEvent::Warning(text) => self.push_log(Level::Warn, text),
            // The platform stopped or replaced a channel: said in the status line too.
            FeedEvent::ChannelNotice(text) => {
                self.flash = Some(text.clone());
                self.push_log(Level::Warn, text)
            }
        }
    }

    fn on_progress(&mut self, progress: Progress) {
        let now = self.now;
        let troubled = self
            .jobs
            .running(&progress.target)
            .map_or(0, |job| job.trouble_retries);
        let job = self.jobs.apply(progress, now);
        // The status line says when a platform in trouble answers again.
        let back = (troubled > 0
            && job.trouble_retries == 0
            && job
                .outcome()
                .is_none_or(|o| o.outcome == OutcomeKind::Removed))
        .then(|| {
            format!(
                "the platform answers again (kick {}: after {troubled} retries)",
                job.name
            )
        });
        let job = job.clone();
        if let Some(text) = back {
            self.push_log(Level::Info, text);
        }
        self.note_incomplete_audit(&job);
        let line = match job.outcome() {
            Some(outcome) => {
                let level = match outcome.outcome {
                    OutcomeKind::Removed | OutcomeKind::AlreadyGone | OutcomeKind::Cancelled => {
                        Level::Info
                    }
                    _ => Level::Error,
                };
                Some((level, format!("kick {}: {}", job.name, job.status(now))))
            }
            None => match &job.step {
                Some((Step::RateLimited { .. } | Step::Unprotected { .. }, _)) => Some((
                    Level::Warn,
                    format!("kick {}: {}", job.name, job.status(now)),
                )),
                _ => None,
            },
        };
        if let Some((level, text)) = line {
            // Said in the status line too: the step itself is soon followed by the next.
            if matches!(job.step, Some((Step::Unprotected { .. }, _))) {
                self.flash = Some(text.clone());
            }
            self.push_log(level, text);
        }
        // A kick starting or ending on the call changes an open dialog's risk.
        self.reassess_confirm();
    }

    fn on_key(&mut self, key: KeyEvent) -> Vec<Action> {
        if key.kind == KeyEventKind::Release {
            return Vec::new();
        }
        // Ctrl-C quits from anywhere, whatever the keymap says.
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            self.should_quit = true;
            return vec![Action::Quit];
        }
        // Any key but a second quit disarms a quit that running kicks held back.
        let quit_armed = std::mem::take(&mut self.quit_armed);
        if self.screen_too_small() {
            if self.keymap.command(&key) == Some(Command::Quit) {
                return self.quit(quit_armed);
            }
            return Vec::new();
        }
        self.flash = None;
        self.refresh();
        if self.confirm.is_some() {
            return self.on_confirm_key(key);
        }
        if self.filter.editing {
            if self.filter.on_key(key) == filter::Edit::Full {
                self.flash = Some(format!(
                    "the filter holds at most {} characters",
                    filter::MAX_FILTER_CHARS
                ));
            }
            self.refresh();
            return Vec::new();
        }
        if self.queues.open.is_some() {
            self.queues.on_key(key.code, self.keymap.command(&key));
            self.refresh();
            return Vec::new();
        }
        let Some(command) = self.keymap.command(&key) else {
            return Vec::new();
        };
        if self.help {
            // Any of these closes help; the moving keys scroll it; others are ignored.
            match command {
                Command::Help | Command::Back | Command::Quit => self.help = false,
                Command::Down => self.help_scroll += 1,
                Command::Up => self.help_scroll = self.help_scroll.saturating_sub(1),
                Command::PageDown => self.help_scroll += self.page_rows(),
                Command::PageUp => {
                    self.help_scroll = self.help_scroll.saturating_sub(self.page_rows())
                }
                Command::Top => self.help_scroll = 0,
                Command::Bottom => self.help_scroll = usize::MAX,
                _ => {}
            }
            // The help rows: ctrl-c and the mouse besides the table.
            let last = self.keymap.help_rows().len().saturating_sub(1);
            self.help_scroll = self.help_scroll.min(last);
            return Vec::new();
        }
        match command {
            Command::Quit => return self.quit(quit_armed),
            Command::Help => {
                self.help = true;
                self.help_scroll = 0;
            }
            Command::Queues => self.queues.open = Some(0),
            Command::Jobs => self.open_jobs_view(),
            Command::Log => {
                self.view = View::Log;
                self.log_scroll = 0;
                self.unseen = Unseen::default();
            }
            Command::Filter => {
                self.view = View::Main;
                self.filter.editing = true;
            }
            Command::Sort => {
                self.sort = self.sort.next();
                self.refresh();
            }
            Command::Reverse => {
                self.sort_reverse = !self.sort_reverse;
                self.refresh();
            }
            Command::Pause => {
                self.paused = !self.paused;
                self.refresh();
            }
            Command::Call => return self.open_call_view(),
            Command::Dismiss => self.dismiss_incomplete_audit(),
            Command::Back => self.back(),
            _ => {
                return match self.view {
                    View::Main => self.on_main_command(command),
                    View::Jobs => self.on_jobs_command(command),
                    View::Log => {
                        self.on_log_command(command);
                        Vec::new()
                    }
                    View::Call | View::Job => self.on_detail_command(command),
                };
            }
        }
        Vec::new()
    }

    /// Quits; while kicks run, only on a second press (quitting stops them mid-way: each is
    /// audited `interrupted`). Ctrl-C still quits at once.
    fn quit(&mut self, armed: bool) -> Vec<Action> {
        let running = self.jobs.all().iter().filter(|j| j.is_running()).count();
        if running > 0 && !armed {
            self.quit_armed = true;
            self.flash = Some(format!(
                "{running} kick{} running: {} again stops {} (recorded as interrupted), exit 130",
                if running == 1 { "" } else { "s" },
                self.keymap.keys_label(Command::Quit),
                if running == 1 { "it" } else { "them" },
            ));
            return Vec::new();
        }
        self.should_quit = true;
        vec![Action::Quit]
    }

    fn back(&mut self) {
        if self.view == View::Job {
            self.view = View::Jobs;
        } else if self.view != View::Main {
            self.view = View::Main;
        } else if self.focus == Pane::Participants {
            self.focus = Pane::Conferences;
        } else if !self.filter.text.is_empty() {
            self.filter.text.clear();
            self.refresh();
        }
    }

    fn on_main_command(&mut self, command: Command) -> Vec<Action> {
        match command {
            Command::Down => self.move_cursor(1),
            Command::Up => self.move_cursor(-1),
            Command::PageDown => self.move_cursor(self.page_rows() as isize),
            Command::PageUp => self.move_cursor(-(self.page_rows() as isize)),
            Command::Top => self.move_cursor(isize::MIN / 2),
            Command::Bottom => self.move_cursor(isize::MAX / 2),
            Command::NextPane => {
                self.focus = match self.focus {
                    Pane::Conferences if self.conference.id.is_some() => Pane::Participants,
                    _ => Pane::Conferences,
                }
            }
            Command::Open if self.focus == Pane::Participants => return self.open_call_view(),
            Command::Open if self.conference.id.is_some() => {
                self.focus = Pane::Participants;
                if let Some(id) = self.conference.id.clone()
                    && self.model.is_from_analytics(&id)
                {
                    return vec![Action::ReadCall(id)];
                }
            }
            Command::Kick => match self.kicks_blocked() {
                // Known before any request: explain instead of opening the dialog.
                Some(reason) => self.flash = Some(reason),
                None => self.open_confirm(),
            },
            Command::CancelKick => return self.cancel_selected(),
            Command::Copy => {
                let id = match self.focus {
                    Pane::Conferences => self.conference.id.clone(),
                    Pane::Participants => self.participant.id.clone(),
                };
                return self.copy(id);
            }
            _ => {}
        }
        Vec::new()
    }

    fn cancel_selected(&mut self) -> Vec<Action> {
        if self.focus != Pane::Participants {
            self.flash = Some(format!(
                "choose the participant, or use the jobs view ({})",
                self.keymap.keys_label(Command::Jobs)
            ));
            return Vec::new();
        }
        let (Some(conversation_id), Some(participant_id)) =
            (self.conference.id.clone(), self.participant.id.clone())
        else {
            return Vec::new();
        };
        let target = Target {
            conversation_id,
            participant_id,
        };
        if self.jobs.running(&target).is_some() {
            vec![Action::Cancel(target)]
        } else {
            self.flash = Some("no kick is running for this participant".to_string());
            Vec::new()
        }
    }

    fn move_cursor(&mut self, delta: isize) {
        match self.focus {
            Pane::Conferences => {
                let ids: Vec<&str> = self
                    .rows()
                    .iter()
                    .map(|r| r.conversation_id.as_str())
                    .collect();
                let moved = step(&ids, &self.conference, delta);
                if moved.id != self.conference.id {
                    self.participant = Cursor::default();
                }
                self.conference = moved;
            }
            Pane::Participants => {
                let Some(id) = self.conference.id.as_deref() else {
                    return;
                };
                let rows = self.participant_rows(id);
                let ids: Vec<&str> = rows.iter().map(|r| r.participant_id.as_str()).collect();
                self.participant = step(&ids, &self.participant, delta);
            }
        }
    }
}

impl App {
    /// Rebuilds the conference rows if the model, filter or sort changed, and re-finds the
    /// cursors by id. Cheap when nothing changed; called before keys are handled and before a draw.
    pub fn refresh(&mut self) {
        self.cache.refresh(&RowQuery {
            model: &self.model,
            filter: &self.filter.text,
            sort: self.sort,
            reverse: self.sort_reverse,
            queues: &self.queues,
            paused: self.paused,
        });
        let ids: Vec<&str> = self
            .cache
            .rows()
            .iter()
            .map(|r| r.conversation_id.as_str())
            .collect();
        let conference = cursor::follow(&ids, &self.conference);
        if conference.id != self.conference.id {
            let still_going = self
                .conference
                .id
                .as_deref()
                .and_then(|id| self.model.conversation(id))
                .is_some_and(|c| c.live_participants().next().is_some());
            if self.focus == Pane::Participants && still_going {
                // Filtered out, or down to two parties (a kick's own doing, often): the
                // supervisor is working in it, so it stays open, with the kick's outcome in its
                // row, rather than another conference taking its place.
            } else {
                if self.focus == Pane::Participants {
                    self.focus = Pane::Conferences;
                    self.flash = Some("that conference has ended".to_string());
                }
                self.participant = Cursor::default();
                self.conference = conference;
            }
        } else {
            self.conference = conference;
        }
        if let Some(id) = self.conference.id.clone() {
            let rows = self.participant_rows(&id);
            let ids: Vec<&str> = rows.iter().map(|r| r.participant_id.as_str()).collect();
            self.participant = cursor::follow(&ids, &self.participant);
        }
    }

    /// A call's participants in the participants pane's order: by time in state while the list
    /// is sorted so, else (and while paused: that order moves) as they joined.
    pub(crate) fn participant_rows(&self, conversation_id: &str) -> Vec<ParticipantRow> {
        let mut rows = self.model.participants(conversation_id, self.now);
        if !self.paused {
            rows::sort_participants(&mut rows, self.sort, self.sort_reverse);
        }
        rows
    }

    /// Forgets the cached rows (the benchmark's baseline: a full rebuild every frame).
    pub fn invalidate_rows(&mut self) {
        self.cache.invalidate();
    }

    /// The conference rows in screen order (call [`App::refresh`] first).
    pub fn rows(&self) -> &[Arc<ConferenceRow>] {
        self.cache.rows()
    }

    /// Where the conference cursor is in [`App::rows`].
    pub(crate) fn conference_index(&self) -> Option<usize> {
        let id = self.conference.id.as_deref()?;
        self.cache
            .rows()
            .iter()
            .position(|r| r.conversation_id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_terminal_size_sets_the_page_and_the_too_small_screen() {
        let now = Utc.with_ymd_and_hms(2026, 11, 28, 7, 0, 0).unwrap();
        let mut app = App::new(Keymap::default(), now);
        assert_eq!(app.page_rows(), 10, "no size known yet");
        app.update(
            Input::Resize {
                width: 120,
                height: 40,
            },
            now,
        );
        // A 37-line body; the conferences table loses two borders and its header row.
        assert_eq!(app.page_rows(), 34);
        app.view = View::Log;
        assert_eq!(app.page_rows(), 35, "the log has no header row");
        assert!(!app.screen_too_small());
        app.update(
            Input::Resize {
                width: 40,
                height: 10,
            },
            now,
        );
        assert!(app.screen_too_small());
        assert_eq!(app.now, now, "a resize is not a tick");
    }
}
