//! The console's state and its reducer. Pure: keys, feed events and kick progress come in as
//! values (with the time they were seen); what the console wants done goes out as [`Action`]s.
//! Rows are keyed by id, never by index, so a list moving under the cursor never changes a target.

use std::cmp::Ordering;
use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::layout::Rect;

use super::jobs::Jobs;
use super::keymap::{Command, Keymap};
use super::layout::{self, Screen};
use crate::feed::RateBudget;
use crate::feed::{ConnectionState, FeedEvent};
use crate::kick::{OutcomeKind, Progress, Step, Target};
use crate::live::{ConferenceRow, LiveModel, Update, is_conference};

/// Everything that can happen to the console.
#[derive(Clone, Debug, PartialEq)]
pub enum Input {
    Key(KeyEvent),
    Feed(FeedEvent),
    Progress(Progress),
    /// Time passed (ages and countdowns move).
    Tick,
    /// The terminal's size: set before every frame, and whenever the terminal is resized.
    Resize { width: u16, height: u16 },
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
    Quit,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    Main,
    Jobs,
    Log,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pane {
    Conferences,
    Participants,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    /// Oldest call first.
    Age,
    Queue,
    /// Most live parties first.
    Parties,
}

impl SortKey {
    pub fn label(self) -> &'static str {
        match self {
            SortKey::Age => "age",
            SortKey::Queue => "queue",
            SortKey::Parties => "parties",
        }
    }

    fn next(self) -> Self {
        match self {
            SortKey::Age => SortKey::Queue,
            SortKey::Queue => SortKey::Parties,
            SortKey::Parties => SortKey::Age,
        }
    }
}

/// Why a kick needs a second, explicit confirmation (and is then sent with `force`).
pub use crate::kick::safety::Risk;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Choice {
    Cancel,
    Remove,
}

/// The confirm dialog. The target is captured by id when it opens.
#[derive(Clone, Debug, PartialEq)]
pub struct Confirm {
    pub target: Target,
    pub name: String,
    pub purpose: String,
    pub conference: String,
    /// Live legs that stay if the removal goes through.
    pub others_remaining: usize,
    pub risk: Option<Risk>,
    /// True once the first confirmation of a risky kick was given.
    pub second_stage: bool,
    pub choice: Choice,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LogLine {
    pub at: DateTime<Utc>,
    pub level: Level,
    pub text: String,
}

/// Warnings and errors not yet seen in the log view.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Unseen {
    pub warnings: usize,
    pub errors: usize,
}

impl Unseen {
    pub fn any(self) -> bool {
        self.warnings + self.errors > 0
    }
}

/// The filter: a case-insensitive substring of a queue, a customer, a participant name or state.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Filter {
    pub text: String,
    pub editing: bool,
}

/// The queues the feed knows, and which of them the supervisor chose to see.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QueuePicker {
    /// (id, name), sorted by name.
    pub known: Vec<(String, String)>,
    /// Queue ids hidden by the supervisor (empty: every queue is shown).
    pub hidden: std::collections::BTreeSet<String>,
    /// Some(cursor) while the picker is open.
    pub open: Option<usize>,
    /// Bumped when the selection changes, so cached rows are rebuilt.
    revision: u64,
}

impl QueuePicker {
    /// Calls with no queue (direct calls) are always shown.
    pub fn shows(&self, queue_id: Option<&str>) -> bool {
        queue_id.is_none_or(|id| !self.hidden.contains(id))
    }

    fn learn(&mut self, queues: &[crate::wire::Queue]) {
        for queue in queues {
            let name = queue.name.clone().unwrap_or_else(|| queue.id.clone());
            match self.known.iter_mut().find(|(id, _)| *id == queue.id) {
                Some(entry) => entry.1 = name,
                None => self.known.push((queue.id.clone(), name)),
            }
        }
        self.known
            .sort_by(|a, b| (a.1.to_lowercase(), &a.0).cmp(&(b.1.to_lowercase(), &b.0)));
    }

    fn toggle(&mut self, index: usize) {
        if let Some((id, _)) = self.known.get(index) {
            if !self.hidden.remove(id) {
                self.hidden.insert(id.clone());
            }
            self.revision += 1;
        }
    }

    fn on_key(&mut self, code: KeyCode, command: Option<Command>) {
        let Some(cursor) = self.open else {
            return;
        };
        let last = self.known.len().saturating_sub(1);
        match (code, command) {
            (KeyCode::Char(' '), _) => self.toggle(cursor),
            (KeyCode::Char('a'), _) => {
                self.hidden.clear();
                self.revision += 1;
            }
            (KeyCode::Enter, _) | (_, Some(Command::Back | Command::Queues | Command::Quit)) => {
                self.open = None
            }
            (_, Some(Command::Down)) => self.open = Some((cursor + 1).min(last)),
            (_, Some(Command::Up)) => self.open = Some(cursor.saturating_sub(1)),
            (_, Some(Command::Top)) => self.open = Some(0),
            (_, Some(Command::Bottom)) => self.open = Some(last),
            _ => {}
        }
    }
}

/// A cursor that follows a row's id; `hint` is where it was, for when the row disappears.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Cursor {
    pub id: Option<String>,
    pub hint: usize,
}

/// The sorted, filtered conference rows. A change of filter, sort or queue selection (or a full
/// re-read) rebuilds them all; a single conversation's update only moves its own row.
#[derive(Debug, Default)]
struct RowCache {
    /// Filter, sort, queue-selection revision.
    key: Option<(String, SortKey, u64)>,
    /// The model revision the rows show.
    revision: u64,
    /// Conversations updated since; None when everything must be rebuilt.
    changed: Option<HashSet<String>>,
    /// Shared pointers, so that moving one row shifts pointers, not whole rows.
    rows: Vec<Arc<ConferenceRow>>,
}

/// More changed conversations than this in one batch: a full rebuild is cheaper.
const INCREMENTAL_LIMIT: usize = 256;

const LOG_LINES: usize = 500;

pub struct App {
    pub model: LiveModel,
    pub now: DateTime<Utc>,
    /// Shown as a DEMO marker when the console runs on its built-in mock.
    pub demo: Option<String>,
    /// Where the data comes from (no secrets): an org's region or a mock's URL.
    pub source: String,
    /// Who is signed in, shown in the header: the profile and the user (none on client
    /// credentials without a profile).
    pub signed_in: SignedIn,
    pub connection: ConnectionState,
    pub last_event: Option<DateTime<Utc>>,
    pub rate: Option<RateBudget>,
    pub keymap: Keymap,
    pub view: View,
    pub focus: Pane,
    pub help: bool,
    pub confirm: Option<Confirm>,
    pub queues: QueuePicker,
    pub filter: Filter,
    pub sort: SortKey,
    pub conference: Cursor,
    pub participant: Cursor,
    pub jobs: Jobs,
    /// The jobs view's cursor, on a job's `seq`.
    pub job_cursor: Cursor,
    pub log: VecDeque<LogLine>,
    /// Lines scrolled up from the newest in the log view.
    pub log_scroll: usize,
    /// Warnings and errors logged since the log view was last open (the status line says so).
    pub unseen: Unseen,
    /// A one-line notice in the status line until the next key.
    pub flash: Option<String>,
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
            conference: Cursor::default(),
            participant: Cursor::default(),
            jobs: Jobs::default(),
            job_cursor: Cursor::default(),
            log: VecDeque::new(),
            log_scroll: 0,
            unseen: Unseen::default(),
            flash: None,
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

    /// The screen shows the too-small message instead of the console: keys other than quit are
    /// ignored, so nothing is chosen or confirmed on a screen the supervisor cannot see.
    pub fn screen_too_small(&self) -> bool {
        self.viewport.is_some_and(layout::too_small)
    }

    /// Rows a page holds in the current view (for PgUp/PgDn): what its pane shows.
    pub fn page_rows(&self) -> usize {
        let Some(area) = self.viewport else {
            return 10;
        };
        let screen = Screen::of(area);
        let rows = match self.view {
            View::Main => layout::table_rows(screen.panes().0),
            View::Jobs => layout::table_rows(screen.body),
            View::Log => layout::list_rows(screen.body),
        };
        rows.max(1)
    }

    fn on_feed(&mut self, event: FeedEvent) {
        match event {
            FeedEvent::Model(update) => {
                match &update {
                    Update::Queues(queues) => {
                        self.queues.learn(queues);
                        self.cache.changed = None;
                    }
                    Update::Snapshot(_)
                    | Update::ResyncPage(_)
                    | Update::ResyncDone
                    | Update::ResyncAbandoned => self.cache.changed = None,
                    Update::ResyncStarted => {}
                    Update::Conversation(conversation) => {
                        if let Some(changed) = self.cache.changed.as_mut() {
                            changed.insert(conversation.id.clone());
                            if changed.len() > INCREMENTAL_LIMIT {
                                self.cache.changed = None;
                            }
                        }
                    }
                }
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
            FeedEvent::Warning(text) => {
                // The platform stopped or replaced a channel: said in the status line too.
                if text.starts_with(crate::feed::CHANNEL_NOTICE) {
                    self.flash = Some(text.clone());
                }
                self.push_log(Level::Warn, text)
            }
        }
    }

    fn on_progress(&mut self, progress: Progress) {
        let now = self.now;
        let job = self.jobs.apply(progress, now);
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
                Some((Step::RateLimited { .. }, _)) => Some((
                    Level::Warn,
                    format!("kick {}: {}", job.name, job.status(now)),
                )),
                _ => None,
            },
        };
        if let Some((level, text)) = line {
            self.push_log(level, text);
        }
    }

    pub fn push_log(&mut self, level: Level, text: String) {
        // A line logged while the log view is open is seen as it arrives.
        if self.view != View::Log {
            match level {
                Level::Warn => self.unseen.warnings += 1,
                Level::Error => self.unseen.errors += 1,
                Level::Info => {}
            }
        }
        self.log.push_back(LogLine {
            at: self.now,
            level,
            text,
        });
        while self.log.len() > LOG_LINES {
            self.log.pop_front();
        }
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
            self.on_filter_key(key);
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
            // Any of these closes help; other keys are ignored while it is open.
            if matches!(command, Command::Help | Command::Back | Command::Quit) {
                self.help = false;
            }
            return Vec::new();
        }
        match command {
            Command::Quit => return self.quit(quit_armed),
            Command::Help => self.help = true,
            Command::Queues => self.queues.open = Some(0),
            Command::Jobs => {
                self.view = View::Jobs;
                // Pin the cursor to a job now, so jobs arriving later do not move it.
                let ids = self.job_ids();
                let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
                self.job_cursor = follow(&ids, &self.job_cursor);
            }
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
            Command::Back => self.back(),
            _ => {
                return match self.view {
                    View::Main => self.on_main_command(command),
                    View::Jobs => self.on_jobs_command(command),
                    View::Log => {
                        self.on_log_command(command);
                        Vec::new()
                    }
                };
            }
        }
        Vec::new()
    }

    /// Quits; while kicks run, only on a second press (quitting abandons them mid-way, before
    /// they are verified and audited). Ctrl-C still quits at once.
    fn quit(&mut self, armed: bool) -> Vec<Action> {
        let running = self.jobs.all().iter().filter(|j| j.is_running()).count();
        if running > 0 && !armed {
            self.quit_armed = true;
            self.flash = Some(format!(
                "{running} kick{} still running: press {} again to quit and abandon {}",
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
        if self.view != View::Main {
            self.view = View::Main;
        } else if self.focus == Pane::Participants {
            self.focus = Pane::Conferences;
        } else if !self.filter.text.is_empty() {
            self.filter.text.clear();
            self.refresh();
        }
    }

    fn on_filter_key(&mut self, key: KeyEvent) {
        match key.code {
            KeyCode::Enter => self.filter.editing = false,
            KeyCode::Esc => {
                self.filter.editing = false;
                self.filter.text.clear();
            }
            KeyCode::Backspace => {
                self.filter.text.pop();
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                self.filter.text.push(c);
            }
            _ => {}
        }
        self.refresh();
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
            Command::Open if self.conference.id.is_some() => {
                self.focus = Pane::Participants;
                if let Some(id) = self.conference.id.clone()
                    && self.model.is_from_analytics(&id)
                {
                    return vec![Action::ReadCall(id)];
                }
            }
            Command::Kick => match &self.signed_in.read_only {
                // Known before any request: explain instead of opening the dialog.
                Some(reason) => self.flash = Some(format!("read-only: {reason}; nothing sent")),
                None => self.open_confirm(),
            },
            Command::CancelKick => return self.cancel_selected(),
            _ => {}
        }
        Vec::new()
    }

    fn on_jobs_command(&mut self, command: Command) -> Vec<Action> {
        let ids = self.job_ids();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let page = self.page_rows() as isize;
        let delta = match command {
            Command::Down => 1,
            Command::Up => -1,
            Command::PageDown => page,
            Command::PageUp => -page,
            Command::Top => isize::MIN / 2,
            Command::Bottom => isize::MAX / 2,
            Command::CancelKick => {
                let cursor = follow(&ids, &self.job_cursor);
                let job = cursor
                    .id
                    .and_then(|id| self.jobs.all().iter().find(|j| j.seq.to_string() == id));
                match job {
                    Some(job) if job.is_running() => {
                        return vec![Action::Cancel(job.target.clone())];
                    }
                    Some(_) => self.flash = Some("that kick has already finished".to_string()),
                    None => {}
                }
                return Vec::new();
            }
            _ => return Vec::new(),
        };
        self.job_cursor = step(&ids, &self.job_cursor, delta);
        Vec::new()
    }

    /// The jobs' ids in the jobs view's order (newest first).
    fn job_ids(&self) -> Vec<String> {
        self.jobs
            .all()
            .iter()
            .rev()
            .map(|j| j.seq.to_string())
            .collect()
    }

    /// Where the jobs view's cursor is (newest first).
    pub fn job_index(&self) -> Option<usize> {
        let ids = self.job_ids();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let cursor = follow(&ids, &self.job_cursor);
        cursor.id.map(|_| cursor.hint)
    }

    fn on_log_command(&mut self, command: Command) {
        let max = self.log.len().saturating_sub(1);
        self.log_scroll = match command {
            Command::Up => (self.log_scroll + 1).min(max),
            Command::Down => self.log_scroll.saturating_sub(1),
            Command::PageUp => (self.log_scroll + self.page_rows()).min(max),
            Command::PageDown => self.log_scroll.saturating_sub(self.page_rows()),
            Command::Top => max,
            Command::Bottom => 0,
            _ => self.log_scroll,
        };
    }

    fn on_confirm_key(&mut self, key: KeyEvent) -> Vec<Action> {
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
    fn open_confirm(&mut self) {
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
        let Some((others_remaining, risk)) = self.assess(&target) else {
            return;
        };
        let row = self.model.conference_row(conversation);
        self.confirm = Some(Confirm {
            name,
            purpose: leg.purpose().to_string(),
            conference: conference_label(&row),
            others_remaining,
            risk,
            second_stage: false,
            choice: Choice::Cancel,
            target,
        });
    }

    /// The live legs that would stay, and the risk, of removing `target` as the model now
    /// stands (the kick engine's own safety rule); None when the target is no longer on the call.
    fn assess(&self, target: &Target) -> Option<(usize, Option<Risk>)> {
        let conversation = self.model.conversation(&target.conversation_id)?;
        let leg = conversation
            .participant(&target.participant_id)
            .filter(|leg| !leg.state.is_gone())?;
        let assessment = crate::kick::safety::assess(conversation, leg);
        Some((assessment.others_remaining, assessment.risk))
    }

    /// Keeps an open dialog true to the call while it changes: the target leaving closes it
    /// (nothing sent); a changed risk updates the warning and puts the answer back to Cancel,
    /// so a key already on its way cannot confirm what the supervisor has not read.
    fn reassess_confirm(&mut self) {
        let Some(target) = self.confirm.as_ref().map(|c| c.target.clone()) else {
            return;
        };
        match self.assess(&target) {
            None => {
                let name = self.confirm.take().map(|c| c.name).unwrap_or_default();
                self.flash = Some(format!("{name} left the call; nothing sent"));
            }
            Some((others_remaining, risk)) => {
                if let Some(confirm) = self.confirm.as_mut() {
                    confirm.others_remaining = others_remaining;
                    if confirm.risk != risk {
                        confirm.risk = risk;
                        confirm.second_stage = false;
                        confirm.choice = Choice::Cancel;
                    }
                }
            }
        }
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
                    .cache
                    .rows
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
                let rows = self.model.participants(id, self.now);
                let ids: Vec<&str> = rows.iter().map(|r| r.participant_id.as_str()).collect();
                self.participant = step(&ids, &self.participant, delta);
            }
        }
    }

    /// Rebuilds the conference rows if the model, filter or sort changed, and re-finds the
    /// cursors by id. Cheap when nothing changed; called before keys are handled and before a draw.
    pub fn refresh(&mut self) {
        let key = (self.filter.text.clone(), self.sort, self.queues.revision);
        if self.cache.key.as_ref() != Some(&key) {
            self.rebuild_rows();
            self.cache.key = Some(key);
        } else if self.cache.revision != self.model.revision() {
            match self.cache.changed.take() {
                Some(changed) => changed.iter().for_each(|id| self.update_row(id)),
                None => self.rebuild_rows(),
            }
        }
        self.cache.revision = self.model.revision();
        self.cache.changed = Some(HashSet::new());
        let ids: Vec<&str> = self
            .cache
            .rows
            .iter()
            .map(|r| r.conversation_id.as_str())
            .collect();
        let conference = follow(&ids, &self.conference);
        if conference.id != self.conference.id {
            let still_live = self
                .conference
                .id
                .as_deref()
                .and_then(|id| self.model.conversation(id))
                .is_some_and(is_conference);
            if self.focus == Pane::Participants && still_live {
                // Only filtered out (its state changed, say): the supervisor is working in it,
                // so it stays open rather than another conference taking its place.
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
            let rows = self.model.participants(&id, self.now);
            let ids: Vec<&str> = rows.iter().map(|r| r.participant_id.as_str()).collect();
            self.participant = follow(&ids, &self.participant);
        }
    }

    /// Forgets the cached rows (the benchmark's baseline: a full rebuild every frame).
    pub fn invalidate_rows(&mut self) {
        self.cache.key = None;
    }

    fn rebuild_rows(&mut self) {
        let needle = self.filter.text.to_lowercase();
        let mut rows: Vec<Arc<ConferenceRow>> = self
            .model
            .conferences()
            .into_iter()
            .filter(|row| self.shows(row, &needle))
            .map(Arc::new)
            .collect();
        let sort = self.sort;
        rows.sort_by(|a, b| compare(sort, a, b));
        self.cache.rows = rows;
    }

    /// Moves one conversation's row to where it now belongs (or drops it, or adds it).
    fn update_row(&mut self, conversation_id: &str) {
        let rows = &mut self.cache.rows;
        if let Some(index) = rows
            .iter()
            .position(|r| r.conversation_id == conversation_id)
        {
            rows.remove(index);
        }
        let Some(conversation) = self.model.conversation(conversation_id) else {
            return;
        };
        if !is_conference(conversation) {
            return;
        }
        let row = self.model.conference_row(conversation);
        if !self.shows(&row, &self.filter.text.to_lowercase()) {
            return;
        }
        let sort = self.sort;
        let rows = &mut self.cache.rows;
        let index = rows
            .binary_search_by(|probe| compare(sort, probe, &row))
            .unwrap_or_else(|index| index);
        rows.insert(index, Arc::new(row));
    }

    fn shows(&self, row: &ConferenceRow, needle: &str) -> bool {
        self.queues.shows(row.queue_id.as_deref())
            && (needle.is_empty() || self.matches(row, needle))
    }

    fn matches(&self, row: &ConferenceRow, needle: &str) -> bool {
        let hit = |s: &str| s.to_lowercase().contains(needle);
        if row.queue_name.as_deref().is_some_and(hit) || row.customer.as_deref().is_some_and(hit) {
            return true;
        }
        self.model
            .conversation(&row.conversation_id)
            .is_some_and(|c| {
                c.participants.iter().any(|p| {
                    p.name.as_deref().is_some_and(hit)
                        || p.user
                            .as_ref()
                            .and_then(|u| u.name.as_deref())
                            .is_some_and(hit)
                        || p.state.as_str().contains(needle)
                })
            })
    }

    /// The conference rows in screen order (call [`App::refresh`] first).
    pub fn rows(&self) -> &[Arc<ConferenceRow>] {
        &self.cache.rows
    }

    /// Where the conference cursor is in [`App::rows`].
    pub fn conference_index(&self) -> Option<usize> {
        let id = self.conference.id.as_deref()?;
        self.cache.rows.iter().position(|r| r.conversation_id == id)
    }
}

/// The order of the conference list; ties broken by id so it is total and stable.
fn compare(sort: SortKey, a: &ConferenceRow, b: &ConferenceRow) -> Ordering {
    match sort {
        SortKey::Age => (a.started.is_none(), a.started, &a.conversation_id).cmp(&(
            b.started.is_none(),
            b.started,
            &b.conversation_id,
        )),
        SortKey::Queue => (&a.queue_name, &a.queue_id, &a.conversation_id).cmp(&(
            &b.queue_name,
            &b.queue_id,
            &b.conversation_id,
        )),
        SortKey::Parties => (std::cmp::Reverse(a.live_parties), &a.conversation_id)
            .cmp(&(std::cmp::Reverse(b.live_parties), &b.conversation_id)),
    }
}

/// "Sales · Alex Moreno" (or the conversation id when nothing else is known).
pub fn conference_label(row: &ConferenceRow) -> String {
    let queue = row.queue_name.as_deref().or(row.queue_id.as_deref());
    match (queue, row.customer.as_deref()) {
        (Some(q), Some(c)) => format!("{q} · {c}"),
        (Some(q), None) => q.to_string(),
        (None, Some(c)) => c.to_string(),
        (None, None) => row.conversation_id.clone(),
    }
}

/// The cursor after the rows changed: same id if it is still there, else the row now at its
/// old place, else nothing.
fn follow(ids: &[&str], cursor: &Cursor) -> Cursor {
    if let Some(id) = cursor.id.as_deref()
        && let Some(index) = ids.iter().position(|i| *i == id)
    {
        return Cursor {
            id: cursor.id.clone(),
            hint: index,
        };
    }
    match ids.get(cursor.hint.min(ids.len().saturating_sub(1))) {
        Some(id) => Cursor {
            id: Some(id.to_string()),
            hint: cursor.hint.min(ids.len() - 1),
        },
        None => Cursor::default(),
    }
}

fn step(ids: &[&str], cursor: &Cursor, delta: isize) -> Cursor {
    if ids.is_empty() {
        return Cursor::default();
    }
    let current = follow(ids, cursor).hint as isize;
    let index = current
        .saturating_add(delta)
        .clamp(0, ids.len() as isize - 1) as usize;
    Cursor {
        id: Some(ids[index].to_string()),
        hint: index,
    }
}
