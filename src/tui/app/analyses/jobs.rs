//! The analyses over the history as jobs: each copies the values it reads
//! when it starts (the c, h and f of 2,000 steps of a 2×512 model are 25 MB), so
//! typing, which starts a new preview and clears the ring, does not end it;
//! `advance` then feeds them, `SLICE` steps per tick, to `crate::analysis`'s
//! accumulators.

use super::{Analyses, SAT_HIGH, SAT_LOW, SEARCH_PADS, SEARCH_THRESHOLD, SEARCH_TOP, TOP};
use crate::analysis::{
    search, Catalogue, CatalogueBuilder, FeatureTable, OnBits, Saturation, SaturationCounter, SearchResult, State,
};
use crate::generate::Step;
use std::collections::VecDeque;
use std::ops::Range;
use std::sync::Arc;

/// Steps an analysis takes per tick.
pub const SLICE: usize = 128;

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

impl Analyses {
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
}
