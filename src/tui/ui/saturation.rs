//! The saturation view, in place of the heatmaps (Karpathy et al. 2015,
//! their saturation figure): one scatter per gate i, f, o; each unit is a
//! point at x = the fraction of steps its gate was above 0.9 (right) and
//! y = the fraction below 0.1 (left), coloured by layer; the line x + y = 1
//! bounds them. A cursor picks the points nearest it.

use super::theme;
use crate::tui::app::analyses::SAT_GRID;
use crate::tui::app::{App, Mode};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::{Block, Widget};

const GATES: [&str; 3] = ["i input", "f forget", "o output"];

/// The cell of a (right, left) point in a plot of `w` × `h` cells.
fn cell(x: f64, y: f64, w: u16, h: u16) -> (u16, u16) {
    let cx = (x.clamp(0.0, 1.0) * f64::from(w - 1)).round() as u16;
    let cy = ((1.0 - y.clamp(0.0, 1.0)) * f64::from(h - 1)).round() as u16;
    (cx, cy)
}

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let focused = app.mode == Mode::Panel;
    let keys = if focused { "arrows · Tab gate · Space next · Enter pins · Esc " } else { "Alt-G closes " };
    let block = Block::bordered().title(format!(" saturation · {keys}")).title_style(theme::title());
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.height < 8 || inner.width < 30 {
        return;
    }
    let job = app.analyses.running(false).map(|j| j.progress());
    let Some(sat) = &app.analyses.saturation else {
        let line = match job {
            Some((d, n)) => format!("computing over {n} steps … {}%", d * 100 / n.max(1)),
            None => "no saturation yet: Alt-r computes it over the history".into(),
        };
        buf.set_stringn(inner.x, inner.y, line, inner.width as usize, theme::dim());
        return;
    };
    // Legend: axes, layers, and what was measured.
    let mut x = inner.x;
    let right = inner.x + inner.width;
    let head = format!("x right (>0.9) · y left (<0.1) · {} steps · ", sat.steps);
    (x, _) = buf.set_stringn(x, inner.y, &head, (right - x) as usize, theme::dim());
    for k in 0..sat.value.layers.len() {
        let c = theme::LAYERS[k % theme::LAYERS.len()];
        (x, _) = buf.set_stringn(x, inner.y, format!("● l{k} "), right.saturating_sub(x) as usize, Style::new().fg(c));
    }
    let stale = sat.history != app.run.history || sat.steps != app.run.steps.len();
    if stale || job.is_some() {
        let note = if job.is_some() { "· recomputing" } else { "· earlier history, Alt-r" };
        buf.set_stringn(x, inner.y, note, right.saturating_sub(x) as usize, Style::new().fg(theme::ACCENT));
    }
    let gap = 2;
    let pw = (inner.width - 2 * gap) / 3;
    let ph = inner.height - 3; // legend, titles, info line
    let selected = app.analyses.selected_point();
    let cur = app.analyses.sat_cursor;
    for g in 0..3 {
        let px = inner.x + g as u16 * (pw + gap);
        let ty = inner.y + 1;
        let title_style = if g == cur.gate {
            Style::new().fg(theme::ACCENT).add_modifier(Modifier::BOLD)
        } else {
            Style::new().fg(Color::Gray)
        };
        buf.set_stringn(px, ty, GATES[g], pw as usize, title_style);
        let plot = Rect { x: px + 1, y: ty + 1, width: pw - 1, height: ph - 1 };
        // Axes: left and bottom.
        for r in 0..ph - 1 {
            buf[(px, plot.y + r)].set_symbol("│").set_style(theme::dim());
        }
        buf.set_stringn(px, plot.y + plot.height, "└", 1, theme::dim());
        for c in 0..plot.width {
            buf[(plot.x + c, plot.y + plot.height)].set_symbol("─").set_style(theme::dim());
        }
        // The line x + y = 1.
        for c in 0..plot.width {
            let xf = f64::from(c) / f64::from(plot.width - 1);
            let (_, cy) = cell(xf, 1.0 - xf, plot.width, plot.height);
            buf[(plot.x + c, plot.y + cy)].set_symbol("·").set_style(theme::dim());
        }
        // Points: per cell, how many of each layer; the majority colours it.
        let mut counts = vec![vec![0u32; sat.value.layers.len()]; (plot.width * plot.height) as usize];
        for (k, gates) in sat.value.layers.iter().enumerate() {
            let gs = &gates[g];
            for (&r, &l) in gs.right.iter().zip(&gs.left) {
                let (cx, cy) = cell(r, l, plot.width, plot.height);
                counts[(cy * plot.width + cx) as usize][k] += 1;
            }
        }
        for (i, per) in counts.iter().enumerate() {
            let n: u32 = per.iter().sum();
            if n == 0 {
                continue;
            }
            let k = per.iter().enumerate().max_by_key(|(k, c)| (**c, std::cmp::Reverse(*k))).map_or(0, |x| x.0);
            let (cx, cy) = (i as u16 % plot.width, i as u16 / plot.width);
            let sym = if n == 1 { "•" } else { "●" };
            let colour = theme::LAYERS[k % theme::LAYERS.len()];
            buf[(plot.x + cx, plot.y + cy)].set_symbol(sym).set_style(Style::new().fg(colour));
        }
        if g == cur.gate {
            let (cx, cy) = cell(
                f64::from(cur.x) / f64::from(SAT_GRID),
                f64::from(cur.y) / f64::from(SAT_GRID),
                plot.width,
                plot.height,
            );
            let c = &mut buf[(plot.x + cx, plot.y + cy)];
            let sym = if c.symbol() == " " || c.symbol() == "·" { "+" } else { c.symbol() }.to_string();
            c.set_symbol(&sym).set_bg(Color::DarkGray).set_fg(Color::White);
            if let Some((_, r, l)) = selected {
                let (sx, sy) = cell(r, l, plot.width, plot.height);
                buf[(plot.x + sx, plot.y + sy)].set_symbol("◆").set_style(Style::new().fg(theme::CURSOR_BG));
            }
        }
    }
    // Info: the cursor and the point it selects.
    let iy = inner.y + inner.height - 1;
    let (cx, cy) = (f64::from(cur.x) / f64::from(SAT_GRID), f64::from(cur.y) / f64::from(SAT_GRID));
    let mut info = format!("{} · cursor right {cx:.2} left {cy:.2}", &GATES[cur.gate][..1]);
    if let Some((u, r, l)) = selected {
        let n = app.analyses.nearest().len();
        let pin = if app.view.pins.contains(&u) { " (pinned)" } else { "" };
        info.push_str(&format!(
            " · ◆ {} right {r:.2} left {l:.2}{pin} · nearest {}/{n}",
            app.view.name(u),
            cur.nth % n + 1
        ));
    }
    buf.set_stringn(inner.x, iy, info, inner.width as usize, Style::new().fg(Color::White));
}
