//! The filter line, the keys that edit it, and its terms.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::text::clean;

/// Longer input is refused: a pasted page must not grow the filter (or the work per key)
/// without end.
pub(crate) const MAX_FILTER_CHARS: usize = 200;

/// The filter: space-separated terms that must all match (see [`terms`]), each a
/// case-insensitive substring of a queue, a customer, a participant's name, purpose or state.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Filter {
    pub text: String,
    pub editing: bool,
}

/// What a key did to the filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Edit {
    Done,
    /// A character refused: the filter is full.
    Full,
}

impl Filter {
    /// Edits the filter while it is open (the app re-filters its rows after). Characters that
    /// could drive the terminal (escape codes, control characters, reordering marks) are dropped.
    pub(super) fn on_key(&mut self, key: KeyEvent) -> Edit {
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
                let typed = c.to_string();
                if clean(&typed).is_empty() {
                    return Edit::Done;
                }
                if self.text.chars().count() >= MAX_FILTER_CHARS {
                    return Edit::Full;
                }
                self.text.push(c);
            }
            _ => {}
        }
        Edit::Done
    }

    /// The terms as the header shows them: `"sales" not "held"`.
    pub(crate) fn label(&self) -> String {
        let shown: Vec<String> = terms(&self.text)
            .iter()
            .map(|t| {
                let not = if t.negated { "not " } else { "" };
                format!("{not}\"{}\"", t.text)
            })
            .collect();
        shown.join(" ")
    }
}

/// One term of the filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Term {
    pub(crate) text: String,
    /// Written `-term`: the row must not match it.
    pub(crate) negated: bool,
}

/// The filter's terms: words split at spaces; `"Ben Ortiz"` keeps a phrase whole (an unclosed
/// quote runs to the end); a leading `-` negates a word or a phrase. Empty terms (a lone `-`,
/// `""`) are dropped, so a blank filter has no terms and matches everything.
pub(crate) fn terms(text: &str) -> Vec<Term> {
    let mut terms = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            return terms;
        }
        let negated = chars.next_if_eq(&'-').is_some();
        let mut term = String::new();
        if chars.next_if_eq(&'"').is_some() {
            term.extend(chars.by_ref().take_while(|c| *c != '"'));
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                term.push(c);
            }
        }
        let term = term.trim();
        if !term.is_empty() {
            terms.push(Term {
                text: term.to_string(),
                negated,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn term(text: &str, negated: bool) -> Term {
        Term {
            text: text.into(),
            negated,
        }
    }

    #[test]
    fn words_phrases_and_negations() {
        assert_eq!(
            terms(r#"sales -held "Ben Ortiz" -"ana lima""#),
            vec![
                term("sales", false),
                term("held", true),
                term("Ben Ortiz", false),
                term("ana lima", true),
            ]
        );
        // Extra spaces, a quote inside a word, an unclosed phrase.
        assert_eq!(
            terms("  a   b\"c  \"d e"),
            vec![term("a", false), term("b\"c", false), term("d e", false)]
        );
    }

    #[test]
    fn blank_and_empty_terms_match_everything() {
        assert!(terms("").is_empty());
        assert!(terms("   ").is_empty());
        assert!(terms(r#"- "" -"  ""#).is_empty());
        assert_eq!(terms("a-b"), vec![term("a-b", false)]);
    }

    fn typed(filter: &mut Filter, text: &str) -> Vec<Edit> {
        text.chars()
            .map(|c| filter.on_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)))
            .collect()
    }

    #[test]
    fn escape_codes_are_dropped_and_long_input_stops_at_the_limit() {
        let mut filter = Filter {
            editing: true,
            ..Filter::default()
        };
        typed(&mut filter, "\u{1b}[2J\u{9b}31m\u{7}held\u{202e}");
        assert_eq!(filter.text, "[2J31mheld");
        filter.text.clear();
        let edits = typed(&mut filter, &"x".repeat(10_000));
        assert_eq!(filter.text.chars().count(), MAX_FILTER_CHARS);
        assert_eq!(edits[MAX_FILTER_CHARS - 1], Edit::Done);
        assert_eq!(edits[MAX_FILTER_CHARS], Edit::Full);
        assert_eq!(terms(&filter.text).len(), 1);
    }

    #[test]
    fn the_label_names_each_term() {
        let filter = Filter {
            text: r#"Sales -held "Ben Ortiz""#.into(),
            editing: false,
        };
        assert_eq!(filter.label(), r#""Sales" not "held" "Ben Ortiz""#);
    }
}
