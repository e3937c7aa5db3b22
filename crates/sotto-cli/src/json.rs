//! The `--json` shapes (documented in docs/cli.md): one object per command on
//! stdout. Field names and value spellings are stable; new fields may be added.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::Value;
use serde_json::ser::Formatter;

use crate::terminal_text::hidden;

/// Writes `value` as one line of JSON. JSON escapes C0 controls itself;
/// DEL, C1 controls and bidirectional overrides it would write as they are,
/// so they are written as `\uXXXX` escapes too: a script reads the same
/// strings, and a terminal showing the line gets no escape sequence from a
/// contact.
pub(crate) fn write_line(out: &mut impl Write, value: &Value) -> io::Result<()> {
    value.serialize(&mut serde_json::Serializer::with_formatter(
        &mut *out,
        TerminalSafe,
    ))?;
    writeln!(out)
}

/// serde_json's compact output (the trait's defaults) with every [`hidden`]
/// character escaped.
struct TerminalSafe;

impl Formatter for TerminalSafe {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (at, c) in fragment.char_indices() {
            if hidden(c) {
                writer.write_all(&fragment.as_bytes()[start..at])?;
                // Every hidden character is in the Basic Multilingual Plane.
                write!(writer, "\\u{:04x}", u32::from(c))?;
                start = at + c.len_utf8();
            }
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }
}

/// The JSON of a view or event of the core (its serde vocabulary, shared
/// with the browser).
pub(crate) fn value(view: &impl Serialize) -> anyhow::Result<Value> {
    Ok(serde_json::to_value(view)?)
}

/// The JSON spelling of a unit variant (`"connected"`, `"delivered"`, …).
pub(crate) fn spelling(variant: &impl Serialize) -> String {
    match serde_json::to_value(variant) {
        Ok(Value::String(text)) => text,
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use sotto_core::{ConnectionState, MessageStatus};

    use super::*;
    use crate::terminal_text::HOSTILE;

    #[test]
    fn a_json_line_escapes_every_hidden_character_and_reads_back_the_same() {
        let value = json!({ "name": HOSTILE, "texts": [HOSTILE, "plain é 😂"] });
        let mut out = Vec::new();
        write_line(&mut out, &value).unwrap();
        let line = String::from_utf8(out).unwrap();
        let (line, end) = line.split_at(line.len() - 1);
        assert_eq!(end, "\n");
        assert!(!line.chars().any(hidden), "{line:?}");
        assert!(
            line.contains(r"\u001b[2J") && line.contains(r"\u202e"),
            "{line}"
        );
        assert_eq!(serde_json::from_str::<Value>(line).unwrap(), value);
        // Nothing else changes: the same as serde_json's compact output.
        let plain = json!({ "a": [1, "b\"\\c", null, true], "d": "é 😂" });
        let mut out = Vec::new();
        write_line(&mut out, &plain).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), format!("{plain}\n"));
    }

    #[test]
    fn spellings_are_the_views_own() {
        assert_eq!(
            spelling(&ConnectionState::AwaitingConfirmation),
            "awaiting_confirmation"
        );
        assert_eq!(spelling(&MessageStatus::Delivered), "delivered");
    }
}
