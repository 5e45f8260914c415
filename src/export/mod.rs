//! Sharing what the model did: a trace (or the playground's steps) as a
//! self-contained HTML page of text coloured by one cell or by surprise
//! (`html`), or as an SVG heatmap of one gate (`svg`); and the page of a
//! cell's memory writes that `explain --html` writes (`writes`), and the page
//! of a prompt coloured by attribution that `attribute --html` writes
//! (`attribution`).
//!
//! The renderers are pure functions of the steps; `write_html` and
//! `write_svg` add the file work: read the trace, check every option
//! against it, write atomically, never over the trace itself.

pub mod attribution;
pub mod html;
pub mod scale;
pub mod svg;
pub mod writes;

pub use html::{page, Colouring, PageMeta};
pub use svg::{heatmap, HeatmapMeta};
pub use writes::{writes_page, WritesMeta};

use crate::analysis::State;
use crate::atomic::{check_destination, same_file, write_atomic};
use crate::model::{refuse_checkpoint, Gate, Unit};
use crate::trace::{read_trace, Trace};
use anyhow::{bail, Result};
use std::path::{Path, PathBuf};
use unicode_width::UnicodeWidthChar;

/// Text made safe inside an element or a quoted attribute: it can never
/// become markup, whatever the model or the prompt produced.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The visible stand-in for a control or formatting character, if it is one:
/// a terminal or a browser would drop, reorder or reinterpret these. The
/// playground shows the same pictures.
pub fn control_picture(c: char) -> Option<char> {
    let u = c as u32;
    Some(match c {
        '\t' => '⇥',
        '\n' => '⏎',
        '\r' => '␍',
        '\u{1b}' => '␛',
        '\u{7f}' => '␡',
        _ if u < 0x20 => char::from_u32(0x2400 + u).unwrap_or('�'),
        _ if (0x80..0xa0).contains(&u) => '�',
        // Bidi embeddings, overrides and isolates, BOM, line/paragraph separators.
        '\u{200e}'
        | '\u{200f}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}'
        | '\u{feff}'
        | '\u{2028}'
        | '\u{2029}' => '�',
        _ => return None,
    })
}

/// A consumed character as shown in running text (unescaped): controls as
/// pictures (a newline as ⏎, before the line breaks), a zero-width mark on a
/// dotted circle so it cannot merge into its neighbour's box, spaces as spaces.
pub fn shown(c: char) -> String {
    if let Some(p) = control_picture(c) {
        return p.to_string();
    }
    match c.width() {
        Some(0) => format!("\u{25cc}{c}"),
        _ => c.to_string(),
    }
}

/// A character as shown in a label (guesses, hover text, axis): as `shown`,
/// with a space made visible as ␠.
pub fn label(c: char) -> String {
    if c == ' ' {
        "␠".into()
    } else {
        shown(c)
    }
}

/// Which units of a layer a heatmap shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnitPick {
    All,
    List(Vec<usize>),
    MostVariable(usize),
}

/// `gatescope export TRACE --unit lK:U --html OUT`, already parsed.
#[derive(Debug, Clone)]
pub struct HtmlJob {
    pub trace: PathBuf,
    pub out: PathBuf,
    pub unit: Unit,
    pub state: State,
    pub top: bool,
    /// Names the checkpoint in the legend; the trace's file name when absent.
    pub label: Option<String>,
}

/// `gatescope export TRACE --layer lK --gate G --svg OUT`, already parsed.
#[derive(Debug, Clone)]
pub struct SvgJob {
    pub trace: PathBuf,
    pub out: PathBuf,
    pub layer: usize,
    pub gate: Gate,
    pub units: UnitPick,
    pub label: Option<String>,
}

/// Write the HTML page; returns the number of steps drawn.
pub fn write_html(job: &HtmlJob) -> Result<usize> {
    let trace = open(&job.trace, ("--html", &job.out))?;
    check_unit(&trace, job.unit)?;
    trace.require_states(&format!("--unit with --state {}", job.state.letter()))?;
    let meta = PageMeta { checkpoint: legend_label(&job.label, &trace), top: job.top };
    let html = page(&trace.steps, Colouring::Cell { unit: job.unit, state: job.state }, &meta);
    write_atomic(&job.out, html.as_bytes())?;
    Ok(trace.steps.len())
}

/// Write the SVG heatmap; returns (steps, units) drawn.
pub fn write_svg(job: &SvgJob) -> Result<(usize, usize)> {
    let trace = open(&job.trace, ("--svg", &job.out))?;
    let shown = trace.path.display();
    if job.layer >= trace.layers {
        bail!("{shown}: --layer l{}: the trace has {} layers (l0..l{})", job.layer, trace.layers, trace.layers - 1);
    }
    let units = match &job.units {
        UnitPick::All => (0..trace.hidden).collect(),
        UnitPick::List(list) => {
            for &u in list {
                if u >= trace.hidden {
                    bail!(
                        "{shown}: --units: unit {u} is out of range: layer l{} has {} units (0..{})",
                        job.layer,
                        trace.hidden,
                        trace.hidden - 1
                    );
                }
            }
            list.clone()
        }
        UnitPick::MostVariable(n) => {
            if *n > trace.hidden {
                bail!("{shown}: --most-variable {n}: layer l{} has only {} units", job.layer, trace.hidden);
            }
            svg::most_variable(&trace.steps, job.layer, job.gate, *n)
        }
    };
    let meta = HeatmapMeta { checkpoint: legend_label(&job.label, &trace) };
    let svg = heatmap(&trace.steps, job.layer, job.gate, &units, &meta);
    write_atomic(&job.out, svg.as_bytes())?;
    Ok((trace.steps.len(), units.len()))
}

/// Check the destination (before the possibly long read), refuse to write
/// over the trace or a checkpoint, then read the trace.
fn open(trace: &Path, (flag, out): (&str, &Path)) -> Result<Trace> {
    if !trace.exists() {
        // Named before the destination, so a mistyped trace is the error shown.
        bail!("{}: cannot read the trace (no such file)", trace.display());
    }
    check_destination(out)?;
    refuse_checkpoint(flag, out)?;
    if same_file(trace, out) {
        bail!("{}: is the trace itself; choose another output file", out.display());
    }
    read_trace(trace)
}

fn check_unit(trace: &Trace, unit: Unit) -> Result<()> {
    let shown = trace.path.display();
    if unit.layer >= trace.layers {
        bail!("{shown}: --unit {unit}: the trace has {} layers (l0..l{})", trace.layers, trace.layers - 1);
    }
    if unit.index >= trace.hidden {
        bail!("{shown}: --unit {unit}: layer l{} has {} units (0..{})", unit.layer, trace.hidden, trace.hidden - 1);
    }
    Ok(())
}

/// The legend's name of the model, followed by what the run ran with, as
/// the playground's save names it.
fn legend_label(label: &Option<String>, trace: &Trace) -> String {
    let mut name = match label {
        Some(l) => l.clone(),
        None => trace.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
    };
    if !trace.interventions.is_empty() {
        name.push_str(&format!(" with interventions {}", trace.interventions.join(" ")));
    }
    name
}

/// A unit of `--units`: a number in `--layer`, or a full name `lK:U`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitRef {
    Index(usize),
    Named(Unit),
}

/// `--units` as unit numbers of `layer`: each named one in that layer, and
/// none twice (the range is checked against the trace).
pub fn units_in_layer(list: &[UnitRef], layer: usize) -> Result<Vec<usize>> {
    let mut units = Vec::with_capacity(list.len());
    for r in list {
        let u = match *r {
            UnitRef::Named(unit) if unit.layer != layer => bail!("--units: {unit} is not in --layer l{layer}"),
            UnitRef::Named(unit) => unit.index,
            UnitRef::Index(i) => i,
        };
        if units.contains(&u) {
            bail!("--units: unit {u} is listed twice");
        }
        units.push(u);
    }
    Ok(units)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_every_markup_character() {
        assert_eq!(
            escape("<a href=\"x\" title='y'>&amp;</a>"),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;"
        );
    }

    #[test]
    fn controls_become_pictures() {
        assert_eq!(shown('\n'), "⏎");
        assert_eq!(shown('\u{0}'), "␀");
        assert_eq!(shown('\u{1b}'), "␛");
        assert_eq!(shown('\u{202e}'), "�");
        assert_eq!(shown('\u{301}'), "\u{25cc}\u{301}");
        assert_eq!((shown(' '), label(' ')), (" ".to_string(), "␠".to_string()));
    }

    #[test]
    fn units_are_in_the_layer_and_listed_once() {
        let named = |l, i| UnitRef::Named(Unit::new(l, i));
        let list = [UnitRef::Index(3), named(1, 17), UnitRef::Index(200)];
        assert_eq!(units_in_layer(&list, 1).unwrap(), vec![3, 17, 200]);
        assert!(units_in_layer(&[UnitRef::Index(3), named(1, 3)], 1).unwrap_err().to_string().contains("twice"));
        assert!(units_in_layer(&[named(0, 3)], 1).unwrap_err().to_string().contains("not in --layer l1"));
    }
}
