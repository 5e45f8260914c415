//! The transcript: the prompt (styled apart) and the continuation, wrapped
//! by display width, with control characters made safe. Colour modes: plain,
//! surprise (probability of each character), or one cell's activation.

use super::theme;
use crate::tui::app::{App, ColorMode, Mode, RunKind};
use crate::tui::text::{control_picture, glyph, lone_mark, Glyph};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::{Block, Widget};

/// One drawn cell: a symbol, its width, and the step it shows.
struct Cell {
    sym: String,
    width: u16,
    step: usize,
    /// Whether a following combining mark may join it (not a space or a
    /// control picture).
    base: bool,
}

/// Lay out steps `start..end` into lines of at most `width` columns.
fn layout(app: &App, start: usize, end: usize, width: u16) -> Vec<Vec<Cell>> {
    let mut lines: Vec<Vec<Cell>> = vec![Vec::new()];
    let mut col: u16 = 0;
    for i in start..end {
        let ch = app.steps[i].ch;
        match glyph(ch) {
            Glyph::Newline => {
                let line = lines.last_mut().expect("a line");
                if col < width {
                    line.push(Cell { sym: " ".into(), width: 1, step: i, base: false });
                }
                lines.push(Vec::new());
                col = 0;
            }
            Glyph::Attach(c) => {
                let line = lines.last_mut().expect("a line");
                match line.last_mut() {
                    // A combining mark joins the character before it (within reason).
                    Some(prev) if prev.base && prev.sym.len() < 24 => prev.sym.push(c),
                    _ => {
                        if col + 1 > width {
                            lines.push(Vec::new());
                            col = 0;
                        }
                        lines.last_mut().expect("a line").push(Cell {
                            sym: lone_mark(c),
                            width: 1,
                            step: i,
                            base: false,
                        });
                        col += 1;
                    }
                }
            }
            Glyph::Show(sym, w) => {
                if col + w > width {
                    lines.push(Vec::new());
                    col = 0;
                }
                let base = ch != ' ' && control_picture(ch).is_none();
                lines.last_mut().expect("a line").push(Cell { sym, width: w, step: i, base });
                col += w;
            }
        }
    }
    lines
}

fn style_for(app: &App, i: usize) -> Style {
    let step = &app.steps[i];
    let mut style = if step.is_prompt {
        Style::new().fg(theme::PROMPT).add_modifier(Modifier::BOLD)
    } else if app.run_kind == RunKind::Preview {
        Style::new().fg(theme::GHOST)
    } else {
        Style::new()
    };
    match app.color {
        ColorMode::Plain => {}
        ColorMode::Surprise => {
            if let Some(p) = step.prob {
                style = style.bg(theme::surprise(p)).fg(Color::Black);
            }
        }
        ColorMode::Cell => {
            if let Some(v) = step.layers.get(app.layer).and_then(|l| l.c.get(app.cell)) {
                style = style.bg(theme::signed(v.tanh())).fg(Color::Black);
            }
        }
    }
    if app.mode == Mode::Inspect && app.focus() == Some(i) {
        style = Style::new().bg(theme::CURSOR_BG).fg(Color::Black).add_modifier(Modifier::BOLD);
    }
    style
}

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let mut title = String::from(" output ");
    if app.run_kind == RunKind::Preview && !app.steps.is_empty() {
        title.push_str("· preview ");
    }
    match app.color {
        ColorMode::Plain => {}
        ColorMode::Surprise => title.push_str("· surprise: red = unexpected "),
        ColorMode::Cell => title.push_str(&format!("· tanh(c) cell {} L{}: blue − red + ", app.cell, app.layer + 1)),
    }
    if app.dropped > 0 {
        title.push_str(&format!("· first {} chars dropped ", app.dropped));
    }
    let block = Block::bordered().title(title).title_style(theme::title());
    let inner = block.inner(area);
    block.render(area, buf);
    let (w, h) = (inner.width, inner.height as usize);
    if w == 0 || h == 0 || app.steps.is_empty() {
        if app.steps.is_empty() && w > 0 && h > 0 {
            let hint = if app.model.is_none() {
                "loading the model…"
            } else {
                "type a prompt below; the model continues it"
            };
            buf.set_stringn(inner.x, inner.y, hint, w as usize, theme::dim());
        }
        return;
    }
    let len = app.steps.len();
    // Only the tail can be visible: each line holds at least one step and at
    // most `w` columns, so (lines needed) x (w + slack) steps is plenty.
    let focus = app.focus().unwrap_or(len - 1);
    let end = if app.mode == Mode::Inspect { (focus + 1 + (h / 2) * w as usize).min(len) } else { len };
    let scroll = if app.mode == Mode::Inspect { 0 } else { app.scroll };
    let budget = (h + scroll + 1) * (w as usize + 8);
    let start = end.saturating_sub(budget);
    let lines = layout(app, start, end, w);
    // Show the last h lines (scrolled back), keeping the focus visible when inspecting.
    let total = lines.len();
    let mut last = total.saturating_sub(scroll.min(total.saturating_sub(1)));
    if app.mode == Mode::Inspect {
        if let Some(li) = lines.iter().position(|l| l.iter().any(|c| c.step >= focus)) {
            if li + 1 > last || li + h < last {
                last = (li + 1).max(h.min(total)).min(total);
            }
        }
    }
    let first = last.saturating_sub(h);
    for (row, line) in lines[first..last].iter().enumerate() {
        let mut x = inner.x;
        let y = inner.y + row as u16;
        for cell in line {
            let style = style_for(app, cell.step);
            buf.set_stringn(x, y, &cell.sym, cell.width as usize, style);
            x += cell.width;
        }
    }
}
