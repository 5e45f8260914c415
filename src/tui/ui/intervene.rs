//! What the playground shows of its interventions: the status bar's badge
//! (a coloured count, then as many specs as fit), the editor's live check
//! on the status line, and the list box that removes them one by one.

use super::compare::INTERVENED;
use super::theme;
use crate::model::Intervention;
use crate::tui::app::intervene::describe;
use crate::tui::app::{App, Mode};
use crate::tui::keys::{self, Context};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Widget};
use unicode_width::UnicodeWidthStr;

/// The badge: ` N interventions ` on a coloured ground, then the specs in
/// order, as many whole ones as fit `max` columns, and `+k` for the rest.
pub fn badge(list: &[Intervention], max: usize) -> Vec<Span<'static>> {
    if list.is_empty() {
        return Vec::new();
    }
    let n = list.len();
    let head = format!(" {n} intervention{} ", if n == 1 { "" } else { "s" });
    let mut spans =
        vec![Span::styled(head.clone(), Style::new().bg(INTERVENED).fg(Color::Black).add_modifier(Modifier::BOLD))];
    let mut used = head.width();
    for (i, iv) in list.iter().enumerate() {
        let spec = format!(" {iv}");
        let rest = n - i - 1;
        let more = if rest > 0 { format!(" +{rest}").width() } else { 0 };
        if used + spec.width() + more > max {
            spans.push(Span::styled(format!(" +{}", n - i), Style::new().fg(INTERVENED)));
            break;
        }
        used += spec.width();
        spans.push(Span::styled(spec, Style::new().fg(INTERVENED)));
    }
    spans
}

/// The status line while the editor is open: what the typed spec does, or
/// why it cannot be applied.
pub fn check_line(app: &App) -> Line<'static> {
    match app.intervention_typed() {
        Ok(iv) => {
            let rerun = if app.run.steps.is_empty() { "Enter adds it" } else { "Enter reruns with it" };
            Line::from(Span::styled(format!(" ✓ {}; {rerun}", describe(&iv)), Style::new().fg(Color::LightGreen)))
        }
        Err(e) => Line::from(Span::styled(
            format!(" ✗ {}", crate::tui::text::sanitize_line(&e)),
            Style::new().fg(theme::ERROR),
        )),
    }
}

/// The list box, over the bottom of the left panels, above the prompt.
pub fn render_list(app: &App, area: Rect, buf: &mut Buffer) {
    if app.mode != Mode::Interventions || app.interventions.active.is_empty() {
        return;
    }
    let list = &app.interventions.active;
    let hints = keys::hints(Context::List).join(" · ");
    let widest = list.iter().map(|iv| describe(iv).width() + iv.to_string().width() + 6).max().unwrap_or(0);
    let title = format!(" interventions, in order · {hints} ");
    let w = (widest.max(title.width() + 2) as u16 + 2).clamp(30, area.width);
    let h = (list.len() as u16 + 2).min(area.height);
    let r = Rect { x: area.x, y: area.y + area.height - h, width: w, height: h };
    Clear.render(r, buf);
    let block = Block::bordered().title(title).title_style(theme::title()).border_style(Style::new().fg(INTERVENED));
    let inner = block.inner(r);
    block.render(r, buf);
    let first = app.interventions.selected.saturating_sub(inner.height.saturating_sub(1) as usize);
    for (row, (i, iv)) in list.iter().enumerate().skip(first).take(inner.height as usize).enumerate() {
        let y = inner.y + row as u16;
        let selected = i == app.interventions.selected;
        let style = if selected { Style::new().bg(INTERVENED).fg(Color::Black) } else { Style::new() };
        let text = format!("{} {iv}  {}", if selected { "›" } else { " " }, describe(iv));
        buf.set_stringn(inner.x, y, format!("{text:w$}", w = inner.width as usize), inner.width as usize, style);
        if !selected {
            buf.set_stringn(inner.x + 2, y, iv.to_string(), inner.width as usize, Style::new().fg(INTERVENED));
        }
    }
}
