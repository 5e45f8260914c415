//! LSTMVis's select and match (Strobelt et al.), on one layer and one state.
//!
//! A unit is *on* at t when v_t ≥ threshold, with v_t = tanh(c_t) for the
//! cell state or h_t for the output. The selection S1 for a span [S, E) is
//! every unit on throughout the span and off at every existing step of the
//! pads before and after it. Matches are the maximal runs (length ≥ 2, not
//! overlapping the span) where at least ⌈|S1|/2⌉ of S1 are on, ranked by how
//! many units their own selection S2 shares with S1, then by the smallest
//! union, the longer run, the earlier start.
//!
//! The on/off bits are all the search keeps: one bit per step and unit
//! (20,000 steps of 512 units is 1.3 MB), built a step at a time.

use super::catalogue::State;
use std::ops::Range;

/// One bit per unit per step: bit u of row t is set when unit u is on at t.
#[derive(Debug, Clone)]
pub struct OnBits {
    hidden: usize,
    words: usize,
    state: State,
    threshold: f64,
    rows: Vec<u64>,
}

impl OnBits {
    pub fn new(hidden: usize, state: State, threshold: f64) -> Self {
        Self { hidden, words: hidden.div_ceil(64), state, threshold, rows: Vec::new() }
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// Steps recorded so far.
    pub fn len(&self) -> usize {
        self.rows.len().checked_div(self.words).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Record step t from the layer's c_t (state c) or h_t (state h). The
    /// comparison is in f64, tanh included, as the reference computes it.
    pub fn push(&mut self, values: &[f32]) {
        assert_eq!(values.len(), self.hidden, "one value per unit");
        let start = self.rows.len();
        self.rows.resize(start + self.words, 0);
        for (u, &x) in values.iter().enumerate() {
            let v = match self.state {
                State::C => f64::from(x).tanh(),
                State::H => f64::from(x),
            };
            if v >= self.threshold {
                self.rows[start + u / 64] |= 1 << (u % 64);
            }
        }
    }

    fn row(&self, t: usize) -> &[u64] {
        &self.rows[t * self.words..(t + 1) * self.words]
    }

    pub fn is_on(&self, t: usize, unit: usize) -> bool {
        self.row(t)[unit / 64] >> (unit % 64) & 1 == 1
    }

    /// The units on at every step of `span` and off at every step of the
    /// pads that lies inside the text.
    pub fn pattern(&self, span: Range<usize>, pads: Pads) -> Vec<u64> {
        let n = self.len();
        let mut set = vec![u64::MAX; self.words];
        if !self.hidden.is_multiple_of(64) {
            set[self.words - 1] = (1 << (self.hidden % 64)) - 1;
        }
        for t in span.clone() {
            and_with(&mut set, self.row(t), false);
        }
        let before = span.start.saturating_sub(pads.left)..span.start;
        let after = span.end..span.end.saturating_add(pads.right).min(n);
        for t in before.chain(after) {
            and_with(&mut set, self.row(t), true);
        }
        set
    }
}

fn and_with(set: &mut [u64], row: &[u64], negate: bool) {
    for (s, &r) in set.iter_mut().zip(row) {
        *s &= if negate { !r } else { r };
    }
}

fn count(set: &[u64]) -> usize {
    set.iter().map(|w| w.count_ones() as usize).sum()
}

fn units(set: &[u64]) -> Vec<usize> {
    let mut out = Vec::new();
    for (w, &word) in set.iter().enumerate() {
        let mut bits = word;
        while bits != 0 {
            out.push(w * 64 + bits.trailing_zeros() as usize);
            bits &= bits - 1;
        }
    }
    out
}

/// Steps before and after a span where a selected unit must be off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pads {
    pub left: usize,
    pub right: usize,
}

/// A run where enough of the selection fires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    pub start: usize,
    pub end: usize,
    /// |S1 ∩ S2|.
    pub shared: usize,
    /// |S1 ∪ S2|.
    pub union: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchResult {
    /// S1's unit indices, ascending.
    pub selected: Vec<usize>,
    /// The best `top` matches, best first.
    pub matches: Vec<Match>,
}

/// Select the units of `span` and find the runs that match them. The span
/// must be non-empty and inside the recorded steps (callers check it and
/// say so; here it is a bug).
pub fn search(bits: &OnBits, span: Range<usize>, pads: Pads, top: usize) -> SearchResult {
    assert!(span.start < span.end && span.end <= bits.len(), "span {span:?} outside 0..{}", bits.len());
    let s1 = bits.pattern(span.clone(), pads);
    let selected = units(&s1);
    if selected.is_empty() {
        return SearchResult { selected, matches: Vec::new() };
    }
    let k = selected.len().div_ceil(2);
    let n = bits.len();
    let on_count = |t: usize| bits.row(t).iter().zip(&s1).map(|(r, s)| (r & s).count_ones() as usize).sum::<usize>();
    let mut matches = Vec::new();
    let mut t = 0;
    while t < n {
        if on_count(t) < k {
            t += 1;
            continue;
        }
        let a = t;
        while t < n && on_count(t) >= k {
            t += 1;
        }
        let b = t;
        // The run that holds the span itself (or any run touching it) is no match.
        if b - a >= 2 && (b <= span.start || a >= span.end) {
            let s2 = bits.pattern(a..b, pads);
            let shared = s1.iter().zip(&s2).map(|(x, y)| (x & y).count_ones() as usize).sum();
            let union = s1.iter().zip(&s2).map(|(x, y)| (x | y).count_ones() as usize).sum();
            matches.push(Match { start: a, end: b, shared, union });
        }
    }
    matches.sort_by(|x, y| {
        y.shared
            .cmp(&x.shared)
            .then(x.union.cmp(&y.union))
            .then((y.end - y.start).cmp(&(x.end - x.start)))
            .then(x.start.cmp(&y.start))
    });
    matches.truncate(top);
    debug_assert_eq!(count(&s1), selected.len());
    SearchResult { selected, matches }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bits from a picture: one string per unit, '1' on, '0' off, per step.
    fn bits(units: &[&str]) -> OnBits {
        let n = units[0].len();
        let mut b = OnBits::new(units.len(), State::H, 0.5);
        for t in 0..n {
            let v: Vec<f32> = units.iter().map(|u| if u.as_bytes()[t] == b'1' { 1.0 } else { 0.0 }).collect();
            b.push(&v);
        }
        b
    }

    const PADS: Pads = Pads { left: 1, right: 0 };

    #[test]
    fn selection_needs_on_in_the_span_and_off_in_the_existing_pads() {
        //                 0123456789
        let b = bits(&["0110001100", "1110001110", "0111000110", "0010000000"]);
        // Span 1..3: units 0 and 2 are on throughout and off at 0; unit 1 is
        // on at 0 (the pad) and unit 3 off at 1: both out.
        assert_eq!(search(&b, 1..3, PADS, 50).selected, [0, 2]);
        // With no left pad unit 1 qualifies too; a right pad of 1 needs step 3
        // off, which drops unit 2.
        assert_eq!(search(&b, 1..3, Pads { left: 0, right: 0 }, 50).selected, [0, 1, 2]);
        assert_eq!(search(&b, 1..3, Pads { left: 0, right: 1 }, 50).selected, [0, 1]);
        assert_eq!(search(&b, 2..3, Pads { left: 0, right: 1 }, 50).selected, [0, 1, 3]);
        // Pads past the text's ends only look at the steps that exist.
        assert_eq!(search(&b, 0..2, Pads { left: 5, right: 0 }, 50).selected, [1]);
        assert_eq!(search(&b, 8..10, Pads { left: 0, right: 9 }, 50).selected, Vec::<usize>::new());
        assert_eq!(search(&b, 7..9, Pads { left: 0, right: 9 }, 50).selected, [1, 2]);
    }

    #[test]
    fn matches_are_the_runs_away_from_the_span_ranked_by_the_rules() {
        //                 0         1
        //                 0123456789012345678
        let b = bits(&[
            "0110001100011100110", // unit 0
            "0110001000011100111", // unit 1
            "0000000110001100000", // unit 2
        ]);
        // S1 for 1..3 = {0, 1}; k = 1; runs of n_t >= 1: 1..3 (the span), 6..8,
        // 11..14, 16..19.
        let r = search(&b, 1..3, PADS, 50);
        assert_eq!(r.selected, [0, 1]);
        let got: Vec<(usize, usize, usize, usize)> =
            r.matches.iter().map(|m| (m.start, m.end, m.shared, m.union)).collect();
        // 11..14: S2 = {0, 1} (unit 2 is off at 11): shared 2, union 2.
        // 16..19: unit 0 is off at 18, unit 1 qualifies: S2 = {1}: shared 1, union 2.
        // 6..8: unit 0 on at 6, 7; unit 1 off at 7; unit 2 off at 6: S2 = {0}: 1, 2.
        // 16..19 and 6..8 tie on shared and union; the longer run wins.
        assert_eq!(got, [(11, 14, 2, 2), (16, 19, 1, 2), (6, 8, 1, 2)]);
        assert_eq!(search(&b, 1..3, PADS, 1).matches.len(), 1);
    }

    #[test]
    fn single_steps_are_no_match_and_equal_runs_go_by_start() {
        let b = bits(&["01001011011"]);
        let r = search(&b, 1..2, PADS, 50);
        assert_eq!(r.selected, [0]);
        // Runs: 1..2 (the span), 4..5 (too short), 6..8, 9..11, equal in every rank.
        let got: Vec<usize> = r.matches.iter().map(|m| m.start).collect();
        assert_eq!(got, [6, 9]);
    }

    #[test]
    fn an_empty_selection_has_no_matches() {
        let b = bits(&["0000", "1111"]);
        let r = search(&b, 1..3, PADS, 50);
        assert!(r.selected.is_empty() && r.matches.is_empty());
    }

    #[test]
    fn c_is_compared_after_tanh_and_units_past_64_work() {
        let mut b = OnBits::new(70, State::C, 0.3);
        let mut v = vec![0.0f32; 70];
        v[69] = 0.31; // tanh(0.31) = 0.3004 ≥ 0.3
        v[3] = 0.30; // tanh(0.30) = 0.2913 < 0.3
        b.push(&v);
        assert!(b.is_on(0, 69) && !b.is_on(0, 3));
        b.push(&[0.0; 70]);
        assert_eq!(search(&b, 0..1, Pads { left: 1, right: 1 }, 5).selected, [69]);
    }
}
