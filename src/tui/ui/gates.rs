//! Gate heatmaps for the selected layer: one per gate (i, f, o, and g when
//! toggled), stacked. x is the step (newest at the right), y the hidden
//! units, two units per cell with '▀' (foreground = upper, background =
//! lower). Fixed colour scales: 0..1, and −1..1 for g. When there are more
//! units than rows, the most variable units over the visible steps are shown,
//! and the gutter says which.

use super::{step_window, theme};
use crate::generate::LayerStep;
use crate::tui::app::{App, Mode};
use crate::tui::text::char_label;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::widgets::{Block, Widget};

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
            Gate::I => &l.i,
            Gate::F => &l.f,
            Gate::O => &l.o,
            Gate::G => &l.g,
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
    app: &App,
    gate: Gate,
    layer: usize,
    start: usize,
    end: usize,
    units: usize,
    rows: usize,
) -> Vec<usize> {
    let want = rows * 2;
    if units <= want {
        return (0..units).collect();
    }
    let n = (end - start).max(1) as f32;
    let mut sum = vec![0f64; units];
    let mut sq = vec![0f64; units];
    let mut bad = vec![false; units];
    for s in app.steps.range(start..end) {
        let Some(l) = s.layers.get(layer) else { continue };
        for (u, &v) in gate.values(l).iter().enumerate().take(units) {
            if v.is_finite() {
                sum[u] += v as f64;
                sq[u] += (v as f64) * (v as f64);
            } else {
                bad[u] = true;
            }
        }
    }
    let var: Vec<f64> = (0..units)
        .map(|u| if bad[u] { f64::INFINITY } else { sq[u] / n as f64 - (sum[u] / n as f64).powi(2) })
        .collect();
    let mut idx: Vec<usize> = (0..units).collect();
    idx.sort_by(|&a, &b| var[b].total_cmp(&var[a]).then(a.cmp(&b)));
    idx.truncate(want);
    idx.sort_unstable();
    idx
}

fn legend(area: Rect, buf: &mut Buffer, show_g: bool) {
    if area.width == 0 {
        return;
    }
    let mut x = area.x;
    let right = area.x + area.width;
    let put = |buf: &mut Buffer, x: &mut u16, s: &str, style: Style| {
        if *x < right {
            let (nx, _) = buf.set_stringn(*x, area.y, s, (right - *x) as usize, style);
            *x = nx;
        }
    };
    put(buf, &mut x, "0 ", theme::dim());
    for k in 0..=10 {
        if x < right {
            buf[(x, area.y)].set_symbol(" ").set_bg(theme::unit(k as f32 / 10.0));
            x += 1;
        }
    }
    put(buf, &mut x, " 1", theme::dim());
    if show_g {
        put(buf, &mut x, "   g: −1 ", theme::dim());
        for k in 0..=10 {
            if x < right {
                buf[(x, area.y)].set_symbol(" ").set_bg(theme::signed(k as f32 / 5.0 - 1.0));
                x += 1;
            }
        }
        put(buf, &mut x, " 1", theme::dim());
    }
    put(buf, &mut x, "   ", Style::new());
    if x < right {
        buf[(x, area.y)].set_symbol(" ").set_bg(theme::NAN);
        x += 1;
    }
    put(buf, &mut x, " NaN   ", theme::dim());
    put(buf, &mut x, "▀", Style::new().fg(theme::PROMPT_BG));
    put(buf, &mut x, " prompt ", theme::dim());
    put(buf, &mut x, "▀", Style::new().fg(theme::GENERATED_BG));
    put(buf, &mut x, " generated", theme::dim());
}

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let layers = app.layers();
    let units = app.model.as_ref().map(|m| m.hidden).unwrap_or(0);
    let title = if layers > 0 {
        format!(" gates · layer {}/{} · {} units ", app.layer + 1, layers, units)
    } else {
        " gates ".to_string()
    };
    let block = Block::bordered().title(title).title_style(theme::title());
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.height < 3 || inner.width < 4 {
        return;
    }
    legend(Rect { height: 1, ..inner }, buf, app.show_g);
    let gates: &[Gate] = if app.show_g { &[Gate::I, Gate::F, Gate::O, Gate::G] } else { &[Gate::I, Gate::F, Gate::O] };
    let body_h = inner.height - 2; // legend and step strip
    let per = body_h / gates.len() as u16;
    if per < 2 {
        return;
    }
    let rows = (per - 1) as usize;
    // Gutter: the two units of each row, "upper,lower".
    let digits = units.saturating_sub(1).max(1).to_string().len() as u16;
    let gutter = 2 * digits + 2;
    let heat_x = inner.x + gutter;
    let heat_w = inner.width.saturating_sub(gutter) as usize;
    let (start, end) = step_window(app, heat_w);
    let focus = app.focus();
    let inspecting = app.mode == Mode::Inspect;
    let layer = app.layer;
    for (gi, &gate) in gates.iter().enumerate() {
        let y0 = inner.y + 1 + gi as u16 * per;
        let shown = pick_units(app, gate, layer, start, end, units, rows);
        let label = if shown.len() < units {
            format!("{} · {} most variable of {} units (ids at left)", gate.name(), shown.len(), units)
        } else if units > 0 {
            format!("{} · units 0–{}", gate.name(), units - 1)
        } else {
            gate.name().to_string()
        };
        let (label_end, _) = buf.set_stringn(inner.x, y0, &label, inner.width as usize, Style::new().fg(theme::ACCENT));
        for r in 0..rows.min(shown.len().div_ceil(2)) {
            let y = y0 + 1 + r as u16;
            let upper = shown[2 * r];
            let lower = shown.get(2 * r + 1).copied();
            let g = match lower {
                Some(l) => format!("{upper:>w$},{l:<w$}", w = digits as usize),
                None => format!("{upper:>w$}", w = digits as usize),
            };
            buf.set_stringn(inner.x, y, &g, gutter as usize - 1, theme::dim());
            for (col, si) in (start..end).enumerate() {
                let Some(l) = app.steps[si].layers.get(layer) else { continue };
                let vals = gate.values(l);
                let top = vals.get(upper).copied().unwrap_or(f32::NAN);
                let x = heat_x + col as u16;
                let cell = &mut buf[(x, y)];
                cell.set_symbol("▀").set_fg(gate.color(top));
                match lower {
                    Some(lu) => cell.set_bg(gate.color(vals.get(lu).copied().unwrap_or(f32::NAN))),
                    None => cell.set_bg(Color::Reset),
                };
                if inspecting && Some(si) == focus && r == 0 && x > label_end {
                    // Mark the inspected column above the map, where the label leaves room.
                    let m = &mut buf[(x, y0)];
                    m.set_symbol("▼").set_fg(theme::CURSOR_BG);
                }
            }
        }
    }
    // The step strip: each column's character, prompt steps apart from generated ones.
    let sy = inner.y + inner.height - 1;
    buf.set_stringn(inner.x, sy, "step", gutter as usize - 1, theme::dim());
    for (col, si) in (start..end).enumerate() {
        let s = &app.steps[si];
        let label = char_label(s.ch);
        let sym = if unicode_width::UnicodeWidthStr::width(label.as_str()) == 1 { label } else { "·".to_string() };
        let mut style = if s.is_prompt {
            Style::new().bg(theme::PROMPT_BG).fg(Color::White)
        } else {
            Style::new().bg(theme::GENERATED_BG).fg(Color::Gray)
        };
        if Some(si) == focus && inspecting {
            style = Style::new().bg(theme::CURSOR_BG).fg(Color::Black);
        }
        buf[(heat_x + col as u16, sy)].set_symbol(&sym).set_style(style);
    }
}
