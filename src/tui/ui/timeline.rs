//! The timeline bar (`play --replay DIR`), one line above the panels: which
//! snapshot the panels show (`snapshot 3/29 · step 750 · val 1.83`), then a
//! strip with a column per snapshot (or per group of them, when they
//! outnumber the columns) whose height is its loss, validation where the
//! step evaluated, else training. The snapshot on screen is marked; one
//! asked for and still loading is marked in another colour.

use super::theme;
use crate::tui::app::Timeline;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;
use unicode_width::UnicodeWidthStr;

const LEVELS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
const KEYS: &str = "Alt-< Alt-> step";

/// The snapshots column `c` of `cols` stands for: a run of them, in order.
fn group(c: usize, cols: usize, n: usize) -> std::ops::Range<usize> {
    if n <= cols {
        return c..c + 1;
    }
    c * n / cols..((c + 1) * n / cols).max(c * n / cols + 1)
}

/// The strip's characters and whether each holds the shown / wanted snapshot.
pub fn strip(t: &Timeline, width: usize) -> Vec<(char, bool, bool)> {
    let n = t.snapshots.len();
    let cols = n.min(width);
    let losses: Vec<f32> = (0..n).filter_map(|i| t.loss(i)).collect();
    let lo = losses.iter().copied().fold(f32::INFINITY, f32::min);
    let hi = losses.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    (0..cols)
        .map(|c| {
            let g = group(c, cols, n);
            let ch = match t.loss(g.start) {
                Some(l) if hi > lo => LEVELS[(((l - lo) / (hi - lo)) * 7.0).round().clamp(0.0, 7.0) as usize],
                Some(_) => LEVELS[3],
                None => '·',
            };
            (ch, g.contains(&t.shown), g.contains(&t.wanted))
        })
        .collect()
}

pub fn render(t: &Timeline, area: Rect, buf: &mut Buffer) {
    if area.height == 0 {
        return;
    }
    let label = format!(" {} ", t.label());
    let room = (area.width as usize).saturating_sub(label.width() + KEYS.width() + 3);
    let mut spans = vec![Span::styled(label, theme::title().fg(theme::ACCENT))];
    let loading = t.wanted != t.shown;
    for (ch, shown, wanted) in strip(t, room) {
        let style = if shown {
            Style::new().fg(Color::Black).bg(theme::ACCENT).add_modifier(Modifier::BOLD)
        } else if wanted && loading {
            Style::new().fg(Color::Black).bg(Color::Gray)
        } else {
            Style::new().fg(Color::LightCyan)
        };
        spans.push(Span::styled(ch.to_string(), style));
    }
    spans.push(Span::raw(" "));
    if room > 0 {
        spans.push(Span::styled(KEYS, theme::dim()));
    }
    Line::from(spans).render(area, buf);
}

#[cfg(test)]
mod tests {
    use super::group;

    #[test]
    fn groups_cover_every_snapshot_once_in_order() {
        for (n, cols) in [(5, 10), (29, 10), (100, 7), (7, 7)] {
            let c = n.min(cols);
            let all: Vec<usize> = (0..c).flat_map(|i| group(i, c, n)).collect();
            assert_eq!(all, (0..n).collect::<Vec<_>>(), "{n} in {cols}");
        }
    }
}
