//! The one event loop: a `tokio::select!` over terminal events, a tick, the feed and the kick
//! progress. Pending events are drained in a batch, then the screen is drawn once.

use std::time::Duration;

use chrono::Utc;
use color_eyre::eyre::Result;
use crossterm::event::Event;
use futures::{Stream, StreamExt};
use ratatui::Terminal;
use ratatui::backend::Backend;
use tokio::sync::mpsc;

use super::app::{Action, App, Input, Level};
use super::theme::Theme;
use super::views;
use crate::feed::{ConnectionState, FeedEvent, RateFigures};
use crate::kick::{Progress, Target};
use crate::live::Update;
use crate::wire::CallConversation;

/// How often ages and countdowns move on screen.
const TICK: Duration = Duration::from_millis(250);
/// At most this many queued inputs are applied before a frame is drawn, so a flood of events
/// cannot starve the screen.
const BATCH: usize = 2_000;

/// What the loop needs from the kick engine.
pub trait Kicker {
    fn kick(&mut self, target: Target, force: bool);
    fn cancel(&mut self, target: &Target);
    /// Every conversation update the feed delivers, so waiting jobs wake on live events.
    fn observe(&mut self, conversation: &CallConversation);
    /// The feed lost events (reconnecting, polling): waiting jobs should re-read.
    fn events_lost(&mut self);
    /// Read one call exactly (the console opened a row known only from analytics).
    fn read_call(&mut self, _conversation_id: &str) {}
}

/// Puts text on the clipboard.
pub type Clipboard = Box<dyn FnMut(&str) + Send>;

/// What the loop listens to besides the terminal: the feed, the kick jobs' progress, and the
/// client's rate budget.
pub struct LoopChannels {
    pub feed: mpsc::Receiver<FeedEvent>,
    pub progress: mpsc::UnboundedReceiver<Progress>,
    /// The client's latest rate-limit budget, read on each tick: kicks spend it between the
    /// feed's own reports.
    pub rate_budget: Option<Box<dyn Fn() -> RateFigures + Send>>,
    /// Puts text on the clipboard (the console writes OSC 52 to its terminal).
    pub clipboard: Option<Clipboard>,
}

/// How the loop ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// The supervisor quit (a quit key, ctrl-c), or the terminal's event stream ended.
    Quit,
    /// A signal asked the process to stop: `SIGINT`, `SIGTERM` or `SIGHUP`.
    Signal(&'static str),
}

/// Runs until the app quits (or the terminal's event stream ends, or a signal comes).
pub async fn run<B, S, K>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    theme: Theme,
    mut channels: LoopChannels,
    kicker: &mut K,
    mut events: S,
) -> Result<Ending>
where
    B: Backend,
    B::Error: Send + Sync + 'static,
    S: Stream<Item = std::io::Result<Event>> + Unpin,
    K: Kicker,
{
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut feed_open = true;
    let mut progress_open = true;
    let terminated = terminated();
    tokio::pin!(terminated);
    draw(terminal, app, theme)?;
    loop {
        let mut inputs = Vec::new();
        tokio::select! {
            // `kill` (SIGTERM), `kill -INT` from outside, or the terminal going away (SIGHUP):
            // leave through the normal path, so the terminal is restored and the mock stopped.
            signal = &mut terminated => return Ok(Ending::Signal(signal)),
            event = events.next() => match event {
                Some(Ok(Event::Key(key))) => inputs.push(Input::Key(key)),
                Some(Ok(Event::Mouse(mouse))) => inputs.push(Input::Mouse(mouse)),
                // Keys after it are judged at the new size (too small, a page's rows).
                Some(Ok(Event::Resize(width, height))) => inputs.push(Input::Resize { width, height }),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
                None => return Ok(Ending::Quit),
            },
            event = channels.feed.recv(), if feed_open => match event {
                Some(event) => inputs.push(Input::Feed(event)),
                None => {
                    feed_open = false;
                    app.push_log(Level::Error, "the live feed stopped".to_string());
                }
            },
            progress = channels.progress.recv(), if progress_open => match progress {
                Some(progress) => inputs.push(Input::Progress(progress)),
                None => progress_open = false,
            },
            _ = tick.tick() => {
                inputs.push(Input::Tick);
                if let Some(read) = &channels.rate_budget {
                    let budget = read();
                    if budget != RateFigures::default() && app.rate != Some(budget) {
                        inputs.push(Input::Feed(FeedEvent::RateBudget(budget)));
                    }
                }
            }
        }
        // Drain whatever else is already queued, then draw once.
        while inputs.len() < BATCH {
            if let Ok(event) = channels.feed.try_recv() {
                inputs.push(Input::Feed(event));
            } else if let Ok(progress) = channels.progress.try_recv() {
                inputs.push(Input::Progress(progress));
            } else {
                break;
            }
        }
        for input in inputs {
            match &input {
                Input::Feed(FeedEvent::Model(Update::Conversation(conversation))) => {
                    kicker.observe(conversation)
                }
                Input::Feed(FeedEvent::Model(Update::Snapshot(conversations))) => {
                    conversations.iter().for_each(|c| kicker.observe(c))
                }
                Input::Feed(FeedEvent::Connection(
                    ConnectionState::Reconnecting { .. } | ConnectionState::Polling { .. },
                )) => kicker.events_lost(),
                _ => {}
            }
            for action in app.update(input, Utc::now()) {
                match action {
                    Action::Kick { target, force } => kicker.kick(target, force),
                    Action::Cancel(target) => kicker.cancel(&target),
                    Action::ReadCall(id) => kicker.read_call(&id),
                    Action::Copy(text) => {
                        if let Some(copy) = channels.clipboard.as_mut() {
                            copy(&text);
                        }
                    }
                    Action::Quit => return Ok(Ending::Quit),
                }
            }
        }
        draw(terminal, app, theme)?;
    }
}

/// Brings the app up to date for a frame (the terminal's size, the rows), then draws it: the
/// views only read the app.
pub fn draw<B: Backend>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    theme: Theme,
) -> Result<(), B::Error> {
    let size = terminal.size()?;
    let resize = Input::Resize {
        width: size.width,
        height: size.height,
    };
    // No time passes: the frame shows the app as of its last input.
    app.update(resize, app.now);
    app.refresh();
    let mut hits = None;
    terminal.draw(|frame| hits = Some(views::draw(frame, app, theme)))?;
    app.hits = hits.unwrap_or_default();
    Ok(())
}

/// Resolves, with the signal's name, when the process is asked to stop by a signal (Ctrl-C
/// itself is a key in raw mode).
async fn terminated() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        // In raw mode Ctrl-C is a key, but SIGINT can still come from `kill -INT`: its default
        // action would end the process with the terminal left raw.
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(mut term), Ok(mut hup), Ok(mut int)) => {
                let name = tokio::select! {
                    _ = term.recv() => "SIGTERM",
                    _ = hup.recv() => "SIGHUP",
                    _ = int.recv() => "SIGINT",
                };
                tracing::info!("stopping on {name}");
                name
            }
            (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
                tracing::warn!("cannot listen for SIGTERM/SIGHUP/SIGINT: {e}");
                std::future::pending().await
            }
        }
    }
    #[cfg(not(unix))]
    std::future::pending().await
}
