//! The compose line: what is being typed and where the cursor is in it. A
//! paste arrives whole (bracketed paste), line breaks included, so a pasted
//! text stays one message until Enter.

/// Text being typed, with a cursor between two characters.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct ComposeLine {
    text: String,
    /// A byte offset on a character boundary of `text`.
    cursor: usize,
}

impl ComposeLine {
    /// The whole text.
    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether nothing is typed.
    pub(crate) fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// The text before the cursor.
    pub(crate) fn before_cursor(&self) -> &str {
        &self.text[..self.cursor]
    }

    /// Replaces the text; the cursor goes to its end.
    pub(crate) fn set(&mut self, text: impl Into<String>) {
        self.text = text.into();
        self.cursor = self.text.len();
    }

    /// Empties the line.
    pub(crate) fn clear(&mut self) {
        self.set(String::new());
    }

    /// Takes the text, leaving the line empty.
    pub(crate) fn take(&mut self) -> String {
        self.cursor = 0;
        std::mem::take(&mut self.text)
    }

    /// Types one character at the cursor.
    pub(crate) fn insert(&mut self, c: char) {
        self.text.insert(self.cursor, c);
        self.cursor += c.len_utf8();
    }

    /// Pastes text at the cursor; Windows line ends become `\n`.
    pub(crate) fn paste(&mut self, text: &str) {
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        self.text.insert_str(self.cursor, &text);
        self.cursor += text.len();
    }

    /// Deletes the character before the cursor.
    pub(crate) fn backspace(&mut self) {
        if let Some(c) = self.before_cursor().chars().next_back() {
            self.cursor -= c.len_utf8();
            self.text.remove(self.cursor);
        }
    }

    /// Deletes the character at the cursor.
    pub(crate) fn delete(&mut self) {
        if self.cursor < self.text.len() {
            self.text.remove(self.cursor);
        }
    }

    /// Moves the cursor one character left.
    pub(crate) fn left(&mut self) {
        if let Some(c) = self.before_cursor().chars().next_back() {
            self.cursor -= c.len_utf8();
        }
    }

    /// Moves the cursor one character right.
    pub(crate) fn right(&mut self) {
        if let Some(c) = self.text[self.cursor..].chars().next() {
            self.cursor += c.len_utf8();
        }
    }

    /// Moves the cursor to the start.
    pub(crate) fn home(&mut self) {
        self.cursor = 0;
    }

    /// Moves the cursor to the end.
    pub(crate) fn end(&mut self) {
        self.cursor = self.text.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn editing_happens_at_the_cursor_on_character_boundaries() {
        let mut line = ComposeLine::default();
        for c in "héllo".chars() {
            line.insert(c);
        }
        line.left();
        line.left();
        line.insert('X');
        assert_eq!(line.as_str(), "hélXlo");
        line.home();
        line.delete();
        line.right();
        line.backspace();
        assert_eq!(line.as_str(), "lXlo");
        line.end();
        line.paste("a\r\nb");
        assert_eq!(line.as_str(), "lXloa\nb");
        assert_eq!(line.before_cursor(), "lXloa\nb");
        line.home();
        line.backspace();
        line.left();
        assert_eq!(line.take(), "lXloa\nb");
        assert!(line.is_empty());
        line.right();
        line.delete();
    }
}
