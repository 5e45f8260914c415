//! The cells panel, in place of the heatmaps: the catalogue over the
//! history (or over a file, Alt-F), one row per (feature, unit), strongest
//! first within a feature, with the unit's state, r and median half-life
//! (how many steps the cell typically keeps half of what it holds). The
//! selected row is highlighted; pinned units carry a dot.

use super::theme;
use crate::tui::app::analyses::cell_rows;
use crate::tui::app::{App, Mode};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::{Block, Widget};
use unicode_width::UnicodeWidthStr;

/// The panel's first line: what it measured, or what it is doing.
fn status(app: &App) -> (String, Style) {
    if let Some(j) = &app.analyses.file_job {
        return (format!("{} (the model worker reads it)", j.status()), Style::new().fg(theme::ACCENT));
    }
    if app.analyses.file.is_some() {
        return ("the file's catalogue · Alt-r: the history's instead".into(), theme::dim());
    }
    let job = app.analyses.running(true).map(|j| j.progress());
    match (&app.analyses.catalogue, job) {
        (_, Some((done, all))) => (format!("computing over {all} steps … {}%", done * 100 / all.max(1)), theme::dim()),
        (None, None) => ("no catalogue yet: Alt-r computes it over the history".into(), theme::dim()),
        (Some(m), None) if m.history != app.run.history || m.steps != app.run.steps.len() => {
            (format!("over {} steps of an earlier history · Alt-r recomputes", m.steps), Style::new().fg(theme::ACCENT))
        }
        (Some(m), None) => (format!("over the {} steps (prompt + generated)", m.steps), theme::dim()),
    }
}

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let focused = app.mode == Mode::Panel;
    let keys = if focused { "↑↓ Enter pins · Esc " } else { "Alt-C closes " };
    let title = match &app.analyses.file {
        // The file's name comes before the keys, which the status hints repeat.
        Some(f) => {
            let named = format!(" cells · {} ", f.title());
            let room = (area.width as usize).saturating_sub(2);
            if named.width() + keys.width() + 2 <= room {
                format!("{named}· {keys}")
            } else {
                named
            }
        }
        None => format!(" cells: catalogue · {keys}"),
    };
    let block = Block::bordered().title(title).title_style(theme::title());
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.height < 3 || inner.width < 20 {
        return;
    }
    let w = inner.width as usize;
    let (line, style) = status(app);
    buf.set_stringn(inner.x, inner.y, &line, w, style);
    let Some(cat) = app.analyses.shown() else { return };
    let header = format!("{:<15} {:<10} {:<5} {:>6} {:>9}", "feature", "unit", "state", "r", "half-life");
    buf.set_stringn(inner.x, inner.y + 1, &header, w, Style::new().fg(theme::ACCENT).add_modifier(Modifier::BOLD));
    let rows = cell_rows(cat);
    let visible = inner.height as usize - 2;
    let sel = app.analyses.cells_row.min(rows.len().saturating_sub(1));
    let first = sel.saturating_sub(visible.saturating_sub(1));
    let over = if app.analyses.file.is_some() { "file" } else { "history" };
    let mut last_feature = None;
    if first > 0 {
        last_feature = rows.get(first - 1).map(|r| r.0);
    }
    for (k, (j, c)) in rows.iter().enumerate().skip(first).take(visible) {
        let y = inner.y + 2 + (k - first) as u16;
        let f = &cat.features[*j];
        let name = if last_feature == Some(*j) { "" } else { f.name.as_str() };
        last_feature = Some(*j);
        let text = match c {
            Some(c) => {
                let dot = if app.view.pins.contains(&c.unit) { "●" } else { " " };
                let unit = format!("{dot}{}", c.unit);
                let half_life = c.median_half_life.map_or("–".to_string(), |m| format!("{m:.1}"));
                format!("{name:<15} {unit:<10} {:<5} {:>+6.3} {half_life:>9}", c.state.letter(), c.r)
            }
            None if f.constant => format!("{name:<15} (constant over the {over}: no units)"),
            None => format!("{name:<15} (no unit varies with it)"),
        };
        let mut style = if c.is_some() { Style::new() } else { theme::dim() };
        if k == sel {
            style = if focused {
                Style::new().bg(theme::CURSOR_BG).fg(Color::Black)
            } else {
                style.add_modifier(Modifier::REVERSED)
            };
        }
        buf.set_stringn(inner.x, y, format!("{text:<w$}"), w, style);
    }
}
