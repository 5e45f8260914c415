//! Making model output safe to draw. The model emits raw characters: tabs,
//! carriage returns, escapes, bidi controls and lone combining marks must
//! never reach the terminal as such. Each becomes a visible, one-column symbol.

use unicode_segmentation::UnicodeSegmentation;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// How one character is shown.
#[derive(Debug, Clone, PartialEq)]
pub enum Glyph {
    /// Ends the line.
    Newline,
    /// A symbol and its width in columns (1 or 2).
    Show(String, u16),
    /// A zero-width character (combining mark, joiner, variation selector):
    /// joins the previous symbol if there is one, or else is shown on a dotted circle.
    Attach(char),
}

/// The visible stand-in for a control or formatting character, if it is one;
/// the same pictures as the exported pages.
pub use crate::export::control_picture;

pub fn glyph(c: char) -> Glyph {
    if c == '\n' {
        return Glyph::Newline;
    }
    if let Some(p) = control_picture(c) {
        return Glyph::Show(p.to_string(), 1);
    }
    match c.width() {
        Some(0) => Glyph::Attach(c),
        Some(w) => Glyph::Show(c.to_string(), w.min(2) as u16),
        None => Glyph::Show("�".into(), 1),
    }
}

/// A zero-width character on its own, made visible.
pub fn lone_mark(c: char) -> String {
    format!("\u{25cc}{c}")
}

/// A grapheme cluster as it is shown on the prompt line, with its width.
/// Controls (including `\n`) become pictures; a cluster of zero width gets a
/// dotted circle so the cursor can sit on it.
pub fn display_grapheme(g: &str) -> (String, u16) {
    if g.chars().any(|c| control_picture(c).is_some()) {
        let s: String =
            g.chars().map(|c| control_picture(c).unwrap_or(c)).filter(|c| c.width().unwrap_or(0) > 0).take(1).collect();
        let s = if s.is_empty() { "�".to_string() } else { s };
        return (s, 1);
    }
    let w = g.width();
    if w == 0 {
        return (format!("\u{25cc}{g}"), 1);
    }
    (g.to_string(), w.min(2) as u16)
}

/// A one-line, safe rendering of arbitrary text (for messages and labels).
pub fn sanitize_line(s: &str) -> String {
    s.graphemes(true).map(|g| display_grapheme(g).0).collect()
}

/// A character as shown in a label (the top-k panel, the step strip).
pub fn char_label(c: char) -> String {
    match c {
        ' ' => "␠".into(),
        '\n' => "⏎".into(),
        c => match glyph(c) {
            Glyph::Show(s, _) => s,
            Glyph::Attach(c) => lone_mark(c),
            Glyph::Newline => "⏎".into(),
        },
    }
}
