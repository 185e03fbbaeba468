//! Text that came from the network (names, platform messages, ids), made safe to print: the one
//! place that removes what could drive a terminal. Used by the CLI's output, error messages and
//! the console (ratatui also drops control characters when drawing; this makes the CLI and the
//! console show the same text).

use std::borrow::Cow;

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// `text` without control characters (C0 such as ESC, BEL, CR, LF and TAB; DEL; C1 such as the
/// 8-bit CSI) and without the Unicode marks that reorder text on screen. An escape sequence
/// loses its ESC (or CSI) byte, so what is left prints as plain characters and drives nothing.
pub fn clean(text: &str) -> Cow<'_, str> {
    if text.chars().any(unsafe_char) {
        Cow::Owned(text.chars().filter(|c| !unsafe_char(*c)).collect())
    } else {
        Cow::Borrowed(text)
    }
}

/// [`clean`], then cut to at most `max_chars` characters with `…` when cut: for echoing input
/// that may be huge (a 100 KB id) in a one-line message.
pub(crate) fn clip(text: &str, max_chars: usize) -> String {
    let text = clean(text);
    if text.chars().count() <= max_chars {
        return text.into_owned();
    }
    let mut out: String = text.chars().take(max_chars.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `text` cut to at most `width` terminal cells, with `…` when cut (wide characters count two).
pub(crate) fn truncate(text: &str, width: usize) -> String {
    // Names and purposes come from the platform: cleaned first.
    let text = &*clean(text);
    if text.width() <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        // Room for the character and the ellipsis.
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

/// Splits `text` at spaces into lines of at most `width` columns (long words are cut).
pub(crate) fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split(' ') {
        let line = lines.last_mut().expect("never empty");
        if !line.is_empty() && line.width() + 1 + word.width() > width {
            lines.push(String::new());
        }
        let line = lines.last_mut().expect("never empty");
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    lines.into_iter().map(|l| truncate(&l, width)).collect()
}

/// `text` padded with spaces to `width` terminal cells (`format!` pads by characters, which
/// misaligns the columns after a wide name).
pub(crate) fn pad(text: &str, width: usize) -> String {
    let fill = width.saturating_sub(text.width());
    format!("{text}{}", " ".repeat(fill))
}

/// An age: `42s`, `4m 12s`, `1h 03m`.
pub(crate) fn age(ms: u64) -> String {
    let secs = ms / 1000;
    if secs < 60 {
        format!("{secs}s")
    } else if secs < 3600 {
        format!("{}m {:02}s", secs / 60, secs % 60)
    } else {
        format!("{}h {:02}m", secs / 3600, (secs % 3600) / 60)
    }
}

/// Time in a state: `1.4 s` for the first minute (the kick's waits are that short), then `4m 12s`.
pub(crate) fn in_state(ms: u64) -> String {
    if ms < 60_000 { seconds_1(ms) } else { age(ms) }
}

/// `1.4 s` (tenths cut, not rounded).
pub(crate) fn seconds_1(ms: u64) -> String {
    format!("{}.{} s", ms / 1000, (ms % 1000) / 100)
}

fn unsafe_char(c: char) -> bool {
    c.is_control()
        // Bidirectional embeddings, overrides and isolates: they reorder what follows.
        || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn cleaned_text_has_no_control_characters(text in any::<String>()) {
            prop_assert!(!clean(&text).chars().any(char::is_control));
            prop_assert!(clip(&text, 50).chars().count() <= 50);
        }
    }

    #[test]
    fn escape_sequences_lose_their_control_bytes() {
        let name = "Eve\u{1b}]0;PWNED\u{7}\u{1b}[2J\u{1b}[31m\u{9b}31m\r\nX\u{7f}\u{202e}";
        let cleaned = clean(name);
        assert_eq!(cleaned, "Eve]0;PWNED[2J[31m31mX");
        assert!(!cleaned.chars().any(char::is_control));
    }

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        assert!(matches!(
            clean("Zoë 山田 O'Brien"),
            Cow::Borrowed("Zoë 山田 O'Brien")
        ));
    }

    #[test]
    fn ages_read_naturally() {
        assert_eq!(age(4_200), "4s");
        assert_eq!(age(252_000), "4m 12s");
        assert_eq!(age(3_780_000), "1h 03m");
    }

    #[test]
    fn truncate_and_pad_count_terminal_cells() {
        assert_eq!(truncate("山田太郎", 5), "山田…");
        assert_eq!(truncate("Ann", 0), "");
        assert_eq!(truncate("Ann", 3), "Ann");
        assert_eq!(pad("山", 4), "山  ");
    }

    #[test]
    fn clip_cuts_long_text() {
        let long = "a".repeat(100_000);
        let cut = clip(&long, 40);
        assert_eq!(cut.chars().count(), 40);
        assert!(cut.ends_with('…'));
        assert_eq!(clip("short\u{1b}", 40), "short");
    }
}
