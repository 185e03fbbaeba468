//! Input from outside the program (the network, files, the user's environment) made safe to use:
//! text that cannot drive a terminal ([`clean`], [`clip`]) and files read with a bound
//! ([`read_capped`]). Shared by the confwatch console and the Genesys Cloud mock so that each rule
//! has one home.

use std::borrow::Cow;
use std::path::Path;

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
pub fn clip(text: &str, max_chars: usize) -> String {
    let text = clean(text);
    if text.chars().count() <= max_chars {
        return text.into_owned();
    }
    let mut out: String = text.chars().take(max_chars.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// A text file of at most `limit` bytes; a larger one (or `/dev/zero`) is refused, not read.
pub fn read_capped(path: &Path, limit: u64) -> std::io::Result<String> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(limit.saturating_add(1))
        .read_to_string(&mut text)?;
    if text.len() as u64 > limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{} is larger than {limit} bytes", path.display()),
        ));
    }
    Ok(text)
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
    fn clip_cuts_long_text() {
        let long = "a".repeat(100_000);
        let cut = clip(&long, 40);
        assert_eq!(cut.chars().count(), 40);
        assert!(cut.ends_with('…'));
        assert_eq!(clip("short\u{1b}", 40), "short");
    }
}
