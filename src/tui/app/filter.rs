//! The filter line and the keys that edit it.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// The filter: a case-insensitive substring of a queue, a customer, a participant name or state.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Filter {
    pub text: String,
    pub editing: bool,
}

impl Filter {
    /// Edits the filter while it is open (the app re-filters its rows after).
    pub(super) fn on_key(&mut self, key: KeyEvent) {
        match key.code {
            KeyCode::Enter => self.editing = false,
            KeyCode::Esc => {
                self.editing = false;
                self.text.clear();
            }
            KeyCode::Backspace => {
                self.text.pop();
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                self.text.push(c);
            }
            _ => {}
        }
    }
}
