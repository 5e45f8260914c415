//! The analyses as people and programs read them: plain-text tables (and a
//! small scatter drawn in characters) and the JSON of `--json`. Pure string
//! building, so the CLI prints it and tests read it.

use super::catalogue::{Catalogue, State};
use super::saturation::{GateSaturation, Saturation};
use super::search::{Pads, SearchResult};
use serde::Serialize;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// `12345` as `12,345`.
pub fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (k, ch) in s.chars().enumerate() {
        if k > 0 && (s.len() - k).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Text shown on one line: `\n`, `\t`, `\r` and a backslash as escapes, other
/// control characters as `\u{..}`.
pub fn escape_text(chars: &[char]) -> String {
    let mut out = String::new();
    for &c in chars {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// "1 character", "20,000 characters".
fn characters(n: usize) -> String {
    if n == 1 {
        "1 character".into()
    } else {
        format!("{} characters", thousands(n))
    }
}

/// The catalogue as a table: one line per feature with its units, state and
/// r. `sources` are the files read and the characters read of each.
pub fn catalogue_text(cat: &Catalogue, sources: &[(String, usize)], top: usize) -> String {
    let mut out = String::new();
    let over = match sources {
        [(path, n)] => {
            format!("the first {} of {path}", if *n == 1 { "character".to_string() } else { characters(*n) })
        }
        _ => {
            // Files in one folder are named within it, so the header reads as a list.
            let folder = common_folder(sources.iter().map(|(path, _)| Path::new(path)));
            let within = |path: &str| match &folder {
                Some(f) => Path::new(path).strip_prefix(f).map_or(path.to_string(), |p| p.display().to_string()),
                None => path.to_string(),
            };
            format!(
                "{} of {} files{}, each from its start: {}",
                characters(cat.chars),
                sources.len(),
                folder.as_ref().map_or(String::new(), |f| format!(" in {}", f.display())),
                sources
                    .iter()
                    .map(|(path, n)| format!("{} ({})", within(path), thousands(*n)))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    };
    let _ = writeln!(
        out,
        "cells over {over}: per feature, the top {top} unit states by |r| (Pearson r of c_t or h_t with the feature)"
    );
    let _ = writeln!(out);
    let width = cat.features.iter().map(|f| f.name.len()).max().unwrap_or(0);
    let _ = writeln!(out, "{:width$}  units (unit state r)", "feature");
    for f in &cat.features {
        let units = if f.constant {
            "constant over this text: no units".to_string()
        } else if f.units.is_empty() {
            "no unit varies over this text".to_string()
        } else {
            let cells: Vec<String> =
                f.units.iter().map(|c| format!("{:<8} {} {:+.3}", c.unit.to_string(), c.state.letter(), c.r)).collect();
            cells.join("   ")
        };
        let _ = writeln!(out, "{:width$}  {units}", f.name);
    }
    out
}

/// The deepest folder that holds every path (None when they share none, or
/// only the root).
fn common_folder<'a>(paths: impl Iterator<Item = &'a Path>) -> Option<PathBuf> {
    let mut common: Option<PathBuf> = None;
    for path in paths {
        let parent = path.parent()?;
        common = Some(match common {
            None => parent.to_path_buf(),
            Some(c) => c.components().zip(parent.components()).take_while(|(a, b)| a == b).map(|(a, _)| a).collect(),
        });
    }
    common.filter(|c| c.file_name().is_some())
}

pub fn catalogue_json(cat: &Catalogue) -> String {
    serde_json::to_string(cat).expect("a catalogue serializes")
}

/// What a search ran on, for its heading.
pub struct SearchQuery<'a> {
    pub layer: usize,
    pub state: State,
    pub threshold: f64,
    pub span: std::ops::Range<usize>,
    pub pads: Pads,
    pub top: usize,
    pub chars: &'a [char],
}

/// How many characters of context each side of a quoted span.
const CONTEXT: usize = 24;

/// `…before⟦span⟧after…`, escaped onto one line.
pub fn in_context(chars: &[char], span: std::ops::Range<usize>) -> String {
    let from = span.start.saturating_sub(CONTEXT);
    let to = (span.end + CONTEXT).min(chars.len());
    format!(
        "{}{}⟦{}⟧{}{}",
        if from > 0 { "…" } else { "" },
        escape_text(&chars[from..span.start]),
        escape_text(&chars[span.clone()]),
        escape_text(&chars[span.end..to]),
        if to < chars.len() { "…" } else { "" }
    )
}

pub fn search_text(q: &SearchQuery, r: &SearchResult) -> String {
    let mut out = String::new();
    let v = match q.state {
        State::C => "tanh(c)",
        State::H => "h",
    };
    let _ = writeln!(
        out,
        "search on layer l{} over {}: a unit is on when {v} >= {}; pads {} before, {} after",
        q.layer,
        characters(q.chars.len()),
        q.threshold,
        q.pads.left,
        q.pads.right
    );
    let _ = writeln!(out, "span {}..{}: {}", q.span.start, q.span.end, in_context(q.chars, q.span.clone()));
    let _ = writeln!(out);
    if r.selected.is_empty() {
        let _ = writeln!(out, "selected 0 units: none is on throughout the span and off in its pads, so no matches");
        return out;
    }
    let names: Vec<String> = r.selected.iter().map(|u| format!("l{}:{u}", q.layer)).collect();
    let _ = writeln!(out, "selected {} units: {}", r.selected.len(), names.join(" "));
    let _ = writeln!(out);
    if r.matches.is_empty() {
        let _ = writeln!(out, "no matches: no other run of 2 or more steps has at least half of them on");
        return out;
    }
    let _ = writeln!(out, "{} matches (at most {}), best first:", r.matches.len(), q.top);
    let _ = writeln!(out, "{:>5}  {:>13}  {:>6}  {:>5}  text", "rank", "steps", "shared", "union");
    for (k, m) in r.matches.iter().enumerate() {
        let _ = writeln!(
            out,
            "{:>5}  {:>13}  {:>6}  {:>5}  {}",
            k + 1,
            format!("{}..{}", m.start, m.end),
            m.shared,
            m.union,
            in_context(q.chars, m.start..m.end)
        );
    }
    out
}

// The JSON shapes of `--json`, derived so keys keep this order.
#[derive(Serialize)]
struct SearchJson<'a> {
    selected: &'a [usize],
    matches: Vec<MatchJson>,
}

#[derive(Serialize)]
struct MatchJson {
    start: usize,
    end: usize,
    shared: usize,
    union: usize,
    text: String,
}

pub fn search_json(chars: &[char], r: &SearchResult) -> String {
    let matches = r
        .matches
        .iter()
        .map(|m| MatchJson {
            start: m.start,
            end: m.end,
            shared: m.shared,
            union: m.union,
            text: chars[m.start..m.end].iter().collect(),
        })
        .collect();
    serde_json::to_string(&SearchJson { selected: &r.selected, matches }).expect("serializes")
}

#[derive(Serialize)]
struct SaturationJson {
    chars: usize,
    layers: Vec<LayerJson>,
}

#[derive(Serialize)]
struct LayerJson {
    layer: String,
    gates: GatesJson,
}

#[derive(Serialize)]
struct GatesJson {
    i: SidesJson,
    f: SidesJson,
    o: SidesJson,
}

#[derive(Serialize)]
struct SidesJson {
    left: Vec<f64>,
    right: Vec<f64>,
}

pub fn saturation_json(s: &Saturation) -> String {
    let sides = |g: &GateSaturation| SidesJson { left: g.left.clone(), right: g.right.clone() };
    let layers = s
        .layers
        .iter()
        .enumerate()
        .map(|(k, gates)| {
            let [i, f, o] = &gates[..] else { unreachable!("saturation has the gates i, f, o") };
            LayerJson { layer: format!("l{k}"), gates: GatesJson { i: sides(i), f: sides(f), o: sides(o) } }
        })
        .collect();
    serde_json::to_string(&SaturationJson { chars: s.chars, layers }).expect("serializes")
}

/// Scatter size in characters: x is the right fraction, y the left.
const PLOT_W: usize = 21;
const PLOT_H: usize = 11;

/// One gate's scatter over every layer: each cell shows the layer of the units
/// that fall in it (`*` for several layers), `·` the line x + y = 1.
fn scatter(per_layer: &[&GateSaturation]) -> Vec<String> {
    let mut grid = vec![vec![' '; PLOT_W]; PLOT_H];
    for (y, row) in grid.iter_mut().enumerate() {
        // right + left = 1: x/(W-1) + y/(H-1) = 1.
        let x = (PLOT_W - 1) as f64 * (1.0 - y as f64 / (PLOT_H - 1) as f64);
        row[x.round() as usize] = '·';
    }
    let mut owner = vec![vec![None::<usize>; PLOT_W]; PLOT_H];
    for (k, g) in per_layer.iter().enumerate() {
        for (&l, &r) in g.left.iter().zip(&g.right) {
            let x = (r * (PLOT_W - 1) as f64).round() as usize;
            let y = (l * (PLOT_H - 1) as f64).round() as usize;
            let (x, y) = (x.min(PLOT_W - 1), y.min(PLOT_H - 1));
            owner[y][x] = match owner[y][x] {
                None => Some(k),
                Some(o) if o == k => Some(k),
                Some(_) => Some(usize::MAX),
            };
        }
    }
    for y in 0..PLOT_H {
        for x in 0..PLOT_W {
            match owner[y][x] {
                Some(usize::MAX) => grid[y][x] = '*',
                Some(k) => grid[y][x] = std::char::from_digit(k as u32 % 10, 10).unwrap_or('?'),
                None => {}
            }
        }
    }
    // Top row is left = 1.
    let mut lines: Vec<String> = (0..PLOT_H)
        .rev()
        .map(|y| {
            let label = match y {
                y if y == PLOT_H - 1 => "1 ",
                0 => "0 ",
                _ => "  ",
            };
            format!("{label}|{}", grid[y].iter().collect::<String>())
        })
        .collect();
    lines.push(format!("  +{}", "-".repeat(PLOT_W)));
    lines.push(format!("   0{:>w$}", "1", w = PLOT_W - 1));
    lines
}

pub fn saturation_text(s: &Saturation, low: f64, high: f64) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "gate saturation over {}: left = fraction of steps with gate < {low}, right = with gate > {high}",
        characters(s.chars)
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "layer  gate  units  right > half  left > half  mean right  mean left");
    for (k, gates) in s.layers.iter().enumerate() {
        for g in gates {
            let _ = writeln!(
                out,
                "{:<5}  {:<4}  {:>5}  {:>12}  {:>11}  {:>10.3}  {:>9.3}",
                format!("l{k}"),
                g.gate.letter(),
                g.left.len(),
                g.mostly_right(),
                g.mostly_left(),
                g.mean_right(),
                g.mean_left()
            );
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "one point per unit: x = right fraction, y = left fraction; the digit is its layer (* several), · is x + y = 1"
    );
    let plots: Vec<Vec<String>> = (0..s.layers.first().map_or(0, |g| g.len()))
        .map(|g| scatter(&s.layers.iter().map(|gates| &gates[g]).collect::<Vec<_>>()))
        .collect();
    let col = PLOT_W + 4;
    let titles: Vec<String> = (0..plots.len())
        .map(|g| format!("{:<col$}", format!("   {} ({})", s.layers[0][g].gate.letter(), s.layers[0][g].gate.name())))
        .collect();
    let _ = writeln!(out, "{}", titles.join("  ").trim_end());
    for row in 0..plots.first().map_or(0, |p| p.len()) {
        let line: Vec<String> = plots.iter().map(|p| format!("{:<col$}", p[row])).collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::saturation::SaturationCounter;

    #[test]
    fn escapes_and_context() {
        assert_eq!(thousands(20000), "20,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(escape_text(&"a\nb\t\\\u{1b}".chars().collect::<Vec<_>>()), "a\\nb\\t\\\\\\u{1b}");
        let text: Vec<char> = "0123456789".repeat(6).chars().collect();
        assert_eq!(in_context(&text, 0..2), "⟦01⟧234567890123456789012345…");
        assert_eq!(in_context(&text, 58..60), "…456789012345678901234567⟦89⟧");
    }

    #[test]
    fn files_in_one_folder_are_named_within_it() {
        let folder = |ps: &[&str]| common_folder(ps.iter().map(Path::new)).map(|p| p.display().to_string());
        assert_eq!(folder(&["/t/torch/nn/rnn.py", "/t/torch/optim/adam.py"]).as_deref(), Some("/t/torch"));
        assert_eq!(folder(&["d/a.txt", "d/b.txt"]).as_deref(), Some("d"));
        assert_eq!(folder(&["a.txt", "b.txt"]), None);
        assert_eq!(folder(&["d/a.txt", "e/b.txt"]), None);
        assert_eq!(folder(&["/d/a.txt", "/e/b.txt"]), None);
    }

    #[test]
    fn the_scatter_puts_units_where_their_fractions_are() {
        let mut c = SaturationCounter::new(2, 1, 0.1, 0.9);
        // Layer 0's units always right-saturated, layer 1's never saturated.
        for _ in 0..4 {
            c.push([[&[0.95f32][..], &[0.95][..], &[0.95][..]], [&[0.5f32][..], &[0.5][..], &[0.5][..]]]);
        }
        let text = saturation_text(&c.finish(), 0.1, 0.9);
        let bottom = text.lines().find(|l| l.starts_with("0 |")).expect("bottom row");
        // x = 0 holds layer 1 (right 0), x = 20 layer 0 (right 1), three times over.
        assert_eq!(bottom.matches("|1").count(), 3, "{text}");
        assert_eq!(bottom.matches("0 |1                   0").count(), 3, "{text}");
        assert!(text.contains("l0     i         1             1            0       1.000      0.000"), "{text}");
    }
}
