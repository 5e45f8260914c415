//! The prompt: its editor, the history of submitted prompts, the preview's
//! debounce, and which of its characters the model cannot read.

use crate::tui::editor::Editor;
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// Quiet time after the last edit before the live preview starts.
pub const PREVIEW_DELAY: Duration = Duration::from_millis(100);

pub struct Prompt {
    pub editor: Editor,
    pub history: Vec<String>,
    /// Which history entry the editor shows, while browsing.
    pub(super) hist_pos: Option<usize>,
    /// What was typed before browsing began.
    draft: String,
    vocab: HashSet<char>,
    /// When the last edit happened, while a preview is pending.
    pub edit_at: Option<Instant>,
    /// When the prompt was last edited (for the leading-edge preview).
    last_edit: Option<Instant>,
}

impl Prompt {
    pub fn new(vocab: &[char]) -> Self {
        Self {
            editor: Editor::new(),
            history: Vec::new(),
            hist_pos: None,
            draft: String::new(),
            vocab: vocab.iter().copied().collect(),
            edit_at: None,
            last_edit: None,
        }
    }

    pub fn text(&self) -> &str {
        self.editor.text()
    }

    pub fn set_vocab(&mut self, vocab: &[char]) {
        self.vocab = vocab.iter().copied().collect();
    }

    pub fn is_unknown(&self, c: char) -> bool {
        !self.vocab.contains(&c)
    }

    /// Characters of the prompt the model cannot read, each once.
    pub fn unknown_chars(&self) -> Vec<char> {
        let mut out: Vec<char> = Vec::new();
        for c in self.editor.text().chars() {
            if self.is_unknown(c) && !out.contains(&c) {
                out.push(c);
            }
        }
        out
    }

    /// The message that names the unreadable characters, if there are any.
    pub fn vocab_problem(&self) -> Option<String> {
        let unknown = self.unknown_chars();
        if unknown.is_empty() {
            return None;
        }
        let names: Vec<String> = unknown.iter().map(|&c| crate::vocab::escape_char(c)).collect();
        Some(format!(
            "{} not in the model's vocabulary (marked): {}; edit them out to generate",
            if unknown.len() == 1 { "a character is" } else { "characters are" },
            crate::tui::text::sanitize_line(&names.join(", "))
        ))
    }

    /// Record an edit at `now`. Returns whether it followed a quiet spell
    /// (then the preview may start at once).
    pub fn note_edit(&mut self, now: Instant) -> bool {
        self.hist_pos = None;
        let quiet = self.last_edit.is_none_or(|t| now.saturating_duration_since(t) >= PREVIEW_DELAY);
        self.last_edit = Some(now);
        self.edit_at = None;
        quiet
    }

    /// When the pending preview is due.
    pub fn deadline(&self) -> Option<Instant> {
        self.edit_at.map(|t| t + PREVIEW_DELAY)
    }

    /// Submitting: remember the prompt (once in a row) and stop browsing.
    pub fn remember(&mut self) {
        let text = self.editor.text().to_string();
        if !text.is_empty() && self.history.last() != Some(&text) {
            self.history.push(text);
        }
        self.hist_pos = None;
    }

    /// Move through the history (`back` to older prompts). Returns whether
    /// the editor's text changed.
    pub fn browse(&mut self, back: bool) -> bool {
        if self.history.is_empty() {
            return false;
        }
        let n = self.history.len();
        let next = match (self.hist_pos, back) {
            (None, true) => {
                self.draft = self.editor.text().to_string();
                Some(n - 1)
            }
            (None, false) => return false,
            (Some(i), true) => Some(i.saturating_sub(1)),
            (Some(i), false) if i + 1 < n => Some(i + 1),
            (Some(_), false) => None,
        };
        let text = match next {
            Some(i) => self.history[i].clone(),
            None => std::mem::take(&mut self.draft),
        };
        self.editor.set(&text);
        self.hist_pos = next;
        true
    }
}
