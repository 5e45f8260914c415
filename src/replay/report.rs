//! A replay as people read it: per feature a table of the snapshots and two
//! sparklines (|best r| and |final_r| over the steps). Pure string building.

use super::{Replay, Timeline};
use crate::analysis::report::thousands;
use std::fmt::Write;

/// Eight heights for |r| in 0..1 (a fixed scale, so two features compare);
/// `·` marks a snapshot with no value.
const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// One character per value: |v| on the fixed 0..1 scale.
pub fn sparkline(values: impl IntoIterator<Item = Option<f64>>) -> String {
    values
        .into_iter()
        .map(|v| match v {
            Some(v) if v.is_finite() => BARS[((v.abs().min(1.0) * 8.0) as usize).min(7)],
            _ => '·',
        })
        .collect()
}

fn signed(r: Option<f64>) -> String {
    r.map_or("–".into(), |r| format!("{r:+.3}"))
}

/// What the replay ran on, for the heading.
pub struct Source<'a> {
    pub dir: &'a str,
    pub data: &'a str,
    pub chars: usize,
}

pub fn text(replay: &Replay, src: &Source) -> String {
    let mut out = String::new();
    let steps: Vec<usize> =
        replay.features.first().map(|f| f.snapshots.iter().map(|p| p.step).collect()).unwrap_or_default();
    let _ = writeln!(
        out,
        "replay of {} snapshots in {} (steps {} to {}) over the first {} characters of {}",
        steps.len(),
        src.dir,
        steps.first().copied().unwrap_or(0),
        steps.last().copied().unwrap_or(0),
        thousands(src.chars),
        src.data
    );
    let _ = writeln!(
        out,
        "nats/char: eval's stateful loss; best: the unit state with the largest |r| (as `cells`); \
         final r: this snapshot's r of the last snapshot's best"
    );
    for tl in &replay.features {
        let _ = writeln!(out);
        feature(&mut out, tl);
    }
    out
}

fn feature(out: &mut String, tl: &Timeline) {
    let fin = tl
        .final_unit
        .map_or("none: the feature is constant over this text".into(), |f| format!("{} {}", f.unit, f.state.letter()));
    let _ = writeln!(out, "{}  (final best: {fin})", tl.name);
    let step_w = tl.snapshots.iter().map(|p| p.step.to_string().len()).max().unwrap_or(4).max(4);
    let _ = writeln!(out, "  {:>step_w$}  {:>9}  {:<10}  {:>6}  {:>7}", "step", "nats/char", "best", "r", "final r");
    for p in &tl.snapshots {
        let best = p.best.map_or("–".into(), |c| format!("{} {}", c.unit, c.state.letter()));
        let loss = if p.nats_per_char.is_finite() { format!("{:.4}", p.nats_per_char) } else { "NaN".into() };
        let _ = writeln!(
            out,
            "  {:>step_w$}  {loss:>9}  {best:<10}  {:>6}  {:>7}",
            p.step,
            signed(p.best.map(|c| c.r)),
            signed(p.final_r)
        );
    }
    let _ = writeln!(out, "  |best r|   {}", sparkline(tl.snapshots.iter().map(|p| p.best.map(|c| c.r))));
    let _ = writeln!(out, "  |final r|  {}", sparkline(tl.snapshots.iter().map(|p| p.final_r)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparklines_use_a_fixed_scale_and_mark_gaps() {
        assert_eq!(sparkline([Some(0.0), Some(0.5), Some(-1.0), None, Some(f64::NAN), Some(0.99)]), "▁▅█··█");
    }
}
