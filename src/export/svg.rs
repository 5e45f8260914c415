//! One gate of one layer as a self-contained SVG heatmap: one rect per
//! (step, unit), steps along x with their characters under them, unit names
//! along y, the playground's fixed colour scale and a legend.

use super::scale::{hex, signed, unit, NAN};
use super::{escape, label};
use crate::generate::{LayerStep, Step};
use crate::model::{Gate, Unit};
use std::fmt::Write;

/// What the title says beyond the gate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeatmapMeta {
    pub checkpoint: String,
}

/// Side of one cell, in px.
pub const CELL: usize = 12;
const TOP: usize = 92;
const PROMPT_COLOUR: &str = "#1f7a8c";

/// A gate's values in a layer step.
pub fn gate_values(l: &LayerStep, gate: Gate) -> &[f32] {
    match gate {
        Gate::I => &l.gates.i,
        Gate::F => &l.gates.f,
        Gate::G => &l.gates.g,
        Gate::O => &l.gates.o,
    }
}

/// The playground's colour for a gate value: 0..1 (viridis), g −1..1.
pub fn gate_colour(gate: Gate, v: f32) -> String {
    hex(if gate.is_tanh() { signed(v) } else { unit(v) })
}

/// The `n` units with the largest variance of `gate` over all steps, in unit
/// order (the playground's choice when units outnumber rows). A unit with a
/// non-finite value counts as most variable: it is worth seeing.
pub fn most_variable(steps: &[Step], layer: usize, gate: Gate, n: usize) -> Vec<usize> {
    let hidden = steps.first().and_then(|s| s.layers.get(layer)).map_or(0, |l| l.gates.i.len());
    let (mut sum, mut sq, mut bad) = (vec![0f64; hidden], vec![0f64; hidden], vec![false; hidden]);
    for s in steps {
        let Some(l) = s.layers.get(layer) else { continue };
        for (u, &v) in gate_values(l, gate).iter().enumerate().take(hidden) {
            if v.is_finite() {
                sum[u] += v as f64;
                sq[u] += (v as f64) * (v as f64);
            } else {
                bad[u] = true;
            }
        }
    }
    let m = steps.len().max(1) as f64;
    let var: Vec<f64> =
        (0..hidden).map(|u| if bad[u] { f64::INFINITY } else { sq[u] / m - (sum[u] / m).powi(2) }).collect();
    let mut idx: Vec<usize> = (0..hidden).collect();
    idx.sort_by(|&a, &b| var[b].total_cmp(&var[a]).then(a.cmp(&b)));
    idx.truncate(n);
    idx.sort_unstable();
    idx
}

fn value_text(v: f32) -> String {
    if v.is_nan() {
        "NaN".into()
    } else {
        format!("{v:.3}")
    }
}

/// The heatmap of `gate` in `layer` for `units` (rows, top to bottom) over
/// every step (columns). A value a step lacks is drawn as NaN.
pub fn heatmap(steps: &[Step], layer: usize, gate: Gate, units: &[usize], meta: &HeatmapMeta) -> String {
    let name_width = units.iter().map(|&u| Unit::new(layer, u).to_string().len()).max().unwrap_or(4);
    let left = 16 + name_width * 7;
    let (cols, rows) = (steps.len(), units.len());
    let width = (left + cols * CELL + 24).max(640);
    let height = TOP + rows * CELL + 48;
    let mut out = String::with_capacity(600 + cols * rows * 110);
    let title = format!(
        "{} · layer l{layer} · gate {} ({}) · {rows} units × {cols} steps",
        meta.checkpoint,
        gate.letter(),
        gate.name()
    );
    let _ = write!(
        out,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" \
         height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"'DejaVu Sans Mono',Menlo,Consolas,monospace\" \
         font-size=\"11\">\n<title>{}</title>\n<rect id=\"background\" width=\"{width}\" height=\"{height}\" fill=\"#ffffff\"/>\n\
         <text x=\"16\" y=\"22\" font-size=\"14\" font-weight=\"bold\">{}</text>\n",
        escape(&title),
        escape(&title)
    );
    legend(&mut out, gate);
    // The cells: x = step, y = unit.
    out.push_str("<g id=\"cells\" shape-rendering=\"crispEdges\">\n");
    for (x, step) in steps.iter().enumerate() {
        let vals = step.layers.get(layer).map(|l| gate_values(l, gate));
        for (y, &u) in units.iter().enumerate() {
            let v = vals.and_then(|v| v.get(u)).copied().unwrap_or(f32::NAN);
            let _ = writeln!(
                out,
                "<rect x=\"{}\" y=\"{}\" width=\"{CELL}\" height=\"{CELL}\" fill=\"{}\"><title>t={} {} · {} · {} = {}</title></rect>",
                left + x * CELL,
                TOP + y * CELL,
                gate_colour(gate, v),
                step.t,
                escape(&label(step.ch)),
                Unit::new(layer, u),
                gate.letter(),
                value_text(v)
            );
        }
    }
    out.push_str("</g>\n<g id=\"units\" text-anchor=\"end\">\n");
    for (y, &u) in units.iter().enumerate() {
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\">{}</text>",
            left - 6,
            TOP + y * CELL + CELL - 2,
            Unit::new(layer, u)
        );
    }
    // Characters along x, the prompt's in its own colour over a bar; a step
    // number every 10 steps below them.
    let base = TOP + rows * CELL;
    out.push_str("</g>\n<g id=\"chars\" text-anchor=\"middle\">\n");
    for (x, step) in steps.iter().enumerate() {
        let cx = left + x * CELL + CELL / 2;
        if step.is_prompt {
            let _ = writeln!(
                out,
                "<rect x=\"{}\" y=\"{}\" width=\"{CELL}\" height=\"2\" fill=\"{PROMPT_COLOUR}\"/>",
                left + x * CELL,
                base + 2
            );
        }
        let fill = if step.is_prompt { PROMPT_COLOUR } else { "#333333" };
        let _ =
            writeln!(out, "<text x=\"{cx}\" y=\"{}\" fill=\"{fill}\">{}</text>", base + 16, escape(&label(step.ch)));
        if x % 10 == 0 {
            let _ = writeln!(
                out,
                "<text x=\"{cx}\" y=\"{}\" fill=\"#888888\" font-size=\"9\">{}</text>",
                base + 32,
                step.t
            );
        }
    }
    out.push_str("</g>\n</svg>\n");
    out
}

fn legend(out: &mut String, gate: Gate) {
    let (lo, hi) = if gate.is_tanh() { (-1.0f32, 1.0f32) } else { (0.0, 1.0) };
    let (x0, y0, w) = (16, 38, 18);
    out.push_str("<g id=\"legend\">\n");
    for i in 0..=10 {
        let v = lo + (hi - lo) * i as f32 / 10.0;
        let _ = writeln!(
            out,
            "<rect x=\"{}\" y=\"{y0}\" width=\"{w}\" height=\"12\" fill=\"{}\"><title>{v:.1}</title></rect>",
            x0 + i * w,
            gate_colour(gate, v)
        );
    }
    let right = x0 + 11 * w;
    let _ = write!(
        out,
        "<text x=\"{x0}\" y=\"{}\">{lo}</text>\n<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n\
         <text x=\"{right}\" y=\"{}\" text-anchor=\"end\">{hi}</text>\n\
         <rect x=\"{}\" y=\"{y0}\" width=\"{w}\" height=\"12\" fill=\"{}\"/>\n<text x=\"{}\" y=\"{}\">NaN</text>\n\
         <rect x=\"{}\" y=\"{}\" width=\"{w}\" height=\"2\" fill=\"{PROMPT_COLOUR}\"/>\n\
         <text x=\"{}\" y=\"{}\" fill=\"{PROMPT_COLOUR}\">prompt</text>\n\
         <text x=\"{x0}\" y=\"{}\" fill=\"#666666\">fixed scale {lo}..{hi} ({}); x: step and character; y: unit; hover a cell for its value</text>\n</g>\n",
        y0 + 24,
        x0 + 11 * w / 2,
        y0 + 24,
        (lo + hi) / 2.0,
        y0 + 24,
        right + 16,
        hex(NAN),
        right + 16 + w + 4,
        y0 + 10,
        right + 64,
        y0 + 5,
        right + 64 + w + 4,
        y0 + 10,
        y0 + 42,
        if gate.is_tanh() { "tanh" } else { "sigmoid" },
    );
}
