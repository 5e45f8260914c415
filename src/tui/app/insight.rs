//! The analyses of issue 9 over the session's history (the steps in the
//! ring, prompt and generated): the cell catalogue, gate saturation and the
//! span search.
//!
//! They run on the UI side, over the plain `Step`s the ring already holds,
//! as jobs the app advances `SLICE` steps per `tick`: every step carries
//! each layer's gates and states, so the model is not needed, the worker
//! stays free to generate, and nothing crosses a thread. A keystroke waits
//! at most one slice (a few milliseconds on the shipped model). A job copies
//! the values it reads when it starts (the c, h and f of 2,000 steps of a
//! 2×512 model are 25 MB), so typing, which starts a new preview and clears the
//! ring, does not end it. The
//! accumulators are `crate::analysis`'s own, fed the same rows as
//! `gatescope cells`, so the numbers are the same computation.

use super::Mode;
use crate::analysis::features::FEATURES;
use crate::analysis::{
    search, Catalogue, CatalogueBuilder, Correlation, FeatureTable, OnBits, Pads, Saturation, SaturationCounter,
    SavedCatalogue, SearchResult, State,
};
use crate::generate::Step;
use crate::model::Unit;
use std::collections::VecDeque;
use std::ops::Range;
use std::sync::Arc;

/// Steps an analysis takes per tick.
pub const SLICE: usize = 128;
/// Units per feature in the cells panel (the CLI's default `--top`).
pub const TOP: usize = 3;
/// The span search's settings in the playground (the CLI's defaults).
pub const SEARCH_THRESHOLD: f64 = 0.3;
pub const SEARCH_PADS: Pads = Pads { left: 1, right: 0 };
pub const SEARCH_TOP: usize = 50;
/// Saturation bounds (the CLI's defaults).
pub const SAT_LOW: f64 = 0.1;
pub const SAT_HIGH: f64 = 0.9;
/// How many catalogued cells are pinned at start.
pub const NAMED_PINS: usize = 3;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobKind {
    Catalogue,
    Saturation,
    /// Select the units of `span` (step indices) in `layer` and find matches.
    Search {
        layer: usize,
        span: Range<usize>,
    },
}

enum Acc {
    Catalogue(Box<(FeatureTable, CatalogueBuilder)>),
    Saturation(SaturationCounter),
    Search(OnBits),
}

/// An analysis under way over the steps the ring held when it was asked for.
pub struct Job {
    pub kind: JobKind,
    history: u64,
    /// The ring's dropped count when the job started (its step 0).
    dropped: usize,
    hidden: usize,
    /// The values read, `stride` per step: per layer c, h and f (catalogue),
    /// i, f and o (saturation), or one layer's c (search).
    values: Vec<f32>,
    stride: usize,
    next: usize,
    steps: usize,
    acc: Acc,
}

impl Job {
    /// Steps done and steps in all.
    pub fn progress(&self) -> (usize, usize) {
        (self.next, self.steps)
    }
}

/// A finished analysis and the history it was measured on.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured<T> {
    pub value: T,
    pub history: u64,
    pub steps: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SearchDone {
    pub layer: usize,
    /// The span in the ring's steps; None when the history has changed since.
    pub span: Option<Range<usize>>,
    pub result: SearchResult,
}

/// What a finished job yields, for the app to take in.
pub enum Finished {
    Catalogue(Measured<Catalogue>),
    Saturation(Measured<Saturation>),
    Search(SearchDone),
}

/// The saturation view's cursor: a gate (0 i, 1 f, 2 o), a point in the
/// (right, left) plane in twentieths, and which of the nearest points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SatCursor {
    pub gate: usize,
    pub x: u8,
    pub y: u8,
    pub nth: usize,
}

pub const SAT_GRID: u8 = 20;

#[derive(Default)]
pub struct Insight {
    pub jobs: Vec<Job>,
    pub catalogue: Option<Measured<Catalogue>>,
    pub saturation: Option<Measured<Saturation>>,
    pub search: Option<SearchDone>,
    /// The units the last search pinned (a new search replaces them).
    pub search_pins: Vec<Unit>,
    /// The cells panel's selected row.
    pub row: usize,
    pub sat: SatCursor,
    /// Where the keys go back to when the panel gives them up.
    pub back_to: Option<Mode>,
    /// The catalogue over a file the user named: the cells panel shows it
    /// instead of the history's until Alt-r.
    pub file: Option<super::cells_file::FileCells>,
    /// The file analysis the worker is running.
    pub file_job: Option<super::cells_file::FileJob>,
    /// Where the keys were when the file box opened.
    pub file_box_from: Option<Mode>,
    /// What the file box held last (its next prefill).
    pub last_file: String,
    pub file_ids: u64,
}

impl Insight {
    /// Start `kind` over `steps` (the ring, of history `history`, with
    /// `dropped` steps gone before it), replacing a job of the same kind.
    pub fn start(&mut self, kind: JobKind, steps: &VecDeque<Arc<Step>>, history: u64, dropped: usize, hidden: usize) {
        let same = |j: &Job| std::mem::discriminant(&j.kind) == std::mem::discriminant(&kind);
        self.jobs.retain(|j| !same(j));
        let layers = steps.front().map_or(0, |s| s.layers.len());
        let (acc, stride) = match &kind {
            JobKind::Catalogue => {
                let chars: Vec<char> = steps.iter().map(|s| s.ch).collect();
                let b = Box::new((FeatureTable::new(&chars), CatalogueBuilder::new(layers, hidden)));
                (Acc::Catalogue(b), layers * 3 * hidden)
            }
            JobKind::Saturation => {
                (Acc::Saturation(SaturationCounter::new(layers, hidden, SAT_LOW, SAT_HIGH)), layers * 3 * hidden)
            }
            JobKind::Search { .. } => (Acc::Search(OnBits::new(hidden, State::C, SEARCH_THRESHOLD)), hidden),
        };
        let mut values = Vec::with_capacity(stride * steps.len());
        for s in steps {
            match &kind {
                JobKind::Catalogue => {
                    s.layers.iter().for_each(|l| values.extend(l.gates.c.iter().chain(&l.gates.h).chain(&l.gates.f)))
                }
                JobKind::Saturation => {
                    s.layers.iter().for_each(|l| values.extend(l.gates.i.iter().chain(&l.gates.f).chain(&l.gates.o)))
                }
                JobKind::Search { layer, .. } => values.extend(&s.layers[*layer].gates.c),
            }
        }
        debug_assert_eq!(values.len(), stride * steps.len());
        self.jobs.push(Job { kind, history, dropped, hidden, values, stride, next: 0, steps: steps.len(), acc });
    }

    /// The catalogue the cells panel shows: the file's, else the history's.
    pub fn shown(&self) -> Option<&Catalogue> {
        self.file.as_ref().map(|f| &f.value).or(self.catalogue.as_ref().map(|m| &m.value))
    }

    /// Whether a file's catalogue is shown or under way.
    pub fn has_file(&self) -> bool {
        self.file.is_some() || self.file_job.is_some()
    }

    pub fn busy(&self) -> bool {
        !self.jobs.is_empty()
    }

    /// The catalogue's job (or, with `false`, the saturation's) under way.
    pub fn running(&self, catalogue: bool) -> Option<&Job> {
        let wanted = |k: &JobKind| if catalogue { *k == JobKind::Catalogue } else { *k == JobKind::Saturation };
        self.jobs.iter().find(|j| wanted(&j.kind))
    }

    /// Take up to `SLICE` steps of the first job; returns what finished. A
    /// search's matches index the ring as it is now (`dropped`), or are
    /// dropped when the history has changed since.
    pub fn advance(&mut self, history: u64, dropped: usize) -> Option<Finished> {
        let job = self.jobs.first_mut()?;
        let stop = (job.next + SLICE).min(job.steps);
        let h = job.hidden;
        for t in job.next..stop {
            let row = &job.values[t * job.stride..(t + 1) * job.stride];
            match &mut job.acc {
                Acc::Catalogue(b) => {
                    let (features, builder) = &mut **b;
                    builder.push(features.row(t), row.chunks(3 * h).map(|l| (&l[..h], &l[h..2 * h], &l[2 * h..])));
                }
                Acc::Saturation(c) => c.push(row.chunks(3 * h).map(|l| [&l[..h], &l[h..2 * h], &l[2 * h..]])),
                Acc::Search(bits) => bits.push(row),
            }
        }
        job.next = stop;
        if stop < job.steps {
            return None;
        }
        let job = self.jobs.remove(0);
        let n = job.steps;
        Some(match (job.acc, job.kind) {
            (Acc::Catalogue(b), _) => {
                Finished::Catalogue(Measured { value: b.1.finish(TOP), history: job.history, steps: n })
            }
            (Acc::Saturation(c), _) => {
                Finished::Saturation(Measured { value: c.finish(), history: job.history, steps: n })
            }
            (Acc::Search(bits), JobKind::Search { layer, span }) => {
                let mut result = search(&bits, span.clone(), SEARCH_PADS, SEARCH_TOP);
                let same = job.history == history && job.dropped <= dropped;
                // Step indices follow the ring's front; matches it has dropped go.
                let at = |t: usize| (t + job.dropped).checked_sub(dropped);
                result.matches.retain_mut(|m| match (same, at(m.start), at(m.end)) {
                    (true, Some(a), Some(b)) => {
                        (m.start, m.end) = (a, b);
                        true
                    }
                    _ => false,
                });
                let span = match (same, at(span.start), at(span.end)) {
                    (true, Some(a), Some(b)) => Some(a..b),
                    _ => None,
                };
                Finished::Search(SearchDone { layer, span, result })
            }
            (Acc::Search(_), _) => unreachable!("a search job holds bits"),
        })
    }

    /// The saturation view's points for the cursor's gate, nearest the
    /// cursor first (ties: lower layer, lower unit), as (unit, right, left).
    pub fn nearest(&self) -> Vec<(Unit, f64, f64)> {
        let Some(sat) = &self.saturation else { return Vec::new() };
        let (cx, cy) = (f64::from(self.sat.x) / f64::from(SAT_GRID), f64::from(self.sat.y) / f64::from(SAT_GRID));
        let mut pts: Vec<(Unit, f64, f64)> = Vec::new();
        for (k, gates) in sat.value.layers.iter().enumerate() {
            let g = &gates[self.sat.gate.min(gates.len() - 1)];
            for (u, (&r, &l)) in g.right.iter().zip(&g.left).enumerate() {
                pts.push((Unit::new(k, u), r, l));
            }
        }
        let d = |p: &(Unit, f64, f64)| (p.1 - cx).powi(2) + (p.2 - cy).powi(2);
        pts.sort_by(|a, b| d(a).total_cmp(&d(b)).then(a.0.cmp(&b.0)));
        pts
    }

    /// The saturation point the cursor selects.
    pub fn selected_point(&self) -> Option<(Unit, f64, f64)> {
        let pts = self.nearest();
        (!pts.is_empty()).then(|| pts[self.sat.nth % pts.len()])
    }
}

/// The cells panel's rows: each feature's units in order, or one empty row
/// for a feature that lists none.
pub fn cell_rows(cat: &Catalogue) -> Vec<(usize, Option<Correlation>)> {
    let mut rows = Vec::new();
    for (j, f) in cat.features.iter().enumerate() {
        if f.units.is_empty() {
            rows.push((j, None));
        }
        rows.extend(f.units.iter().map(|c| (j, Some(*c))));
    }
    rows
}

/// r as the labels show it: two decimals without the leading zero (`.89`, `−.42`).
pub fn short_r(r: f64) -> String {
    let s = format!("{:.2}", r.abs());
    let s = s.strip_prefix('0').unwrap_or(&s).to_string();
    if r < 0.0 {
        format!("−{s}")
    } else {
        s
    }
}

/// A unit's label from a feature: `line position r .89`.
pub fn label(feature: &str, r: f64) -> String {
    format!("{} r {}", feature.replace('_', " "), short_r(r))
}

/// The named cells of a checkpoint's catalogue, for a model of `layers` ×
/// `hidden` (units it does not have are skipped): every feature's best unit
/// with its label, and how many of them, from the front, to pin at start.
/// The catalogue's `pin` features come first, in their order, and are the
/// ones pinned; without them, the three strongest are. The rest follow
/// strongest first. A unit keeps the label of the feature that placed it.
pub fn named_cells(cat: &SavedCatalogue, layers: usize, hidden: usize) -> (Vec<(Unit, String)>, usize) {
    let mut best: Vec<(&str, Correlation, usize)> = cat
        .features
        .iter()
        .enumerate()
        .filter_map(|(j, f)| f.units.first().map(|c| (f.name.as_str(), *c, j)))
        .filter(|(_, c, _)| c.unit.layer < layers && c.unit.index < hidden && c.r.is_finite())
        .collect();
    let pinned_rank = |name: &str| cat.pin.iter().position(|p| p == name).unwrap_or(usize::MAX);
    best.sort_by(|a, b| {
        (pinned_rank(a.0).cmp(&pinned_rank(b.0))).then(b.1.r.abs().total_cmp(&a.1.r.abs())).then(a.2.cmp(&b.2))
    });
    let mut out: Vec<(Unit, String)> = Vec::new();
    let mut pins = 0;
    for (name, c, _) in best {
        if !out.iter().any(|(u, _)| *u == c.unit) {
            out.push((c.unit, label(name, c.r)));
            if pinned_rank(name) != usize::MAX {
                pins = out.len();
            }
        }
    }
    debug_assert!(out.len() <= FEATURES);
    let pins = if cat.pin.is_empty() { NAMED_PINS.min(out.len()) } else { pins };
    (out, pins)
}
