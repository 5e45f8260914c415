//! `gatescope explain`'s text: the tutorial's equations with the model's
//! numbers. Each gate's pre-activation with its terms as signed bars,
//! largest first; the cell's line; the steps whose memory writes count
//! most; the half-life. Pure string building.

use super::explain::{Explanation, GateTerms, Source};
use super::report::escape_text;
use crate::model::Gate;
use crate::vocab::quoted_char;
use std::fmt::Write;

/// Half-cells on each side of a bar's axis.
const BAR: usize = 40;

/// `v` as a bar on a two-sided axis, `largest` filling one side: negative
/// values grow left of │, positive ones right, in half-cell steps.
fn bar(v: f64, largest: f64) -> String {
    let halves = if largest > 0.0 && v.is_finite() { (v.abs() / largest * BAR as f64).round() as usize } else { 0 };
    let (full, half) = (halves / 2, halves % 2 == 1);
    let side = BAR / 2;
    if v < 0.0 {
        let drawn = format!("{}{}", if half { "▐" } else { "" }, "█".repeat(full));
        format!("{}{drawn}│{}", " ".repeat(side - full - usize::from(half)), " ".repeat(side))
    } else {
        format!("{}│{}{}", " ".repeat(side), "█".repeat(full), if half { "▌" } else { "" })
    }
}

fn name(s: &Source) -> String {
    match s {
        Source::Char(c) => quoted_char(*c),
        Source::Unit(u) => u.to_string(),
    }
}

/// One gate: its value, then its terms as bars, the largest first.
fn gate_text(out: &mut String, gate: Gate, g: &GateTerms, layer: usize) {
    let f = if gate.is_tanh() { "tanh" } else { "σ" };
    let _ = writeln!(out, "{} = {f}(z) = {:.4}    ({} gate; z = {:+.4})", gate.letter(), g.value, gate.name(), g.z);
    let mut rows: Vec<(String, f64)> = vec![("bias".into(), g.bias)];
    rows.extend(g.input.iter().map(|t| (name(&t.from), t.term)));
    if layer > 0 {
        rows.push((format!("other l{} units", layer - 1), g.input_rest));
    }
    rows.extend(g.recurrent.iter().map(|t| (format!("{} (h′)", name(&t.from)), t.term)));
    rows.push((format!("other l{layer} units (h′)"), g.recurrent_rest));
    rows.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
    let largest = rows.iter().map(|r| r.1.abs()).filter(|v| v.is_finite()).fold(0.0, f64::max);
    for (label, v) in rows {
        let _ = writeln!(out, "  {label:>22} {v:>+9.4}  {}", bar(v, largest).trim_end());
    }
}

/// The text for `e`, over the text `chars` the model read (x_0..).
pub fn explanation_text(e: &Explanation, chars: &[char], top: usize) -> String {
    let mut out = String::new();
    let (t, k) = (e.step, e.unit.layer);
    let from = t.saturating_sub(30);
    let _ = writeln!(
        out,
        "{} at step {t}, after reading {}: {}{}⟦{}⟧",
        e.unit,
        quoted_char(e.ch),
        if from > 0 { "…" } else { "" },
        escape_text(&chars[from..t]),
        escape_text(&chars[t..=t])
    );
    let input = if k == 0 { format!("the character x_{t}") } else { format!("h_{t} of layer l{}", k - 1) };
    let _ = writeln!(
        out,
        "The layer's input is {input}; h′ and c′ are layer l{k}'s state after step {}. Each gate is its bias plus \
         one term per input, largest first (the top {top} units of each input; the others summed):",
        if t == 0 { "-1 (zero)".to_string() } else { (t - 1).to_string() }
    );
    for gate in Gate::ALL {
        let _ = writeln!(out);
        gate_text(&mut out, gate, e.gates.get(gate), k);
    }
    let (c, gs) = (&e.cell, &e.gates);
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "cell  c = f·c′ + i·g = {:.4} × {:+.4} + {:.4} × {:+.4}",
        gs.f.value, c.c_prev, gs.i.value, gs.g.value
    );
    let _ = writeln!(out, "        = {:+.4} kept + {:+.4} written = {:+.4}", c.kept, c.written, c.c);
    let _ = writeln!(out, "      h = o·tanh(c) = {:.4} × tanh({:+.4}) = {:+.4}", gs.o.value, c.c, c.h);
    let w = &e.memory.writes;
    let c_t: f64 = w.iter().sum();
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "memory: the writes w_s = i_s·g_s·∏ f_r (r = s+1..{t}) add up to c_{t} = {c_t:+.4}; the {} largest:",
        top.min(w.len())
    );
    let mut order: Vec<usize> = (0..w.len()).collect();
    order.sort_by(|&a, &b| w[b].abs().total_cmp(&w[a].abs()).then(a.cmp(&b)));
    let largest = order.first().map_or(0.0, |&s| w[s].abs());
    let _ = writeln!(out, "  {:>6}  {:>6}  {:>9}  {:>8}", "step", "char", "w_s", "share");
    for &s in order.iter().take(top) {
        let share = if c_t != 0.0 { format!("{:.1}%", 100.0 * w[s] / c_t) } else { "–".into() };
        let _ = writeln!(
            out,
            "  {s:>6}  {:>6}  {:>+9.4}  {share:>8}  {}",
            quoted_char(chars[s]),
            w[s],
            bar(w[s], largest).trim_end()
        );
    }
    let _ = writeln!(out);
    match e.memory.half_life {
        Some(m) => {
            let _ = writeln!(
                out,
                "half-life: {m} step{}: of what the cell held {m} steps ago (after step {}), less than half is left",
                if m == 1 { "" } else { "s" },
                t - m
            );
        }
        None => {
            let _ = writeln!(
                out,
                "half-life: none: the cell still holds at least half of what it held after every earlier step"
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_grow_from_the_axis() {
        assert_eq!(bar(1.0, 1.0).trim_end(), format!("{}│{}", " ".repeat(20), "█".repeat(20)));
        assert_eq!(bar(-1.0, 1.0), format!("{}│{}", "█".repeat(20), " ".repeat(20)));
        assert_eq!(bar(0.075, 1.0).trim_end(), format!("{}│█▌", " ".repeat(20)));
        assert_eq!(bar(-0.075, 1.0), format!("{}▐█│{}", " ".repeat(18), " ".repeat(20)));
        assert_eq!(bar(f64::NAN, 1.0).trim_end(), format!("{}│", " ".repeat(20)));
    }
}
