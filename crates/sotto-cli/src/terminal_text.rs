//! What a contact or a relay sent, made safe to print on a terminal: every
//! human-readable output (the command's text output, `sotto chat`, the
//! `--json` lines) goes through [`hidden`], so a display name, bio, message,
//! reaction or relay error cannot carry an escape sequence (which could
//! rewrite the screen, the window title or the clipboard), another control
//! character, or a bidirectional override that reorders what is shown.

use std::borrow::Cow;

/// Whether `c` must not reach a terminal as sent: a C0 or C1 control
/// character or DEL (ESC and CSI start escape sequences), a line or
/// paragraph separator, or a bidirectional mark, embedding, override or
/// isolate.
pub(crate) fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
        )
}

/// `text` on one line: line breaks and tabs become spaces (so a message
/// cannot forge a line of its own, like another message), every other
/// hidden character is dropped.
pub(crate) fn one_line(text: &str) -> Cow<'_, str> {
    if !text.chars().any(hidden) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .filter_map(|c| match c {
                '\n' | '\r' | '\t' | '\u{2028}' | '\u{2029}' | '\u{0085}' => Some(' '),
                c if hidden(c) => None,
                c => Some(c),
            })
            .collect(),
    )
}

/// `text` with its line breaks (`\n`) kept and every other hidden character
/// dropped: the last safeguard on whole outputs, whose lines are ours.
pub(crate) fn without_hidden(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c != '\n' && hidden(c)) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(text.chars().filter(|c| *c == '\n' || !hidden(*c)).collect())
}

/// What a hostile contact sends in tests: ESC sequences (CSI, OSC), C0,
/// DEL, C1 (CSI, NEL), bidi overrides, isolates and marks, separators.
#[cfg(test)]
pub(crate) const HOSTILE: &str = "a\x1b[2J\x1b]0;title\x07b\x00\x08\r\x7f\u{9b}31m\u{85}c\u{202E}d\u{2066}\u{200F}\u{061C}e\u{2028}f\u{2029}\tg";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_characters_are_controls_bidi_and_separators_only() {
        for c in [
            '\x1b', '\x00', '\x07', '\n', '\x7f', '\u{80}', '\u{9b}', '\u{9f}',
        ] {
            assert!(hidden(c), "{c:?}");
        }
        for c in [
            '\u{202A}', '\u{202E}', '\u{2066}', '\u{2069}', '\u{200E}', '\u{2028}',
        ] {
            assert!(hidden(c), "{c:?}");
        }
        for c in [
            'a', ' ', 'é', 'ß', 'א', 'ع', '😂', '\u{200D}', '\u{a0}', '█', '✓',
        ] {
            assert!(!hidden(c), "{c:?}");
        }
    }

    #[test]
    fn one_line_drops_hidden_characters_and_joins_lines() {
        assert_eq!(one_line(HOSTILE), "a[2J]0;titleb 31m cde f  g");
        assert!(!one_line(HOSTILE).chars().any(hidden));
        assert!(matches!(one_line("plain: é 😂 עברית"), Cow::Borrowed(_)));
    }

    #[test]
    fn without_hidden_keeps_only_line_breaks() {
        let kept = without_hidden("one\x1b[31m\ntwo\u{202E}\r\n");
        assert_eq!(kept, "one[31m\ntwo\n");
        assert!(matches!(without_hidden("one\ntwo"), Cow::Borrowed(_)));
    }
}
