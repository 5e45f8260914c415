//! The likeliest next characters after the focused step, as bars. The one
//! the model actually went on with (when known) is marked, and the one
//! chosen to branch with (inspect mode, ↑↓) is highlighted.

use super::theme;
use super::Focus;
use crate::tui::app::Run;
use crate::tui::text::char_label;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::{Block, Widget};

const EIGHTHS: [&str; 9] = [" ", "▏", "▎", "▍", "▌", "▋", "▊", "▉", "█"];

pub fn render(run: &Run, focus: Focus, area: Rect, buf: &mut Buffer) {
    render_with_choice(run, focus, None, area, buf)
}

/// `render`, with the candidate of rank `choice` highlighted.
pub fn render_with_choice(run: &Run, focus: Focus, choice: Option<usize>, area: Rect, buf: &mut Buffer) {
    let focus = focus.step;
    let step = focus.and_then(|f| run.steps.get(f));
    let title = match step {
        Some(s) => format!(" next char after {} (t={}) ", char_label(s.ch), s.t),
        None => " next char ".to_string(),
    };
    let block = Block::bordered().title(title).title_style(theme::title());
    let inner = block.inner(area);
    block.render(area, buf);
    let Some(step) = step else { return };
    let next = focus.and_then(|f| run.steps.get(f + 1)).map(|s| s.ch);
    let w = inner.width as usize;
    // label(3) + bar + " 100.0%" (7) + " ◀"(2)
    let bar_w = w.saturating_sub(3 + 7 + 2);
    for (row, &(c, p)) in step.top.iter().enumerate().take(inner.height as usize) {
        let y = inner.y + row as u16;
        let label = char_label(c);
        let chosen = choice == Some(row);
        let label_style = match chosen {
            true => Style::new().bg(theme::BRANCH).fg(Color::Black).add_modifier(Modifier::BOLD),
            false => Style::new().fg(theme::ACCENT),
        };
        buf.set_stringn(inner.x, y, format!("{label:<2}"), 2, label_style);
        let frac = if p.is_finite() { p.clamp(0.0, 1.0) } else { 0.0 };
        let eighths = (frac * bar_w as f32 * 8.0).round() as usize;
        let mut bar = "█".repeat(eighths / 8);
        let rest = eighths % 8;
        if rest > 0 {
            bar.push_str(EIGHTHS[rest]);
        }
        let color = match (chosen, Some(c) == next) {
            (true, _) => theme::BRANCH,
            (false, true) => theme::CURSOR_BG,
            (false, false) => Color::LightBlue,
        };
        buf.set_stringn(inner.x + 3, y, &bar, bar_w, Style::new().fg(color));
        let pct = if p.is_finite() { format!("{:>5.1}%", p * 100.0) } else { "   NaN".to_string() };
        let mut x = inner.x + 3 + bar_w as u16;
        let (nx, _) = buf.set_stringn(x, y, format!(" {pct}"), 7, theme::dim());
        x = nx;
        if Some(c) == next {
            buf.set_stringn(x, y, " ◀", 2, Style::new().fg(theme::CURSOR_BG));
        }
    }
}
