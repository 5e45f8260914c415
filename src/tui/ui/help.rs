//! The help overlay: every binding of the key table, one per row (a help
//! text too long for its row wraps under itself), scrolled by ↑ ↓ when the
//! screen is too short for all of them.

use super::theme;
use crate::tui::keys::{BINDINGS, HELP_NOTES};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::widgets::{Block, Clear, Widget};
use unicode_width::UnicodeWidthStr;

/// Every help row as (keys, text).
fn rows() -> Vec<(&'static str, &'static str)> {
    HELP_NOTES.iter().copied().chain(BINDINGS.iter().map(|b| (b.label, b.help))).collect()
}

/// Split `text` into lines of at most `width` columns at spaces (a word
/// longer than that is cut where it must).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = vec![String::new()];
    for word in text.split(' ') {
        let line = lines.last_mut().expect("a line");
        let need = if line.is_empty() { word.width() } else { line.width() + 1 + word.width() };
        if need <= width {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
            continue;
        }
        let mut rest = word.to_string();
        lines.push(String::new());
        while rest.width() > width {
            let cut: String = rest
                .chars()
                .scan(0, |w, c| {
                    *w += c.to_string().width();
                    (*w <= width).then_some(c)
                })
                .collect();
            rest = rest[cut.len()..].to_string();
            *lines.last_mut().expect("a line") = cut;
            lines.push(String::new());
        }
        *lines.last_mut().expect("a line") = rest;
    }
    lines
}

/// The lines help shows inside `width` columns: (keys or "", text).
pub fn lines(width: usize) -> Vec<(&'static str, String)> {
    let key_w = rows().iter().map(|r| r.0.width()).max().unwrap_or(0) + 2;
    let text_w = width.saturating_sub(key_w).max(10);
    let mut out = Vec::new();
    for (keys, text) in rows() {
        for (i, line) in wrap(text, text_w).into_iter().enumerate() {
            out.push((if i == 0 { keys } else { "" }, line));
        }
    }
    out
}

/// The overlay's rectangle on `area`, its lines, and how many fit.
fn layout(area: Rect) -> (Rect, Vec<(&'static str, String)>, usize) {
    let w = area.width.min(90);
    let all = lines(w.saturating_sub(4) as usize);
    let h = (all.len() as u16 + 2).min(area.height);
    let r = Rect { x: area.x + (area.width - w) / 2, y: area.y + (area.height - h) / 2, width: w, height: h };
    (r, all, h.saturating_sub(2) as usize)
}

/// The furthest the help scrolls on a screen of `area`: its last line at the bottom.
pub fn max_scroll(area: Rect) -> usize {
    let (_, all, visible) = layout(area);
    all.len().saturating_sub(visible)
}

pub fn render(scroll: usize, area: Rect, buf: &mut Buffer) {
    let (r, all, visible) = layout(area);
    Clear.render(r, buf);
    // The screen may have shrunk since the scroll was set.
    let scroll = scroll.min(all.len().saturating_sub(visible));
    let more = if scroll + visible < all.len() { " · ↓ more" } else { "" };
    let block =
        Block::bordered().title(format!(" keys · ↑↓ scroll · other keys close{more} ")).title_style(theme::title());
    let inner = block.inner(r);
    block.render(r, buf);
    let inner_w = r.width.saturating_sub(4) as usize;
    let key_w = rows().iter().map(|r| r.0.width()).max().unwrap_or(0) + 2;
    for (row, (keys, text)) in all.iter().skip(scroll).take(visible).enumerate() {
        let y = inner.y + row as u16;
        let x = inner.x + 1;
        buf.set_stringn(x, y, keys, key_w, Style::new().fg(theme::ACCENT));
        buf.set_stringn(x + key_w as u16, y, text, inner_w.saturating_sub(key_w), Style::new());
    }
}
