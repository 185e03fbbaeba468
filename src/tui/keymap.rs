//! One table of key bindings, each with a description: the help screen and the status-line hints
//! are generated from it, and the `[keys]` section of the config file overrides it.

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
    Call,
    Back,
    Filter,
    Sort,
    Reverse,
    Pause,
    Copy,
    Kick,
    CancelKick,
    Jobs,
    Log,
    Queues,
    Dismiss,
    Help,
    Quit,
}

/// One row of the keymap table: a command, its name in the config file, its default keys, what
/// help says it does, and its word in the status-line hints.
pub(crate) struct Binding {
    pub(crate) command: Command,
    pub(crate) name: &'static str,
    pub(crate) keys: &'static [Key],
    pub(crate) description: &'static str,
    pub(crate) hint: &'static str,
}

const fn row(
    command: Command,
    name: &'static str,
    keys: &'static [Key],
    description: &'static str,
    hint: &'static str,
) -> Binding {
    Binding {
        command,
        name,
        keys,
        description,
        hint,
    }
}

/// The one table of commands, in the order help lists them. Help, the hints, the config file's
/// names and the default bindings all come from it.
pub(crate) const TABLE: &[Binding] = {
    use Command as C;
    use KeyCode as K;
    const fn c(ch: char) -> Key {
        Key::char(ch)
    }
    const fn p(code: KeyCode) -> Key {
        Key::plain(code)
    }
    &[
        row(
            C::Down,
            "down",
            &[c('j'), p(K::Down)],
            "move down / scroll down",
            "move",
        ),
        row(
            C::Up,
            "up",
            &[c('k'), p(K::Up)],
            "move up / scroll up",
            "move",
        ),
        row(
            C::PageDown,
            "page_down",
            &[p(K::PageDown)],
            "page down",
            "page",
        ),
        row(C::PageUp, "page_up", &[p(K::PageUp)], "page up", "page"),
        row(C::Top, "top", &[c('g'), p(K::Home)], "first row", "top"),
        row(
            C::Bottom,
            "bottom",
            &[c('G'), p(K::End)],
            "last row",
            "bottom",
        ),
        row(
            C::NextPane,
            "next_pane",
            &[p(K::Tab)],
            "switch pane",
            "pane",
        ),
        row(
            C::Open,
            "open",
            &[p(K::Enter)],
            "open: conference, then its call view; a job's story",
            "open",
        ),
        row(
            C::Call,
            "call",
            &[c('i')],
            "call view: timeline, ids, kicks",
            "call",
        ),
        row(C::Back, "back", &[p(K::Esc)], "back / close", "back"),
        row(
            C::Filter,
            "filter",
            &[c('/')],
            "filter: all words match; -word excludes; \"a b\" one term",
            "filter",
        ),
        row(
            C::Sort,
            "sort",
            &[c('s')],
            "sort by: age, in state, queue, customer, parties",
            "sort",
        ),
        row(
            C::Reverse,
            "reverse",
            &[c('S')],
            "reverse the sort",
            "reverse",
        ),
        row(
            C::Pause,
            "pause",
            &[c('p')],
            "pause: the list stops reordering (states still update)",
            "pause",
        ),
        row(
            C::Copy,
            "copy",
            &[c('Y')],
            "copy the selected id (OSC 52; also shown to select)",
            "copy id",
        ),
        row(
            C::Kick,
            "kick",
            &[c('d')],
            "remove the selected participant",
            "kick",
        ),
        row(
            C::CancelKick,
            "cancel_kick",
            &[c('c')],
            "cancel the selected kick",
            "cancel",
        ),
        row(C::Jobs, "jobs", &[c('J')], "jobs view (every kick)", "jobs"),
        row(
            C::Log,
            "log",
            &[c('L')],
            "log view (warnings, errors)",
            "log",
        ),
        row(
            C::Queues,
            "queues",
            &[c('Q')],
            "choose the queues shown",
            "queues",
        ),
        row(
            C::Dismiss,
            "dismiss",
            &[c('X')],
            "dismiss the AUDIT INCOMPLETE banner",
            "dismiss",
        ),
        row(C::Help, "help", &[c('?'), p(K::F(1))], "help", "help"),
        row(C::Quit, "quit", &[c('q')], "quit", "quit"),
    ]
};

impl Command {
    fn binding(self) -> &'static Binding {
        TABLE
            .iter()
            .find(|b| b.command == self)
            .unwrap_or(&TABLE[0])
    }

    /// The name used in the config file's `[keys]` section.
    pub(crate) fn name(self) -> &'static str {
        self.binding().name
    }

    /// The short word used in the status-line hints.
    pub(crate) fn hint(self) -> &'static str {
        self.binding().hint
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
        let lower = rest.to_ascii_lowercase();
        if let Some(number) = function_key(&lower) {
            return Ok(Key {
                code: KeyCode::F(number),
                ctrl,
            });
        }
        let code = match lower.as_str() {
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

/// `f1` to `f12`: the number.
fn function_key(name: &str) -> Option<u8> {
    let number: u8 = name.strip_prefix('f')?.parse().ok()?;
    (1..=12).contains(&number).then_some(number)
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
            KeyCode::F(n) => write!(f, "f{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// The bindings: several keys may run one command; a key runs at most one.
#[derive(Clone, Debug)]
pub struct Keymap {
    bindings: Vec<(Key, Command)>,
}

impl Default for Keymap {
    fn default() -> Self {
        let bindings = TABLE
            .iter()
            .flat_map(|b| b.keys.iter().map(|k| (*k, b.command)))
            .collect();
        Keymap { bindings }
    }
}

/// The `[keys]` entry that drops default keys: `unbind = ["j", "esc"]`.
const UNBIND: &str = "unbind";

impl Keymap {
    /// The defaults with the `[keys]` section applied. `kick = "x"` or `down = ["j", "ctrl-n"]`
    /// ADD keys to a command (its defaults stay); `unbind = ["d"]` drops keys first, so
    /// `unbind = ["d"]` and `kick = "x"` together move the kick to `x`. A key left bound to two
    /// commands is refused, naming both; so are unknown names and keys: a typo in the config
    /// file must not silently leave a destructive key where the user did not expect it.
    pub fn with_overrides(keys: &toml::Table) -> Result<Self, String> {
        let mut map = Keymap::default();
        if let Some(value) = keys.get(UNBIND) {
            for key in key_list(UNBIND, value)? {
                map.bindings.retain(|(k, _)| *k != key);
            }
        }
        for (name, value) in keys.iter().filter(|(name, _)| name.as_str() != UNBIND) {
            let command = TABLE
                .iter()
                .find(|b| b.name == name)
                .map(|b| b.command)
                .ok_or_else(|| format!("[keys]: unknown command {name:?}"))?;
            for key in key_list(name, value)? {
                // Ctrl-C always quits; it cannot be rebound.
                if key.ctrl && key.code == KeyCode::Char('c') {
                    return Err(format!(
                        "[keys] {name}: ctrl-c always quits; choose another key"
                    ));
                }
                // The confirm dialog answers `y`/`Y` with Remove: a kick key among them would
                // let one held key open the dialog and confirm it.
                if command == Command::Kick
                    && !key.ctrl
                    && matches!(key.code, KeyCode::Char('y' | 'Y'))
                {
                    return Err(format!(
                        "[keys] kick: {key} answers the confirm dialog; choose another key"
                    ));
                }
                match map.bindings.iter().find(|(k, _)| *k == key) {
                    Some((_, bound)) if *bound == command => {}
                    Some((_, bound)) => {
                        return Err(format!(
                            "[keys]: {key} would run both {} and {name}; drop it from one \
                             (unbind = [\"{key}\"] removes a default)",
                            bound.name()
                        ));
                    }
                    None => map.bindings.push((key, command)),
                }
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
        let mut rows: Vec<(String, &'static str)> = TABLE
            .iter()
            .map(|b| (self.keys_label(b.command), b.description))
            .collect();
        rows.push(("ctrl-c".to_string(), "quit, from anywhere"));
        rows.push(("mouse".to_string(), "click selects, wheel scrolls"));
        rows
    }
}

/// The keys of one `[keys]` entry: a key or a list of keys.
fn key_list(name: &str, value: &toml::Value) -> Result<Vec<Key>, String> {
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
    texts
        .into_iter()
        .map(Key::parse)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("[keys] {name}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn the_table_has_each_command_once_and_every_default_key_once() {
        let mut commands: Vec<Command> = TABLE.iter().map(|b| b.command).collect();
        commands.sort();
        commands.dedup();
        // 23 variants of `Command`: one row each.
        assert_eq!(commands.len(), TABLE.len());
        assert_eq!(TABLE.len(), 23);
        let map = Keymap::default();
        for binding in TABLE {
            assert!(
                map.keys(binding.command).next().is_some(),
                "{} unbound",
                binding.name
            );
            assert_eq!(binding.command.name(), binding.name);
        }
        let mut keys: Vec<String> = map.bindings.iter().map(|(k, _)| k.to_string()).collect();
        let all = keys.len();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), all, "a default key runs two commands");
        assert_eq!(map.command(&press(KeyCode::Char('j'))), Some(Command::Down));
        assert_eq!(map.keys_label(Command::Down), "j/↓");
    }

    #[test]
    fn overrides_add_to_the_defaults() {
        // The README's own example: ctrl-n moves down, and so do j and ↓ still.
        let table: toml::Table =
            toml::from_str("kick = \"x\"\ndown = [\"j\", \"ctrl-n\"]").unwrap();
        let map = Keymap::with_overrides(&table).unwrap();
        assert_eq!(map.command(&press(KeyCode::Char('x'))), Some(Command::Kick));
        assert_eq!(map.command(&press(KeyCode::Char('d'))), Some(Command::Kick));
        let ctrl_n = KeyEvent::new(KeyCode::Char('n'), KeyModifiers::CONTROL);
        assert_eq!(map.command(&ctrl_n), Some(Command::Down));
        assert_eq!(map.command(&press(KeyCode::Char('j'))), Some(Command::Down));
        assert_eq!(map.command(&press(KeyCode::Down)), Some(Command::Down));
        assert_eq!(map.keys_label(Command::Kick), "d/x");
    }

    #[test]
    fn unbind_drops_defaults_so_a_key_can_move() {
        let table: toml::Table =
            toml::from_str("unbind = [\"d\", \"esc\"]\nkick = \"x\"\nquit = \"esc\"").unwrap();
        let map = Keymap::with_overrides(&table).unwrap();
        assert_eq!(map.command(&press(KeyCode::Char('d'))), None);
        assert_eq!(map.keys_label(Command::Kick), "x");
        assert_eq!(map.command(&press(KeyCode::Esc)), Some(Command::Quit));
        assert_eq!(map.keys_label(Command::Back), "(unbound)");
    }

    #[test]
    fn a_key_bound_to_two_commands_is_refused_naming_both() {
        let table: toml::Table = toml::from_str("quit = \"esc\"").unwrap();
        let error = Keymap::with_overrides(&table).unwrap_err();
        assert!(
            error.contains("esc") && error.contains("back") && error.contains("quit"),
            "{error}"
        );
        let table: toml::Table = toml::from_str("jobs = \"x\"\nlog = \"x\"").unwrap();
        let error = Keymap::with_overrides(&table).unwrap_err();
        assert!(error.contains("jobs") && error.contains("log"), "{error}");
        let table: toml::Table = toml::from_str("help = \"ctrl-c\"").unwrap();
        assert!(
            Keymap::with_overrides(&table)
                .unwrap_err()
                .contains("ctrl-c")
        );
    }

    #[test]
    fn function_keys_parse_and_show() {
        for n in 1..=12u8 {
            let key = Key::parse(&format!("f{n}")).unwrap();
            assert_eq!(key.code, KeyCode::F(n));
            assert_eq!(key.to_string(), format!("f{n}"));
        }
        assert!(Key::parse("f13").is_err());
        assert!(Key::parse("f0").is_err());
        let table: toml::Table =
            toml::from_str("unbind = [\"f1\"]\njobs = \"F2\"\nlog = \"f1\"").unwrap();
        let map = Keymap::with_overrides(&table).unwrap();
        assert_eq!(map.command(&press(KeyCode::F(2))), Some(Command::Jobs));
        assert_eq!(map.command(&press(KeyCode::F(1))), Some(Command::Log));
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
