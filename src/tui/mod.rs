//! The console's screen (ratatui): app state, actions and keymap, views, theme, the event loop.
//! Draws; never awaits I/O of its own (the `console` module wires it to the platform).

pub mod app;
pub mod jobs;
pub mod keymap;
pub mod layout;
pub mod runtime;
pub mod terminal;
pub mod theme;
pub mod views;

pub use app::{Action, App, Input};
pub use keymap::Keymap;
pub use theme::Theme;
