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

/// A text file of at most `limit` bytes. Only a regular file is read: a FIFO, a device (such as
/// `/dev/zero`), a socket or a directory is refused with a message, as is a larger file, before
/// anything is read. On unix the file is opened non-blocking, so a FIFO with no writer cannot
/// hold up the open itself; its type is then checked on the opened handle (no race with a
/// rename between a check and the open).
///
/// Where bounds live: each input's limit is a named constant in the module that owns that input
/// (the config file's in `config`, the token file's in `platform::token_store`, ...); this reader
/// (and `platform::answer` for answers from the network) enforces it and words the refusal.
pub fn read_capped(path: &Path, limit: u64) -> std::io::Result<String> {
    use std::io::Read;
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "{} is not a regular file ({}); refused",
                path.display(),
                kind_of(&meta.file_type())
            ),
        ));
    }
    if meta.len() > limit {
        return Err(too_large(path, limit));
    }
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    // The file may have grown since its size was read.
    if bytes.len() as u64 > limit {
        return Err(too_large(path, limit));
    }
    String::from_utf8(bytes).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{} is not UTF-8 text", path.display()),
        )
    })
}

fn too_large(path: &Path, limit: u64) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("{} is larger than {limit} bytes; refused", path.display()),
    )
}

/// What a file that is not a regular file is, in words.
fn kind_of(file_type: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO";
        }
        if file_type.is_char_device() || file_type.is_block_device() {
            return "a device";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    if file_type.is_dir() {
        "a directory"
    } else {
        "not a file"
    }
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

    #[cfg(unix)]
    #[test]
    fn fifos_devices_and_oversize_files_are_refused_before_reading() {
        let dir = std::env::temp_dir().join(format!("untrusted-input-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            // No writer: a blocking open would wait for ever.
            let err = read_capped(&fifo, 1024).unwrap_err().to_string();
            assert!(err.contains("not a regular file (a FIFO)"), "{err}");
        }
        let err = read_capped(Path::new("/dev/zero"), 1024)
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a regular file (a device)"), "{err}");
        let err = read_capped(&dir, 1024).unwrap_err().to_string();
        assert!(err.contains("a directory"), "{err}");
        let big = dir.join("big");
        std::fs::write(&big, vec![b'a'; 2048]).unwrap();
        let err = read_capped(&big, 1024).unwrap_err().to_string();
        assert!(err.contains("larger than 1024 bytes"), "{err}");
        assert_eq!(read_capped(&big, 2048).unwrap().len(), 2048);
        std::fs::remove_dir_all(&dir).unwrap();
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
