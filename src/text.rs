//! Text that came from the network (names, platform messages, ids), made safe to print: the one
//! place that removes what could drive a terminal. Used by the CLI's output, error messages and
//! the console (ratatui also drops control characters when drawing; this makes the CLI and the
//! console show the same text).

pub use untrusted_input::clean;
pub(crate) use untrusted_input::clip;

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// `text` cut to at most `width` terminal cells, with `…` when cut (wide characters count two).
pub(crate) fn truncate(text: &str, width: usize) -> String {
    cut(text, width, false)
}

/// The end of `text` in at most `width` terminal cells, with `…` in front when cut: where
/// typing goes on.
pub(crate) fn tail(text: &str, width: usize) -> String {
    cut(text, width, true)
}

fn cut(text: &str, width: usize, keep_end: bool) -> String {
    // Names and purposes come from the platform: cleaned first.
    let text = &*clean(text);
    if text.width() <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    if keep_end {
        let end = cells(text.chars().rev(), width - 1);
        std::iter::once('…').chain(end.chars().rev()).collect()
    } else {
        let mut out = cells(text.chars(), width - 1);
        out.push('…');
        out
    }
}

/// The characters of `chars` that fill at most `room` cells, in the order taken.
fn cells(chars: impl Iterator<Item = char>, room: usize) -> String {
    let mut out = String::new();
    let mut used = 0;
    for c in chars {
        let w = c.width().unwrap_or(0);
        if used + w > room {
            break;
        }
        out.push(c);
        used += w;
    }
    out
}

/// Splits `text` at spaces into lines of at most `width` columns (long words are cut).
pub(crate) fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && line.width() + 1 + word.width() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    lines.push(line);
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

/// `1 call`, `2 calls`: a count and its noun, plural when it is not one.
pub(crate) fn count(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// `1.4 s` (tenths cut, not rounded).
pub(crate) fn seconds_1(ms: u64) -> String {
    format!("{}.{} s", ms / 1000, (ms % 1000) / 100)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(tail("abc山田", 5), "…山田");
        assert_eq!(tail("abc山田", 4), "…田");
        assert_eq!(tail("abc", 3), "abc");
        assert_eq!(tail("\u{1b}[2Jab", 9), "[2Jab");
    }
}
