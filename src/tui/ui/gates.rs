//! Gate heatmaps for the selected layer: one per gate (i, f, o, and g when
//! toggled), stacked. x is the step (newest at the right), y the hidden
//! units, two units per cell with '▀' (foreground = upper, background =
//! lower; the legend says so). Fixed colour scales: 0..1, and −1..1 for g.
//! When there are more units than rows, the most variable units over the
//! visible steps are shown, and the gutter names them (`l1:12,40`). Pinned
//! units (of any layer) come first, one per row, named in full (`l1:134`,
//! with the start of its catalogue label when it has one).

use super::{step_window, theme, Focus};
use crate::generate::{LayerStep, Step};
use crate::model::Unit;
use crate::tui::app::{short_r, CellLabel, Run, View};
use crate::tui::text::char_label;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::widgets::{Block, Widget};
use std::collections::VecDeque;
use std::sync::Arc;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Gate {
    I,
    F,
    O,
    G,
}

impl Gate {
    fn name(self) -> &'static str {
        match self {
            Gate::I => "i input",
            Gate::F => "f forget",
            Gate::O => "o output",
            Gate::G => "g candidate",
        }
    }

    fn values(self, l: &LayerStep) -> &[f32] {
        match self {
            Gate::I => &l.gates.i,
            Gate::F => &l.gates.f,
            Gate::O => &l.gates.o,
            Gate::G => &l.gates.g,
        }
    }

    fn color(self, v: f32) -> Color {
        if self == Gate::G {
            theme::signed(v)
        } else {
            theme::unit(v)
        }
    }
}

/// Which units to show for `rows` cells (2 units each): all of them in order
/// if they fit, else the `2 * rows` with the largest variance over the
/// window, in unit order. Non-finite values count as most variable (they are
/// worth seeing).
pub fn pick_units(
    steps: &VecDeque<Arc<Step>>,
    gate: Gate,
    layer: usize,
    window: std::ops::Range<usize>,
    units: usize,
    rows: usize,
    exclude: &[usize],
) -> Vec<usize> {
    let (start, end) = (window.start, window.end);
    let want = rows * 2;
    if units <= want + exclude.len() {
        return (0..units).filter(|u| !exclude.contains(u)).collect();
    }
    let n = (end - start).max(1) as f32;
    let mut sum = vec![0f64; units];
    let mut sq = vec![0f64; units];
    // Without a branch per value, so the compiler can vectorise the loop
    // (it runs for every panel of every frame): a non-finite value makes
    // its unit's sums non-finite, which marks the unit. Finite f32 values
    // cannot overflow these f64 sums.
    for s in steps.range(start..end) {
        let Some(l) = s.layers.get(layer) else { continue };
        let values = gate.values(l);
        let values = &values[..units.min(values.len())];
        for ((sum, sq), &v) in sum.iter_mut().zip(sq.iter_mut()).zip(values) {
            let v = v as f64;
            *sum += v;
            *sq += v * v;
        }
    }
    let var: Vec<f64> = (0..units)
        .map(|u| match sum[u].is_finite() && sq[u].is_finite() {
            true => sq[u] / n as f64 - (sum[u] / n as f64).powi(2),
            false => f64::INFINITY,
        })
        .collect();
    let mut idx: Vec<usize> = (0..units).filter(|u| !exclude.contains(u)).collect();
    idx.sort_by(|&a, &b| var[b].total_cmp(&var[a]).then(a.cmp(&b)));
    idx.truncate(want);
    idx.sort_unstable();
    idx
}

/// One legend entry: runs of (text, style), drawn together or not at all.
type Item = Vec<(String, Style)>;

fn legend_items(show_g: bool) -> Vec<Item> {
    let swatch = |c: Color| (" ".to_string(), Style::new().bg(c));
    let scale = |f: fn(f32) -> Color, lo: f32, hi: f32| -> Vec<(String, Style)> {
        (0..=10).map(|k| swatch(f(lo + (hi - lo) * k as f32 / 10.0))).collect()
    };
    let text = |s: &str| (s.to_string(), theme::dim());
    let mut items: Vec<Item> = Vec::new();
    items.push([vec![text("0 ")], scale(theme::unit, 0.0, 1.0), vec![text(" 1")]].concat());
    if show_g {
        items.push([vec![text("g −1 ")], scale(theme::signed, -1.0, 1.0), vec![text(" 1")]].concat());
    }
    items.push(vec![swatch(theme::NAN), text(" NaN")]);
    items.push(vec![
        ("▀".to_string(), Style::new().fg(Color::White).bg(Color::DarkGray)),
        text(" 2 units: upper fg, lower bg"),
    ]);
    items.push(vec![swatch(theme::PROMPT_BG), text(" prompt "), swatch(theme::GENERATED_BG), text(" generated")]);
    items
}

/// Lay the legend out in lines of `width`, never cutting an entry; returns
/// the lines (at most `max_lines`; entries that do not fit are left out).
fn legend_lines(show_g: bool, width: u16, max_lines: usize) -> Vec<Item> {
    let w = |item: &Item| item.iter().map(|(s, _)| s.chars().count()).sum::<usize>();
    let mut lines: Vec<Item> = vec![Vec::new()];
    let mut used = 0;
    for item in legend_items(show_g) {
        let gap = if used == 0 { 0 } else { 3 };
        if used + gap + w(&item) > width as usize && used > 0 {
            if lines.len() == max_lines {
                continue;
            }
            lines.push(Vec::new());
            used = 0;
        }
        if used > 0 {
            lines.last_mut().expect("a line").push(("   ".into(), Style::new()));
            used += 3;
        }
        used += w(&item);
        lines.last_mut().expect("a line").extend(item);
    }
    lines
}

fn draw_line(x: u16, y: u16, width: u16, runs: &[(String, Style)], buf: &mut Buffer) {
    let right = x + width;
    let mut x = x;
    for (s, style) in runs {
        if x >= right {
            return;
        }
        let (nx, _) = buf.set_stringn(x, y, s, (right - x) as usize, *style);
        x = nx;
    }
}

pub fn render(run: &Run, view: &View, focus: Focus, area: Rect, buf: &mut Buffer) {
    let (layers, units, layer) = (view.layers(), view.units(), view.layer);
    let title = format!(" gates · l{layer} of {layers} layers · {units} units ");
    let block = Block::bordered().title(title).title_style(theme::title());
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.height < 3 || inner.width < 4 {
        return;
    }
    let gates: &[Gate] = if view.show_g { &[Gate::I, Gate::F, Gate::O, Gate::G] } else { &[Gate::I, Gate::F, Gate::O] };
    // A second legend line only when the maps keep at least two rows each.
    let spare = inner.height.saturating_sub(1) as usize / gates.len();
    let legend = legend_lines(view.show_g, inner.width, if spare >= 4 { 2 } else { 1 });
    for (k, line) in legend.iter().enumerate() {
        draw_line(inner.x, inner.y + k as u16, inner.width, line, buf);
    }
    let top = inner.y + legend.len() as u16;
    let body_h = inner.height.saturating_sub(legend.len() as u16 + 1); // legend and step strip
    let per = body_h / gates.len() as u16;
    if per < 2 {
        return;
    }
    // Rows left over go to the first maps, one each, so no row stays empty.
    let extra = body_h % gates.len() as u16;
    let heights: Vec<u16> = (0..gates.len() as u16).map(|gi| per + u16::from(gi < extra)).collect();
    // Gutter: the layer and the two units of each row, "lK:upper,lower"; a
    // pinned unit's full name, and the start of its label, on a row of its own.
    let digits = units.saturating_sub(1).max(1).to_string().len();
    let prefix = format!("l{layer}:");
    let labelled = view.pins.iter().any(|u| view.labels.contains_key(u));
    let pin_w = view.pins.iter().map(|u| u.to_string().len()).max().unwrap_or(0) + if labelled { 9 } else { 0 };
    let gutter = ((prefix.len() + 2 * digits + 1).max(pin_w) + 1) as u16;
    let heat_x = inner.x + gutter;
    let heat_w = inner.width.saturating_sub(gutter) as usize;
    let (start, end) = step_window(run.steps.len(), focus, heat_w);
    let pinned_here: Vec<usize> = view.pins.iter().filter(|u| u.layer == layer).map(|u| u.index).collect();
    let mut y0 = top;
    for (gi, &gate) in gates.iter().enumerate() {
        let rows = (heights[gi] - 1) as usize;
        let pin_rows = view.pins.len().min(rows);
        let shown = pick_units(&run.steps, gate, layer, start..end, units, rows - pin_rows, &pinned_here);
        let mut label = String::from(gate.name());
        if pin_rows > 0 {
            label.push_str(&format!(" · {pin_rows} pinned"));
            if pin_rows < view.pins.len() {
                label.push_str(&format!(" (+{} not shown)", view.pins.len() - pin_rows));
            }
        }
        if shown.len() + pinned_here.len() < units {
            label.push_str(&format!(" · {} most variable of {units} units", shown.len()));
        } else if !shown.is_empty() {
            label.push_str(&format!(" · units {prefix}0–{}", units - 1));
        }
        let (label_end, _) = buf.set_stringn(inner.x, y0, &label, inner.width as usize, Style::new().fg(theme::ACCENT));
        // Rows: (gutter text, upper unit, lower unit, pinned).
        let mut lines: Vec<(String, Unit, Option<Unit>, bool)> = Vec::new();
        for &u in &view.pins[..pin_rows] {
            let name = gutter_name(u, view.labels.get(&u), gutter as usize - 1);
            lines.push((name, u, Some(u), true));
        }
        for pair in shown.chunks(2).take(rows - pin_rows) {
            let (upper, lower) = (pair[0], pair.get(1).copied());
            let g = match lower {
                Some(l) => format!("{prefix}{upper:>digits$},{l:<digits$}"),
                None => format!("{prefix}{upper:>digits$}"),
            };
            lines.push((g, Unit::new(layer, upper), lower.map(|l| Unit::new(layer, l)), false));
        }
        for (r, (g, upper, lower, pinned)) in lines.into_iter().enumerate() {
            let y = y0 + 1 + r as u16;
            let style = if pinned { Style::new().fg(theme::ACCENT) } else { theme::dim() };
            buf.set_stringn(inner.x, y, &g, gutter as usize - 1, style);
            for (col, si) in (start..end).enumerate() {
                let step = &run.steps[si];
                let value = |u: Unit| {
                    step.layers.get(u.layer).and_then(|l| gate.values(l).get(u.index).copied()).unwrap_or(f32::NAN)
                };
                let x = heat_x + col as u16;
                let cell = &mut buf[(x, y)];
                cell.set_symbol("▀").set_fg(gate.color(value(upper)));
                match lower {
                    Some(lu) => cell.set_bg(gate.color(value(lu))),
                    None => cell.set_bg(Color::Reset),
                };
                if focus.inspecting && Some(si) == focus.step && r == 0 && x > label_end {
                    // Mark the inspected column above the map, where the label leaves room.
                    let m = &mut buf[(x, y0)];
                    m.set_symbol("▼").set_fg(theme::CURSOR_BG);
                }
            }
        }
        y0 += heights[gi];
    }
    // The step strip: each column's character, prompt steps apart from generated ones.
    let sy = inner.y + inner.height - 1;
    buf.set_stringn(inner.x, sy, "step", gutter as usize - 1, theme::dim());
    for (col, si) in (start..end).enumerate() {
        let s = &run.steps[si];
        let label = char_label(s.ch);
        let sym = if unicode_width::UnicodeWidthStr::width(label.as_str()) == 1 { label } else { "·".to_string() };
        let mut style = if s.is_prompt {
            Style::new().bg(theme::PROMPT_BG).fg(Color::White)
        } else {
            Style::new().bg(theme::GENERATED_BG).fg(Color::Gray)
        };
        if Some(si) == focus.step && focus.inspecting {
            style = Style::new().bg(theme::CURSOR_BG).fg(Color::Black);
        }
        buf[(heat_x + col as u16, sy)].set_symbol(&sym).set_style(style);
    }
}

/// A pinned unit's name in a gutter of `width` columns: the unit, then the
/// words of its label (`in string r .58`) that fit. The feature's last word
/// that does not fit is cut with an ellipsis when three of its letters fit;
/// "r" and its value go together or not at all.
fn gutter_name(u: Unit, label: Option<&CellLabel>, width: usize) -> String {
    let mut name = u.to_string();
    let Some(label) = label else { return name };
    for word in label.words() {
        let room = width.saturating_sub(name.len() + 1);
        if word.len() > room {
            if room >= 4 {
                name = format!("{name} {}…", word.chars().take(room - 1).collect::<String>());
            }
            return name;
        }
        name = format!("{name} {word}");
    }
    let r = short_r(label.r);
    if name.chars().count() + 3 + r.chars().count() <= width {
        name = format!("{name} r {r}");
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pinned_units_gutter_name_keeps_what_fits() {
        let name = |u: Unit, (feature, r): (&str, f64), width: usize| {
            gutter_name(u, Some(&CellLabel { feature: feature.into(), r }), width)
        };
        let (l0, l2) = (Unit::new(0, 106), Unit::new(2, 386));
        assert_eq!(name(l0, ("in_string", 0.58), 15), "l0:106 in stri…");
        assert_eq!(name(l0, ("in_string", 0.58), 16), "l0:106 in string");
        assert_eq!(name(l0, ("in_string", 0.58), 22), "l0:106 in string r .58");
        assert_eq!(name(l0, ("in_string", 0.58), 21), "l0:106 in string");
        assert_eq!(name(l2, ("indent", 0.88), 15), "l2:386 indent", "no r without its value");
        assert_eq!(name(Unit::new(1, 271), ("line_position", 0.91), 15), "l1:271 line", "too little room to cut");
        assert_eq!(name(Unit::new(0, 222), ("in_word", 0.64), 15), "l0:222 in word");
        assert_eq!(name(l0, ("in_string", -0.58), 23), "l0:106 in string r −.58", "the minus is one column");
        assert_eq!(gutter_name(l2, None, 15), "l2:386");
    }
}
