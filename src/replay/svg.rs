//! A replay as a self-contained SVG, in the conventions of the exported
//! heatmap (`export::svg`): a white background, a bold title, named groups,
//! a legend, and a `<title>` on every point for its numbers on hover.
//!
//! One panel per feature: |best r| and |final r| against the step on a log
//! scale (step 1 to the last), |r| on the left axis (0..1, fixed, so panels
//! compare), and the loss in nats/char on a second axis on the right
//! (the same curve in every panel).

use super::{Point, Replay, Timeline};
use crate::export::escape;
use std::fmt::Write;

const WIDTH: usize = 780;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 76.0;
const TOP: f64 = 96.0;
const PANEL: f64 = 150.0;
/// Room between panels for the step labels and the next panel's title.
const GAP: f64 = 58.0;
const BEST: &str = "#1f77b4";
const FINAL: &str = "#d62728";
const LOSS: &str = "#7f7f7f";

/// The x of a step: log10 between the first and the last step.
struct Axes {
    lx0: f64,
    lx1: f64,
    loss: Option<(f64, f64)>,
}

impl Axes {
    fn x(&self, step: usize) -> f64 {
        let w = WIDTH as f64 - LEFT - RIGHT;
        if self.lx1 <= self.lx0 {
            return LEFT + w / 2.0;
        }
        LEFT + ((step.max(1) as f64).log10() - self.lx0) / (self.lx1 - self.lx0) * w
    }

    fn y_r(top: f64, r: f64) -> f64 {
        top + PANEL * (1.0 - r.abs().min(1.0))
    }

    fn y_loss(&self, top: f64, v: f64) -> Option<f64> {
        let (lo, hi) = self.loss?;
        v.is_finite().then(|| top + PANEL * (1.0 - (v - lo) / (hi - lo)))
    }
}

/// The SVG of `replay`; `title` names the run (its folder) and the text.
pub fn plot(replay: &Replay, title: &str) -> String {
    let points: &[Point] = replay.features.first().map_or(&[], |f| &f.snapshots);
    let steps: Vec<usize> = points.iter().map(|p| p.step).collect();
    let (first, last) = (steps.first().copied().unwrap_or(1), steps.last().copied().unwrap_or(1));
    let losses: Vec<f64> = points.iter().map(|p| p.nats_per_char).filter(|v| v.is_finite()).collect();
    let loss = (!losses.is_empty()).then(|| {
        let lo = losses.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = losses.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        // Equal bounds would divide by zero: widen them a little.
        if hi - lo < 1e-9 {
            (lo - 0.5, hi + 0.5)
        } else {
            let pad = (hi - lo) * 0.05;
            (lo - pad, hi + pad)
        }
    });
    let axes = Axes { lx0: (first.max(1) as f64).log10(), lx1: (last.max(1) as f64).log10(), loss };
    let height = (TOP + replay.features.len() as f64 * (PANEL + GAP) + 10.0) as usize;
    let mut out = String::with_capacity(4000 + replay.features.len() * points.len() * 400);
    // The title's size shrinks from 14 px to fit the width: a monospace
    // character is about 0.6 em wide.
    let title_px = ((WIDTH as f64 - 32.0) / (0.6 * title.chars().count().max(1) as f64)).min(14.0);
    let _ = write!(
        out,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" \
         height=\"{height}\" viewBox=\"0 0 {WIDTH} {height}\" font-family=\"'DejaVu Sans Mono',Menlo,Consolas,monospace\" \
         font-size=\"11\">\n<title>{}</title>\n<rect id=\"background\" width=\"{WIDTH}\" height=\"{height}\" fill=\"#ffffff\"/>\n\
         <text x=\"16\" y=\"22\" font-size=\"{title_px:.1}\" font-weight=\"bold\">{}</text>\n",
        escape(title),
        escape(title)
    );
    legend(&mut out);
    for (k, tl) in replay.features.iter().enumerate() {
        panel(&mut out, tl, &axes, TOP + k as f64 * (PANEL + GAP), &steps);
    }
    out.push_str("</svg>\n");
    out
}

fn legend(out: &mut String) {
    out.push_str("<g id=\"legend\">\n");
    let items = [
        (BEST, "", "|best r|: the unit state with the largest |r| at that step"),
        (FINAL, " stroke-dasharray=\"5 3\"", "|final r|: the last step's best unit state, followed back"),
        (LOSS, "", "loss in nats/char (right axis)"),
    ];
    for (k, (colour, dash, text)) in items.into_iter().enumerate() {
        let y = 40 + k * 14;
        let _ = writeln!(
            out,
            "<line x1=\"16\" y1=\"{}\" x2=\"40\" y2=\"{}\" stroke=\"{colour}\" stroke-width=\"2\"{dash}/>\
             <text x=\"46\" y=\"{y}\">{}</text>",
            y - 4,
            y - 4,
            escape(text)
        );
    }
    out.push_str("</g>\n");
}

fn panel(out: &mut String, tl: &Timeline, axes: &Axes, top: f64, steps: &[usize]) {
    let (x0, x1, bottom) = (LEFT, WIDTH as f64 - RIGHT, top + PANEL);
    let fin = tl.final_unit.map_or("no final unit: constant over this text".into(), |f| {
        format!("final best {} {}", f.unit, f.state.letter())
    });
    let _ = writeln!(
        out,
        "<g id=\"{}\">\n<text x=\"{x0}\" y=\"{}\" font-weight=\"bold\">{} · {}</text>",
        escape(&tl.name),
        top - 8.0,
        escape(&tl.name),
        escape(&fin)
    );
    let _ = writeln!(
        out,
        "<rect x=\"{x0}\" y=\"{top}\" width=\"{}\" height=\"{PANEL}\" fill=\"none\" stroke=\"#999999\"/>",
        x1 - x0
    );
    // |r| axis on the left, with a light line at 0.5.
    for r in [0.0, 0.5, 1.0] {
        let y = Axes::y_r(top, r);
        if r == 0.5 {
            let _ = writeln!(out, "<line x1=\"{x0}\" y1=\"{y:.1}\" x2=\"{x1}\" y2=\"{y:.1}\" stroke=\"#e6e6e6\"/>");
        }
        let _ = writeln!(out, "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{r}</text>", x0 - 6.0, y + 4.0);
    }
    let _ =
        writeln!(out, "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">|r|</text>", x0 - 6.0, top + PANEL / 4.0 + 4.0);
    // The loss axis on the right.
    if let Some((lo, hi)) = axes.loss {
        for v in [lo, (lo + hi) / 2.0, hi] {
            let y = axes.y_loss(top, v).unwrap_or(top);
            let _ = writeln!(out, "<text x=\"{}\" y=\"{:.1}\" fill=\"{LOSS}\">{v:.2}</text>", x1 + 6.0, y + 4.0);
        }
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{:.1}\" fill=\"{LOSS}\" text-anchor=\"end\">nats/char</text>",
            WIDTH as f64 - 6.0,
            bottom + 28.0
        );
    }
    step_ticks(out, axes, top, steps);
    let loss: Vec<Option<(usize, f64)>> =
        tl.snapshots.iter().map(|p| axes.y_loss(top, p.nats_per_char).map(|y| (p.step, y))).collect();
    series(out, axes, &loss, LOSS, "1.5", "");
    let best: Vec<Option<(usize, f64)>> =
        tl.snapshots.iter().map(|p| p.best.map(|c| (p.step, Axes::y_r(top, c.r)))).collect();
    series(out, axes, &best, BEST, "2", "");
    let fin: Vec<Option<(usize, f64)>> =
        tl.snapshots.iter().map(|p| p.final_r.map(|r| (p.step, Axes::y_r(top, r)))).collect();
    series(out, axes, &fin, FINAL, "2", " stroke-dasharray=\"5 3\"");
    // Every snapshot's numbers, on hover.
    out.push_str("<g fill-opacity=\"0.9\">\n");
    for p in &tl.snapshots {
        let best = p.best.map_or("none".into(), |c| format!("{} {} r={:+.3}", c.unit, c.state.letter(), c.r));
        let fr = p.final_r.map_or("none".into(), |r| format!("{r:+.3}"));
        let hover = escape(&format!("step {}: best {best}; final r {fr}; {:.4} nats/char", p.step, p.nats_per_char));
        if let Some(c) = p.best {
            let _ = writeln!(
                out,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.5\" fill=\"{BEST}\"><title>{hover}</title></circle>",
                axes.x(p.step),
                Axes::y_r(top, c.r)
            );
        }
        if let Some(r) = p.final_r {
            let _ = writeln!(
                out,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.5\" fill=\"{FINAL}\"><title>{hover}</title></circle>",
                axes.x(p.step),
                Axes::y_r(top, r)
            );
        }
    }
    out.push_str("</g>\n</g>\n");
}

/// Tick marks at the powers of ten inside the run, and at its first and
/// last step, labelled under the panel.
fn step_ticks(out: &mut String, axes: &Axes, top: f64, steps: &[usize]) {
    let bottom = top + PANEL;
    let (Some(&first), Some(&last)) = (steps.first(), steps.last()) else { return };
    let mut ticks = vec![first];
    let mut p = 1usize;
    while p <= last {
        if p > first && p < last {
            ticks.push(p);
        }
        p = p.saturating_mul(10);
        if p == usize::MAX {
            break;
        }
    }
    if last != first {
        ticks.push(last);
    }
    let mut labelled_to = f64::NEG_INFINITY;
    for (k, &s) in ticks.iter().enumerate() {
        let x = axes.x(s);
        let _ = writeln!(
            out,
            "<line x1=\"{x:.1}\" y1=\"{top}\" x2=\"{x:.1}\" y2=\"{bottom}\" stroke=\"#eeeeee\"/>\
             <line x1=\"{x:.1}\" y1=\"{bottom}\" x2=\"{x:.1}\" y2=\"{}\" stroke=\"#999999\"/>",
            bottom + 4.0
        );
        // Labels that would overlap the previous one are left out, the last step's kept.
        let text = s.to_string();
        let half = text.len() as f64 * 3.5;
        let is_last = k == ticks.len() - 1;
        if x - half > labelled_to + 6.0 || is_last {
            let _ = writeln!(out, "<text x=\"{x:.1}\" y=\"{}\" text-anchor=\"middle\">{text}</text>", bottom + 16.0);
            labelled_to = x + half;
        }
    }
    let _ = writeln!(out, "<text x=\"{LEFT}\" y=\"{}\" fill=\"#666666\">step (log scale)</text>", bottom + 28.0);
}

/// A line through the points that exist, broken where one is missing.
fn series(out: &mut String, axes: &Axes, points: &[Option<(usize, f64)>], colour: &str, width: &str, dash: &str) {
    for run in points.split(|p| p.is_none()).filter(|r| !r.is_empty()) {
        let coords: Vec<String> =
            run.iter().flatten().map(|&(step, y)| format!("{:.1},{y:.1}", axes.x(step))).collect();
        let _ = writeln!(
            out,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"{width}\"{dash}/>",
            coords.join(" ")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{Correlation, State};
    use crate::model::Unit;
    use crate::replay::UnitState;

    fn point(step: usize, r: Option<f64>, loss: f64) -> Point {
        let best = r.map(|r| Correlation { unit: Unit::new(0, 1), state: State::C, r, median_half_life: None });
        Point { step, nats_per_char: loss, best, final_r: r.map(|r| r / 2.0) }
    }

    #[test]
    fn steps_lie_on_a_log_axis_and_gaps_break_the_lines() {
        let tl = Timeline {
            name: "line_position".into(),
            final_unit: Some(UnitState { unit: Unit::new(0, 1), state: State::C }),
            snapshots: vec![point(1, Some(0.2), 4.0), point(10, None, 3.0), point(100, Some(0.9), 2.0)],
        };
        let svg = plot(&Replay { features: vec![tl] }, "m.snapshots <on> d.txt");
        assert!(svg.contains("m.snapshots &lt;on&gt; d.txt"), "titles are escaped");
        let axes = Axes { lx0: 0.0, lx1: 2.0, loss: None };
        // Step 10 is halfway between 1 and 100 on a log scale.
        assert!((axes.x(10) - (axes.x(1) + axes.x(100)) / 2.0).abs() < 1e-9);
        // |best r| breaks at step 10 (no best): two one-point runs; the loss is whole.
        let lines = |colour: &str| svg.lines().filter(|l| l.starts_with("<polyline") && l.contains(colour)).count();
        assert_eq!(lines(BEST), 2);
        assert_eq!(lines(LOSS), 1);
        assert!(svg.contains(">10</text>") && svg.contains(">100</text>"));
    }

    /// A long title (a long folder or data name) shrinks to fit the width
    /// instead of running off the figure; a short one keeps 14 px.
    #[test]
    fn a_long_title_shrinks_to_the_width() {
        let replay = Replay { features: vec![] };
        let size = |title: &str| -> f64 {
            let svg = plot(&replay, title);
            let at = svg.find("font-weight=\"bold\">").expect("the title");
            let head = &svg[..at];
            let size = head.rsplit("font-size=\"").next().unwrap();
            size[..size.find('"').unwrap()].parse().unwrap()
        };
        assert_eq!(size("m.snapshots"), 14.0);
        let long = "default-replay.snapshots · 71 snapshots · first 20000 characters of tinyshakespeare-validation.txt";
        let px = size(long);
        assert!(px < 14.0 && 0.6 * px * long.chars().count() as f64 <= (WIDTH - 32) as f64, "{px} px");
    }
}
