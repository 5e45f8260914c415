//! The compare view, in place of the output panel after an intervention:
//! the baseline run and the intervened rerun in row pairs (`b` above `i`),
//! one column per step so that the same t sits in the same column, and the
//! characters that differ highlighted. Line breaks show as `⏎` to keep the
//! columns aligned. It opens at the first difference (or where the
//! intervention starts), and PgUp / PgDn scroll it.

use super::theme;
use crate::generate::Step;
use crate::tui::app::intervene::diff;
use crate::tui::app::{Compare, Run};
use crate::tui::text::{glyph, lone_mark, Glyph};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::{Block, Widget};

/// The background of a character that differs from the other run's.
pub const DIFF_BG: Color = Color::LightRed;
/// The row label and badge colour of the intervened run.
pub const INTERVENED: Color = Color::LightMagenta;

/// One step of one run as drawn: its symbol and width (1 or 2).
fn symbol(ch: char) -> (String, u16) {
    match glyph(ch) {
        Glyph::Newline => ("⏎".into(), 1),
        Glyph::Show(s, w) => (s, w.clamp(1, 2)),
        Glyph::Attach(c) => (lone_mark(c), 1),
    }
}

/// The step at t in a run whose steps are consecutive from `steps[0].t`.
fn at<'a>(steps: impl Fn(usize) -> Option<&'a Step>, first: Option<usize>, t: usize) -> Option<&'a Step> {
    steps(t.checked_sub(first?)?)
}

pub fn render(cmp: &Compare, run: &Run, area: Rect, buf: &mut Buffer) {
    let d = diff(&cmp.baseline, &run.steps);
    // The added spec is in the status bar's badge; the title keeps to the numbers.
    let mut title = format!(" compare b/i · {}/{} differ", d.differing, d.compared);
    if let Some(t) = d.first {
        title.push_str(&format!(" · first t={t}"));
    }
    title.push_str(if run.is_running() { " · rerunning… " } else { " " });
    let block = Block::bordered().title(title).title_style(theme::title());
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.width < 4 || inner.height < 2 {
        return;
    }
    let (b0, r0) = (cmp.baseline.first().map(|s| s.t), run.steps.front().map(|s| s.t));
    let base = |i: usize| cmp.baseline.get(i).map(|s| &**s);
    let rerun = |i: usize| run.steps.get(i).map(|s| &**s);
    let lo = b0.into_iter().chain(r0).min().unwrap_or(0);
    let hi = [cmp.baseline.last().map(|s| s.t), run.steps.back().map(|s| s.t)].into_iter().flatten().max();
    let Some(hi) = hi else { return };
    // Lay the steps out in rows of at most `cols` columns.
    let cols = inner.width - 2;
    let mut rows: Vec<Vec<usize>> = vec![Vec::new()];
    let mut used = 0u16;
    for t in lo..=hi {
        let w = [at(base, b0, t), at(rerun, r0, t)].iter().flatten().map(|s| symbol(s.ch).1).max().unwrap_or(1);
        if used + w > cols {
            rows.push(Vec::new());
            used = 0;
        }
        rows.last_mut().expect("a row").push(t);
        used += w;
    }
    // Open one row pair above the first difference (or the intervention's start).
    let anchor_t = d.first.unwrap_or(cmp.from).clamp(lo, hi);
    let anchor = rows.iter().position(|r| r.last().is_some_and(|&t| t >= anchor_t)).unwrap_or(0);
    let pairs = (inner.height / 2) as usize;
    let max_top = rows.len().saturating_sub(pairs) as isize;
    let top = (anchor as isize - 1 + cmp.scroll).clamp(0, max_top) as usize;
    for (k, row) in rows.iter().skip(top).take(pairs).enumerate() {
        let y = inner.y + 2 * k as u16;
        buf.set_stringn(inner.x, y, "b ", 2, Style::new().fg(Color::DarkGray));
        buf.set_stringn(inner.x, y + 1, "i ", 2, Style::new().fg(INTERVENED));
        let mut x = inner.x + 2;
        for &t in row {
            let (b, r) = (at(base, b0, t), at(rerun, r0, t));
            let differs = matches!((b, r), (Some(b), Some(r)) if b.ch != r.ch);
            let w = [b, r].iter().flatten().map(|s| symbol(s.ch).1).max().unwrap_or(1);
            for (dy, step, is_base) in [(0, b, true), (1, r, false)] {
                let Some(s) = step else { continue };
                let mut style = if s.is_prompt {
                    Style::new().fg(theme::PROMPT)
                } else if is_base {
                    Style::new().fg(Color::Gray)
                } else {
                    Style::new()
                };
                if differs {
                    style = if is_base {
                        Style::new().fg(Color::White).add_modifier(Modifier::UNDERLINED)
                    } else {
                        Style::new().bg(DIFF_BG).fg(Color::Black).add_modifier(Modifier::BOLD)
                    };
                }
                let (sym, _) = symbol(s.ch);
                buf.set_stringn(x, y + dy, &sym, w as usize, style);
            }
            x += w;
        }
    }
}
