//! The span search in the playground: `a` and `e` in inspect mode mark a
//! span of the history, the search (a job, `jobs`) selects the units of the
//! shown layer that are on throughout it and off just before, pins them and
//! highlights where else they are on together; `j`/`J` jump between the
//! matches.

use super::jobs::{JobKind, SearchDone};
use crate::model::Unit;
use crate::tui::app::App;
use std::ops::Range;

/// The span search's marks and matches, as step indices of the ring.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SpanSearch {
    /// The marked start, before its end is marked.
    pub start: Option<usize>,
    /// The span searched last.
    pub span: Option<Range<usize>>,
    /// The matches as step ranges, and the one the cursor jumped to.
    pub matches: Vec<Range<usize>>,
    pub current: Option<usize>,
    /// What the last search found.
    pub last: Option<SearchDone>,
    /// The units the last search pinned (a new search replaces them).
    pub pins: Vec<Unit>,
}

impl SpanSearch {
    /// Forget the marks and matches (they index the old history).
    pub fn clear(&mut self) {
        self.start = None;
        self.span = None;
        self.matches.clear();
        self.current = None;
    }

    /// Steps dropped from the front of the ring: the step indices move down.
    pub fn shift_steps(&mut self, by: usize) {
        if by == 0 {
            return;
        }
        self.start = self.start.and_then(|s| s.checked_sub(by));
        self.span =
            self.span.take().map(|r| r.start.saturating_sub(by)..r.end.saturating_sub(by)).filter(|r| !r.is_empty());
        for m in &mut self.matches {
            *m = m.start.saturating_sub(by)..m.end.saturating_sub(by);
        }
        self.matches.retain(|m| !m.is_empty());
        self.current = self.current.filter(|&i| i < self.matches.len());
    }
}

impl App {
    pub(super) fn mark_start(&mut self) {
        if let Some(f) = self.focus() {
            self.analyses.search.clear();
            self.analyses.search.start = Some(f);
            self.info(format!("span starts at t={}; move the cursor, then e marks the end and searches", f));
        }
    }

    pub(super) fn mark_end(&mut self) {
        let (Some(start), Some(end)) = (self.analyses.search.start, self.focus()) else {
            self.error("mark the span's start first: a at the first character, then e at the last");
            return;
        };
        let span = start.min(end)..start.max(end) + 1;
        if span.len() >= self.run.steps.len() {
            self.error("the span covers the whole history: there is nothing left to match");
            return;
        }
        self.analyses.search.start = None;
        self.analyses.search.span = Some(span.clone());
        self.info(format!("searching l{} for t={}..{} …", self.view.layer, span.start, span.end));
        self.start_job(JobKind::Search { layer: self.view.layer, span });
    }

    pub(super) fn search_done(&mut self, s: SearchDone) {
        for u in std::mem::take(&mut self.analyses.search.pins) {
            self.view.pins.retain(|&p| p != u);
        }
        let units: Vec<Unit> = s.result.selected.iter().map(|&i| Unit::new(s.layer, i)).collect();
        for &u in &units {
            if self.view.pin(u) {
                self.analyses.search.pins.push(u);
            }
        }
        let mut ranges: Vec<_> = s.result.matches.iter().map(|m| m.start..m.end).collect();
        ranges.sort_by_key(|r| r.start);
        let search = &mut self.analyses.search;
        search.span = s.span.clone();
        search.matches = ranges;
        search.current = None;
        if units.is_empty() {
            self.info(format!(
                "no unit of l{} is on (tanh c ≥ 0.3) throughout the span and off just before it; try another span",
                s.layer
            ));
        } else {
            let names: Vec<String> = units.iter().take(6).map(|u| u.to_string()).collect();
            let more = if units.len() > 6 { format!(" +{}", units.len() - 6) } else { String::new() };
            let gone = if s.span.is_none() { " (the history changed: matches not shown)" } else { "" };
            self.info(format!(
                "{} unit{} pinned: {}{more}; {} match{} highlighted (j jumps){gone}",
                units.len(),
                if units.len() == 1 { "" } else { "s" },
                names.join(" "),
                s.result.matches.len(),
                if s.result.matches.len() == 1 { "" } else { "es" }
            ));
        }
        self.analyses.search.last = Some(s);
    }

    pub(super) fn next_match(&mut self, dir: i8) {
        let n = self.analyses.search.matches.len();
        if n == 0 {
            self.info("no matches: mark a span with a and e first");
            return;
        }
        let at = self.focus().unwrap_or(0);
        let m = &self.analyses.search.matches;
        let i = if dir > 0 {
            m.iter().position(|r| r.start > at).unwrap_or(0)
        } else {
            m.iter().rposition(|r| r.start < at).unwrap_or(n - 1)
        };
        let r = m[i].clone();
        self.analyses.search.current = Some(i);
        self.view.cursor = r.start;
        let rank = self.analyses.search.last.as_ref().and_then(|s| {
            s.result.matches.iter().position(|x| x.start == r.start).map(|k| (k + 1, s.result.matches[k].shared))
        });
        let rank = rank
            .map(|(k, sh)| format!(" (rank {k}, {sh} unit{} shared)", if sh == 1 { "" } else { "s" }))
            .unwrap_or_default();
        self.info(format!("match {}/{n}: t={}..{}{rank}", i + 1, r.start, r.end));
    }
}
