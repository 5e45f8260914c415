//! The prompt line (or the open box: load, cell, save, pin, file): graphemes shown safely,
//! characters outside the vocabulary marked, the live preview as dim ghost
//! text after the prompt, scrolled sideways to keep the cursor in view.

use super::theme;
use crate::tui::app::{App, Mode};
use crate::tui::editor::Editor;
use crate::tui::text::{char_label, display_grapheme};
use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::widgets::{Block, Widget};
use unicode_segmentation::UnicodeSegmentation;

/// Draws the prompt; returns where the terminal cursor belongs.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) -> Option<Position> {
    let in_box = app.mode.is_box();
    let title = if app.mode == Mode::Cell {
        format!(
            " colouring unit: a number (0-{}) in l{}, or lK:U; Enter sets, Esc cancels ",
            app.view.units() - 1,
            app.view.layer
        )
    } else if app.mode == Mode::Load {
        format!(
            " load checkpoint: a file, or a built-in model ({}); Enter loads, Esc cancels ",
            crate::model::builtin_names()
        )
    } else if app.mode == Mode::Intervene {
        " intervene: lK:U:TARGET OP VALUE[@A..B] (i f g o c h; = += *=) · Enter applies · Esc ".to_string()
    } else if app.mode == Mode::Pin {
        format!(" pin / unpin a unit: lK:U, or a number in l{}; Enter, Esc cancels ", app.view.layer)
    } else if app.mode == Mode::CellsFile {
        " cells over a file: a UTF-8 text file (its first 20,000 characters); Enter analyses, Esc cancels ".to_string()
    } else if app.mode == Mode::Save {
        let base = if app.save_dir.as_os_str().is_empty() { std::path::Path::new(".") } else { &app.save_dir };
        crate::tui::text::sanitize_line(&crate::tui::app::save::box_title(
            app.box_editor.text(),
            base,
            app.run.tree.is_some(),
        ))
    } else {
        let mut t = String::from(" prompt ");
        if app.preview {
            t.push_str("· live preview on ");
        }
        if app.mode == Mode::Inspect {
            t.push_str("· inspecting (Tab returns) ");
        }
        if app.mode == Mode::Panel {
            t.push_str("· the panel has the keys (Esc, or type) ");
        }
        t
    };
    let block = Block::bordered().title(title).title_style(theme::title());
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.width < 2 || inner.height == 0 {
        return None;
    }
    let editor: &Editor = if in_box { &app.box_editor } else { &app.prompt.editor };
    let text = editor.text();
    // Cells: (symbol, width, style), then the cursor's index among them.
    let mut cells: Vec<(String, u16, Style)> = Vec::new();
    let mut cursor_cell = None;
    for (off, g) in text.grapheme_indices(true) {
        if off == editor.cursor() {
            cursor_cell = Some(cells.len());
        }
        let (sym, w) = display_grapheme(g);
        let unknown = !in_box && g.chars().any(|c| app.prompt.is_unknown(c));
        let style =
            if unknown { Style::new().bg(theme::UNKNOWN_BG).add_modifier(Modifier::UNDERLINED) } else { Style::new() };
        cells.push((sym, w, style));
    }
    let cursor_cell = cursor_cell.unwrap_or(cells.len());
    let text_cells = cells.len();
    // Ghost text: the preview's continuation.
    if !in_box && app.ghost_visible() {
        for s in app.run.steps.iter().filter(|s| !s.is_prompt).take(inner.width as usize) {
            let label = if s.ch == ' ' { " ".to_string() } else { char_label(s.ch) };
            let w = unicode_width::UnicodeWidthStr::width(label.as_str()).clamp(1, 2) as u16;
            cells.push((label, w, Style::new().fg(theme::GHOST)));
        }
    }
    // Scroll so the cursor sits inside the line.
    let width = inner.width;
    let col_of = |n: usize| cells[..n].iter().map(|c| c.1).sum::<u16>();
    let cursor_col = col_of(cursor_cell);
    let skip_cols = cursor_col.saturating_sub(width.saturating_sub(2));
    let mut x_col: u16 = 0;
    let mut pos = None;
    for (i, (sym, w, style)) in cells.iter().enumerate() {
        if i == cursor_cell {
            pos = Some(x_col);
        }
        let start = x_col;
        x_col += w;
        if start < skip_cols {
            continue;
        }
        let x = start - skip_cols;
        if x + w > width {
            break;
        }
        buf.set_stringn(inner.x + x, inner.y, sym, *w as usize, *style);
    }
    if cursor_cell >= text_cells && pos.is_none() {
        pos = Some(col_of(text_cells));
    }
    pos.map(|c| Position { x: inner.x + (c - skip_cols).min(width - 1), y: inner.y })
}
