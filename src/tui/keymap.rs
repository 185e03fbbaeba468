//! One table of key bindings, each with a description: the help screen and the status-line hints
//! are generated from it, and the `[keys]` section of the config file overrides it.

use std::collections::BTreeMap;
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What a key asks for, before the app decides what it means in the current context.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Command {
    Down,
    Up,
    PageDown,
    PageUp,
    Top,
    Bottom,
    NextPane,
    Open,
    Back,
    Filter,
    Sort,
    Kick,
    CancelKick,
    Jobs,
    Log,
    Queues,
    Help,
    Quit,
}

impl Command {
    /// Every command, in the order help lists them.
    pub(crate) const ALL: [Command; 18] = [
        Command::Down,
        Command::Up,
        Command::PageDown,
        Command::PageUp,
        Command::Top,
        Command::Bottom,
        Command::NextPane,
        Command::Open,
        Command::Back,
        Command::Filter,
        Command::Sort,
        Command::Kick,
        Command::CancelKick,
        Command::Jobs,
        Command::Log,
        Command::Queues,
        Command::Help,
        Command::Quit,
    ];

    /// The name used in the config file's `[keys]` section.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Command::Down => "down",
            Command::Up => "up",
            Command::PageDown => "page_down",
            Command::PageUp => "page_up",
            Command::Top => "top",
            Command::Bottom => "bottom",
            Command::NextPane => "next_pane",
            Command::Open => "open",
            Command::Back => "back",
            Command::Filter => "filter",
            Command::Sort => "sort",
            Command::Kick => "kick",
            Command::CancelKick => "cancel_kick",
            Command::Jobs => "jobs",
            Command::Log => "log",
            Command::Queues => "queues",
            Command::Help => "help",
            Command::Quit => "quit",
        }
    }

    pub(crate) fn description(self) -> &'static str {
        match self {
            Command::Down => "move down",
            Command::Up => "move up",
            Command::PageDown => "page down",
            Command::PageUp => "page up",
            Command::Top => "first row",
            Command::Bottom => "last row",
            Command::NextPane => "switch pane",
            Command::Open => "open conference",
            Command::Back => "back / close",
            Command::Filter => "filter by name, queue, state",
            Command::Sort => "change sort order",
            Command::Kick => "remove the selected participant",
            Command::CancelKick => "cancel the selected kick",
            Command::Jobs => "jobs view (every kick)",
            Command::Log => "log view (warnings, errors)",
            Command::Queues => "choose the queues shown",
            Command::Help => "help",
            Command::Quit => "quit",
        }
    }

    /// The short word used in the status-line hints.
    pub(crate) fn hint(self) -> &'static str {
        match self {
            Command::Down | Command::Up => "move",
            Command::Open => "open",
            Command::Filter => "filter",
            Command::Kick => "kick",
            Command::CancelKick => "cancel",
            Command::Jobs => "jobs",
            Command::Help => "help",
            Command::Quit => "quit",
            Command::Back => "back",
            Command::NextPane => "pane",
            Command::Sort => "sort",
            Command::Log => "log",
            Command::Queues => "queues",
            _ => self.name(),
        }
    }
}

/// A key as written in the config file and shown on screen: `j`, `G`, `ctrl-d`, `enter`, `pgdn`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    pub(crate) code: KeyCode,
    pub(crate) ctrl: bool,
}

impl Key {
    pub(crate) const fn plain(code: KeyCode) -> Self {
        Key { code, ctrl: false }
    }

    pub(crate) const fn char(c: char) -> Self {
        Key::plain(KeyCode::Char(c))
    }

    /// The key of a terminal event; Shift is folded into the character itself.
    pub(crate) fn from_event(event: &KeyEvent) -> Self {
        let code = match event.code {
            KeyCode::BackTab => KeyCode::Tab,
            other => other,
        };
        Key {
            code,
            ctrl: event.modifiers.contains(KeyModifiers::CONTROL),
        }
    }

    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let (ctrl, rest) = match text.get(..5) {
            Some(prefix) if prefix.eq_ignore_ascii_case("ctrl-") => (true, &text[5..]),
            _ => (false, text),
        };
        let code = match rest.to_ascii_lowercase().as_str() {
            "enter" | "return" => KeyCode::Enter,
            "esc" | "escape" => KeyCode::Esc,
            "tab" => KeyCode::Tab,
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "pgup" | "pageup" => KeyCode::PageUp,
            "pgdn" | "pgdown" | "pagedown" => KeyCode::PageDown,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "space" => KeyCode::Char(' '),
            "delete" | "del" => KeyCode::Delete,
            _ => {
                let mut chars = rest.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => KeyCode::Char(if ctrl { c.to_ascii_lowercase() } else { c }),
                    _ => return Err(format!("unknown key {text:?}")),
                }
            }
        };
        Ok(Key { code, ctrl })
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("ctrl-")?;
        }
        match self.code {
            KeyCode::Enter => f.write_str("enter"),
            KeyCode::Esc => f.write_str("esc"),
            KeyCode::Tab => f.write_str("tab"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::PageUp => f.write_str("pgup"),
            KeyCode::PageDown => f.write_str("pgdn"),
            KeyCode::Home => f.write_str("home"),
            KeyCode::End => f.write_str("end"),
            KeyCode::Delete => f.write_str("del"),
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// The bindings: several keys may run one command.
#[derive(Clone, Debug)]
pub struct Keymap {
    bindings: Vec<(Key, Command)>,
}

impl Default for Keymap {
    fn default() -> Self {
        use KeyCode as K;
        let bindings = vec![
            (Key::char('j'), Command::Down),
            (Key::plain(K::Down), Command::Down),
            (Key::char('k'), Command::Up),
            (Key::plain(K::Up), Command::Up),
            (Key::plain(K::PageDown), Command::PageDown),
            (Key::plain(K::PageUp), Command::PageUp),
            (Key::char('g'), Command::Top),
            (Key::plain(K::Home), Command::Top),
            (Key::char('G'), Command::Bottom),
            (Key::plain(K::End), Command::Bottom),
            (Key::plain(K::Tab), Command::NextPane),
            (Key::plain(K::Enter), Command::Open),
            (Key::plain(K::Esc), Command::Back),
            (Key::char('/'), Command::Filter),
            (Key::char('s'), Command::Sort),
            (Key::char('d'), Command::Kick),
            (Key::char('c'), Command::CancelKick),
            (Key::char('J'), Command::Jobs),
            (Key::char('L'), Command::Log),
            (Key::char('Q'), Command::Queues),
            (Key::char('?'), Command::Help),
            (Key::char('q'), Command::Quit),
        ];
        Keymap { bindings }
    }
}

impl Keymap {
    /// The defaults with the `[keys]` section applied: `kick = "x"` or `down = ["j", "ctrl-n"]`
    /// replace every default key of that command. Unknown names or keys are errors, so a typo
    /// in the config file does not silently leave a destructive key where the user did not expect.
    pub fn with_overrides(keys: &toml::Table) -> Result<Self, String> {
        let mut map = Keymap::default();
        let mut replaced: BTreeMap<Command, Vec<Key>> = BTreeMap::new();
        for (name, value) in keys {
            let command = Command::ALL
                .into_iter()
                .find(|c| c.name() == name)
                .ok_or_else(|| format!("[keys]: unknown command {name:?}"))?;
            let texts: Vec<&str> = match value {
                toml::Value::String(s) => vec![s.as_str()],
                toml::Value::Array(items) => items
                    .iter()
                    .map(|v| {
                        v.as_str()
                            .ok_or_else(|| format!("[keys] {name}: keys must be strings"))
                    })
                    .collect::<Result<_, _>>()?,
                _ => return Err(format!("[keys] {name}: expected a key or a list of keys")),
            };
            let keys = texts
                .into_iter()
                .map(Key::parse)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("[keys] {name}: {e}"))?;
            // The confirm dialog answers `y`/`Y` with Remove: a kick key among them would let
            // one held key open the dialog and confirm it.
            if command == Command::Kick
                && let Some(key) = keys
                    .iter()
                    .find(|k| !k.ctrl && matches!(k.code, KeyCode::Char('y' | 'Y')))
            {
                return Err(format!(
                    "[keys] kick: {key} answers the confirm dialog; choose another key"
                ));
            }
            replaced.insert(command, keys);
        }
        map.bindings.retain(|(_, c)| !replaced.contains_key(c));
        for (command, keys) in replaced {
            for key in keys {
                // Ctrl-C always quits; it cannot be rebound.
                if key.ctrl && key.code == KeyCode::Char('c') {
                    continue;
                }
                // A key rebound to a new command leaves its old one.
                map.bindings.retain(|(k, _)| *k != key);
                map.bindings.push((key, command));
            }
        }
        Ok(map)
    }

    pub(crate) fn command(&self, event: &KeyEvent) -> Option<Command> {
        // Alt (Meta) and Super are no part of any binding: alt-d is not d (which kicks).
        if event
            .modifiers
            .intersects(KeyModifiers::ALT | KeyModifiers::SUPER | KeyModifiers::META)
        {
            return None;
        }
        let key = Key::from_event(event);
        self.bindings
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, c)| *c)
    }

    pub(crate) fn keys(&self, command: Command) -> impl Iterator<Item = Key> + '_ {
        self.bindings
            .iter()
            .filter(move |(_, c)| *c == command)
            .map(|(k, _)| *k)
    }

    /// The keys of a command as shown on screen: `j/↓`.
    pub(crate) fn keys_label(&self, command: Command) -> String {
        let keys: Vec<String> = self.keys(command).map(|k| k.to_string()).collect();
        if keys.is_empty() {
            "(unbound)".to_string()
        } else {
            keys.join("/")
        }
    }

    /// Help rows: keys, description, in table order.
    pub(crate) fn help_rows(&self) -> Vec<(String, &'static str)> {
        let mut rows: Vec<(String, &'static str)> = Command::ALL
            .into_iter()
            .map(|c| (self.keys_label(c), c.description()))
            .collect();
        rows.push(("ctrl-c".to_string(), "quit, from anywhere"));
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn defaults_cover_every_command() {
        let map = Keymap::default();
        for command in Command::ALL {
            assert!(map.keys(command).next().is_some(), "{command:?} unbound");
        }
        assert_eq!(map.command(&press(KeyCode::Char('j'))), Some(Command::Down));
        assert_eq!(map.keys_label(Command::Down), "j/↓");
    }

    #[test]
    fn overrides_replace_and_unbind() {
        let table: toml::Table = toml::from_str("kick = \"x\"\ndown = [\"n\", \"down\"]").unwrap();
        let map = Keymap::with_overrides(&table).unwrap();
        assert_eq!(map.command(&press(KeyCode::Char('x'))), Some(Command::Kick));
        assert_eq!(map.command(&press(KeyCode::Char('d'))), None);
        assert_eq!(map.command(&press(KeyCode::Char('n'))), Some(Command::Down));
        assert_eq!(map.command(&press(KeyCode::Char('j'))), None);
        assert_eq!(map.keys_label(Command::Kick), "x");
    }

    #[test]
    fn bad_overrides_are_errors() {
        let unknown: toml::Table = toml::from_str("explode = \"x\"").unwrap();
        assert!(Keymap::with_overrides(&unknown).is_err());
        let bad_key: toml::Table = toml::from_str("kick = \"hyper-x\"").unwrap();
        assert!(Keymap::with_overrides(&bad_key).is_err());
    }

    #[test]
    fn alt_keys_are_not_their_plain_keys() {
        let map = Keymap::default();
        let alt_d = KeyEvent::new(KeyCode::Char('d'), KeyModifiers::ALT);
        assert_eq!(map.command(&alt_d), None);
        let alt_q = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::ALT);
        assert_eq!(map.command(&alt_q), None);
        // Shift stays folded into the character.
        let shift_g = KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT);
        assert_eq!(map.command(&shift_g), Some(Command::Bottom));
    }

    #[test]
    fn kick_cannot_be_bound_to_a_key_that_answers_the_dialog() {
        for text in ["kick = \"y\"", "kick = [\"x\", \"Y\"]"] {
            let table: toml::Table = toml::from_str(text).unwrap();
            let error = Keymap::with_overrides(&table).unwrap_err();
            assert!(error.contains("confirm dialog"), "{error}");
        }
    }

    #[test]
    fn parses_ctrl_keys() {
        let key = Key::parse("ctrl-d").unwrap();
        assert!(key.ctrl);
        assert_eq!(key.code, KeyCode::Char('d'));
        assert_eq!(key.to_string(), "ctrl-d");
    }
}
