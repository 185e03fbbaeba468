//! The console's screen (ratatui): app state, actions and keymap, views, theme, the event loop.
//! Draws; never awaits I/O of its own (the `console` module wires it to the platform).

pub(crate) mod app;
pub(crate) mod detail;
pub(crate) mod jobs;
pub(crate) mod keymap;
pub(crate) mod layout;
pub(crate) mod runtime;
pub(crate) mod terminal;
pub(crate) mod theme;
pub(crate) mod views;

// The facade: what the console, the tests and the benches use; the rest is the crate's own.
pub use app::{Action, App, Choice, Input, Level, Pane, SignedIn, View};
pub use keymap::Keymap;
pub use runtime::{Clipboard, Ending, Kicker, LoopChannels, draw, run};
pub use theme::Theme;
