//! The explain panel, in place of the heatmaps: the tutorial's cell for the
//! colouring unit at the inspect cursor, drawn down a wire with the model's
//! numbers (c′ → ×f → + i·g → c → tanh → ×o → h), and beside each gate its
//! largest terms as signed bars: the bias, the character (layer 0) or the
//! units of the layer below, and the units of h′. The terms shown, with
//! "others" for the rest, add up to the gate's z. The numbers are
//! `analysis::explain`'s, computed by the worker (`app/explain.rs`).

use super::theme;
use crate::analysis::explain::{Explanation, GateTerms, Source};
use crate::model::Gate;
use crate::tui::app::explain::PANEL_TOP;
use crate::tui::app::App;
use crate::tui::text::char_label;
use crate::vocab::quoted_char;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Widget};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Rows the cell itself takes: c′, the four gates' headers, kept, c with
/// tanh, and h.
const CELL_ROWS: usize = 9;
/// The wire beside a term row.
const WIRE: &str = " │    ";

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let current = app.explain_key();
    // The newest answer of this run: the cursor's, or the one before it
    // while the cursor's is computed.
    let answer = app
        .explain
        .asked
        .newest()
        .filter(|(k, _)| current.is_some_and(|c| c.history == k.history && c.dropped == k.dropped));
    let mut title = format!(" explain {} ", app.view.name(app.view.unit()));
    if let Some((key, Ok(e))) = answer {
        let t = app.run.steps.get(e.step).map_or(e.step, |s| s.t);
        // The label last: a narrow panel cuts it, not the step.
        let label = app.view.labels.get(&e.unit).map_or(String::new(), |l| format!("· {l} "));
        title = format!(" explain {} · t={t} {} {label}", e.unit, char_label(e.ch));
        if Some(*key) != current && app.inspecting() {
            title.push_str("· computing… ");
        }
    }
    let mut notes = Vec::new();
    if app.run.dropped > 0 {
        notes.push(format!("read from the first kept step ({} earlier dropped)", app.run.dropped));
    }
    if !app.interventions.ran_with.is_empty() {
        notes.push("without the run's interventions".to_string());
    }
    let mut block = Block::bordered().title(title).title_style(theme::title());
    if !notes.is_empty() {
        block = block.title_bottom(Line::styled(format!(" {} ", notes.join(" · ")), theme::dim()));
    }
    let inner = block.inner(area);
    block.render(area, buf);
    let lines = match (answer, app.inspecting()) {
        (_, false) => vec![Line::styled("follows the inspect cursor: Tab inspects, x closes", theme::dim())],
        (None, true) => vec![Line::styled("computing…", theme::dim())],
        (Some((_, Err(e))), true) => vec![Line::styled(e.clone(), Style::new().fg(theme::ERROR))],
        (Some((_, Ok(e))), true) => cell_lines(app, e, inner),
    };
    Paragraph::new(lines).render(inner, buf);
}

/// How a term's source is named: the character quoted, a unit with its
/// catalogue label.
fn source_name(app: &App, s: &Source) -> String {
    match s {
        Source::Char(c) => quoted_char(*c),
        Source::Unit(u) => app.view.name(*u),
    }
}

/// A gate's rows: its largest terms by |value| (the bias among them), and
/// "others" for what the rows leave out, so that they add up to z. `n`
/// rows at most.
pub fn term_rows(app: &App, g: &GateTerms, n: usize) -> Vec<(String, f64)> {
    let mut rows: Vec<(String, f64)> = vec![("bias".into(), g.bias)];
    rows.extend(g.input.iter().chain(&g.recurrent).map(|t| (source_name(app, &t.from), t.term)));
    rows.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
    let rest = g.input_rest + g.recurrent_rest;
    if n <= 1 {
        rows.truncate(n);
    } else if rows.len() > n {
        let left_out: f64 = rows[n - 1..].iter().map(|r| r.1).sum();
        rows.truncate(n - 1);
        rows.push(("others".into(), left_out + rest));
    } else if rest != 0.0 {
        rows.push(("others".into(), rest));
    }
    rows
}

/// `v` as a bar on a two-sided axis of `half` cells a side, `largest`
/// filling one side, in half-cell steps.
fn bar(v: f64, largest: f64, half: usize) -> Vec<Span<'static>> {
    let halves =
        if largest > 0.0 && v.is_finite() { (v.abs() / largest * (2 * half) as f64).round() as usize } else { 0 };
    let (full, part) = (halves / 2, halves % 2 == 1);
    let colour = Style::new().fg(if v < 0.0 { theme::cell(-1.0) } else { theme::cell(1.0) });
    let axis = Span::styled("│", theme::dim());
    if v < 0.0 {
        let drawn = format!("{}{}", if part { "▐" } else { "" }, "█".repeat(full));
        let pad = " ".repeat(half.saturating_sub(full + usize::from(part)));
        vec![Span::raw(pad), Span::styled(drawn, colour), axis]
    } else {
        let drawn = format!("{}{}", "█".repeat(full), if part { "▌" } else { "" });
        vec![Span::raw(" ".repeat(half)), axis, Span::styled(drawn, colour)]
    }
}

/// `s` cut or padded to `w` columns.
fn fit(s: &str, w: usize) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if out.width() + c.width().unwrap_or(0) > w {
            break;
        }
        out.push(c);
    }
    let pad = w.saturating_sub(out.width());
    out + &" ".repeat(pad)
}

fn gate_colour(gate: Gate, v: f64) -> Color {
    if gate.is_tanh() {
        theme::signed(v as f32)
    } else {
        theme::unit(v as f32)
    }
}

fn cell_lines(app: &App, e: &Explanation, area: Rect) -> Vec<Line<'static>> {
    let w = area.width as usize;
    let per_gate = (area.height as usize).saturating_sub(CELL_ROWS) / 4;
    let n = per_gate.min(2 * PANEL_TOP + 2);
    let name_w = (w / 3).clamp(8, 28);
    let value_w = 8;
    let half = w.saturating_sub(WIRE.width() + name_w + value_w + 1) / 2;
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let dim = theme::dim();
    let num = |v: f64| format!("{v:+.3}");
    let mut lines: Vec<Line<'static>> = Vec::new();
    let gate = |lines: &mut Vec<Line<'static>>, node: &'static str, which: Gate, role: &'static str| {
        let g = e.gates.get(which);
        let f = if which.is_tanh() { "tanh" } else { "σ" };
        lines.push(Line::from(vec![
            Span::styled(node, bold),
            Span::styled(format!("{} ", which.letter()), bold),
            Span::styled(format!("{:.3}", g.value), Style::new().fg(Color::Black).bg(gate_colour(which, g.value))),
            Span::styled(format!(" = {f}({}) {role}", num(g.z)), dim),
        ]));
        let rows = term_rows(app, g, n);
        let largest = rows.iter().map(|r| r.1.abs()).filter(|v| v.is_finite()).fold(0.0, f64::max);
        for (label, v) in rows {
            let mut spans =
                vec![Span::styled(WIRE, dim), Span::raw(fit(&label, name_w)), Span::raw(format!("{:>7} ", num(v)))];
            spans.extend(bar(v, largest, half));
            lines.push(Line::from(spans));
        }
    };
    let c = &e.cell;
    lines.push(Line::from(vec![
        Span::styled("c′ ", bold),
        Span::raw(num(c.c_prev)),
        Span::styled("  the cell before (t−1)", dim),
    ]));
    gate(&mut lines, "(×)─ ", Gate::F, "forget");
    lines.push(Line::from(vec![Span::styled(" ▼ ", dim), Span::raw(num(c.kept)), Span::styled(" kept = f·c′", dim)]));
    gate(&mut lines, "(+)─ ", Gate::I, "input");
    gate(&mut lines, " │ ×─", Gate::G, "candidate");
    lines.push(Line::from(vec![
        Span::styled(" ▼ c ", bold),
        Span::styled(num(c.c), Style::new().fg(Color::Black).bg(theme::cell(c.c.tanh() as f32))),
        Span::styled(format!(" = kept + i·g ({})", num(c.written)), dim),
    ]));
    lines.push(Line::from(vec![Span::styled("tanh ", bold), Span::styled("─► ", dim), Span::raw(num(c.c.tanh()))]));
    gate(&mut lines, "(×)─ ", Gate::O, "output");
    lines.push(Line::from(vec![Span::styled(" ▼ h ", bold), Span::raw(num(c.h)), Span::styled(" = o·tanh(c)", dim)]));
    lines
}
