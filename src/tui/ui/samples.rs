//! Samples side by side: three continuations of the prompt in three
//! columns, each titled by its seed; the picked column's border is
//! highlighted, and the column still generating streams from the run.

use super::theme;
use crate::generate::Step;
use crate::tui::app::samples::{Samples, COLUMNS};
use crate::tui::app::App;
use crate::tui::text::{glyph, lone_mark, Glyph};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::widgets::{Block, BorderType, Widget};
use std::sync::Arc;

/// The continuation (the steps after the prompt) laid out in lines of at
/// most `width` columns, wrapped at spaces; a line break breaks the line.
fn lines(steps: &[Arc<Step>], width: u16) -> Vec<Vec<(String, u16)>> {
    let mut out: Vec<Vec<(String, u16)>> = vec![Vec::new()];
    let mut col = 0;
    for s in steps.iter().filter(|s| !s.is_prompt) {
        match glyph(s.ch) {
            Glyph::Newline => {
                out.push(Vec::new());
                col = 0;
            }
            Glyph::Attach(c) => match out.last_mut().and_then(|l| l.last_mut()) {
                Some(prev) if prev.0.len() < 24 => prev.0.push(c),
                _ => {
                    out.last_mut().expect("a line").push((lone_mark(c), 1));
                    col += 1;
                }
            },
            Glyph::Show(sym, w) => {
                if col + w > width {
                    // A space at the edge is the break itself; otherwise the
                    // word being written moves down whole, unless it fills
                    // the line.
                    if s.ch == ' ' {
                        out.push(Vec::new());
                        col = 0;
                        continue;
                    }
                    let line = out.last_mut().expect("a line");
                    let start = line.iter().rposition(|c| c.0 == " ").map_or(0, |i| i + 1);
                    let carried = if start > 0 { line.split_off(start) } else { Vec::new() };
                    col = carried.iter().map(|c| c.1).sum();
                    out.push(carried);
                }
                out.last_mut().expect("a line").push((sym, w));
                col += w;
            }
        }
    }
    out
}

pub fn render(app: &App, samples: &Samples, area: Rect, buf: &mut Buffer) {
    let cols = Layout::horizontal([Constraint::Ratio(1, COLUMNS as u32); COLUMNS]).split(area);
    for (k, &rect) in cols.iter().enumerate() {
        let all: Vec<Arc<Step>> = match samples.done.get(k) {
            Some(s) => s.clone(),
            None if samples.live == Some(k) => app.run.steps.iter().cloned().collect(),
            None => Vec::new(),
        };
        let state = match (samples.done.get(k), samples.live) {
            (Some(_), _) => "",
            (None, Some(l)) if l == k => " · generating…",
            _ => " · waiting",
        };
        let picked = samples.selected == k;
        let title = format!(" {} · seed {}{state} ", k + 1, samples.seed_of(k));
        let mut block = Block::bordered().title(title).title_style(theme::title());
        if picked {
            block = block.border_type(BorderType::Thick).border_style(Style::new().fg(theme::BRANCH));
        }
        let inner = block.inner(rect);
        block.render(rect, buf);
        if inner.width == 0 || inner.height == 0 {
            continue;
        }
        let style = if picked { Style::new().add_modifier(Modifier::BOLD) } else { Style::new() };
        for (row, line) in lines(&all, inner.width).iter().take(inner.height as usize).enumerate() {
            let mut x = inner.x;
            for (sym, w) in line {
                buf.set_stringn(x, inner.y + row as u16, sym, *w as usize, style);
                x += w;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps(text: &str) -> Vec<Arc<Step>> {
        text.chars()
            .enumerate()
            .map(|(t, ch)| Arc::new(Step { t, ch, is_prompt: false, prob: None, layers: Vec::new(), top: Vec::new() }))
            .collect()
    }

    fn shown(text: &str, width: u16) -> Vec<String> {
        lines(&steps(text), width).iter().map(|l| l.iter().map(|c| c.0.as_str()).collect()).collect()
    }

    #[test]
    fn columns_wrap_at_spaces_and_keep_every_word() {
        assert_eq!(shown("What shall I stumble thee please", 22), ["What shall I stumble ", "thee please"]);
        assert_eq!(shown("What shall I stumble thee", 20), ["What shall I stumble", "thee"]);
        assert_eq!(shown("abcdefgh ij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(shown("ab\ncd", 10), ["ab", "cd"]);
    }
}
