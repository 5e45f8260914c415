//! A one-line text editor that moves and deletes by grapheme cluster, so an
//! emoji, a letter with a combining accent or a CJK character is one step
//! for the cursor, Backspace and Delete.

use unicode_segmentation::UnicodeSegmentation;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Editor {
    text: String,
    /// Byte offset, always on a grapheme boundary.
    cursor: usize,
}

impl Editor {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn cursor(&self) -> usize {
        self.cursor
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// Replace the text and put the cursor at its end.
    pub fn set(&mut self, text: &str) {
        self.text = text.to_string();
        self.cursor = self.text.len();
    }

    pub fn clear(&mut self) {
        self.set("");
    }

    /// Graphemes before the cursor (the cursor's column in grapheme units).
    pub fn cursor_graphemes(&self) -> usize {
        self.text[..self.cursor].graphemes(true).count()
    }

    pub fn insert_char(&mut self, c: char) {
        let mut buf = [0u8; 4];
        self.insert_str(c.encode_utf8(&mut buf));
    }

    /// Insert at the cursor. Line breaks are normalised to `\n`.
    pub fn insert_str(&mut self, s: &str) {
        let s = s.replace("\r\n", "\n").replace('\r', "\n");
        self.text.insert_str(self.cursor, &s);
        self.cursor += s.len();
        self.snap();
    }

    fn boundaries(&self) -> impl Iterator<Item = usize> + '_ {
        self.text.grapheme_indices(true).map(|(i, _)| i).chain(std::iter::once(self.text.len()))
    }

    fn prev_boundary(&self) -> usize {
        self.boundaries().take_while(|&b| b < self.cursor).last().unwrap_or(0)
    }

    fn next_boundary(&self) -> usize {
        self.boundaries().find(|&b| b > self.cursor).unwrap_or(self.text.len())
    }

    /// Inserting a combining mark, or deleting what kept two clusters apart
    /// (the `x` in `👨\u{200d}x👩`), can merge graphemes; keep the cursor on a
    /// boundary.
    fn snap(&mut self) {
        if !self.boundaries().any(|b| b == self.cursor) {
            self.cursor = self.next_boundary();
        }
    }

    pub fn left(&mut self) {
        self.cursor = self.prev_boundary();
    }

    pub fn right(&mut self) {
        self.cursor = self.next_boundary();
    }

    pub fn home(&mut self) {
        self.cursor = 0;
    }

    pub fn end(&mut self) {
        self.cursor = self.text.len();
    }

    /// Delete the grapheme before the cursor. Returns whether anything changed.
    pub fn backspace(&mut self) -> bool {
        let p = self.prev_boundary();
        if p == self.cursor {
            return false;
        }
        self.text.replace_range(p..self.cursor, "");
        self.cursor = p;
        self.snap();
        true
    }

    /// Delete the grapheme under the cursor.
    pub fn delete(&mut self) -> bool {
        let n = self.next_boundary();
        if n == self.cursor {
            return false;
        }
        self.text.replace_range(self.cursor..n, "");
        self.snap();
        true
    }

    /// Ctrl-W: delete the word before the cursor (and the spaces after it).
    pub fn delete_word_back(&mut self) -> bool {
        let before: Vec<(usize, &str)> = self.text[..self.cursor].grapheme_indices(true).collect();
        let mut i = before.len();
        while i > 0 && before[i - 1].1.chars().all(char::is_whitespace) {
            i -= 1;
        }
        while i > 0 && !before[i - 1].1.chars().all(char::is_whitespace) {
            i -= 1;
        }
        let start = before.get(i).map(|x| x.0).unwrap_or(self.cursor);
        if start == self.cursor {
            return false;
        }
        self.text.replace_range(start..self.cursor, "");
        self.cursor = start;
        self.snap();
        true
    }

    /// Ctrl-U: delete everything before the cursor.
    pub fn delete_to_start(&mut self) -> bool {
        if self.cursor == 0 {
            return false;
        }
        self.text.replace_range(..self.cursor, "");
        self.cursor = 0;
        true
    }
}
