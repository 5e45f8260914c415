//! Beam search from where a `Generator` stands: the W likeliest
//! continuations kept at every step, the W states stepped as one batch
//! through the fused LSTM.
//!
//! The definition (the guide's "Beam search"): start from the state after
//! the prompt with one beam of score 0; at each step extend every beam b by
//! every character v with score_b + ln softmax(logits_b)[v] at temperature 1;
//! keep the W best, ties to the lower beam index, then the lower character
//! index, in that order; after the last step the first beam is the output.

use super::Generator;
use crate::model::CharLstm;
use anyhow::{anyhow, bail, Result};
use tch::{Kind, Tensor};

/// The widest beam `--beam` takes.
pub const MAX_WIDTH: usize = 64;

/// A beam search under way: `step` takes one step of it, so a caller can
/// stop between steps (the playground's worker takes a new command there).
pub struct BeamSearch {
    width: usize,
    length: usize,
    vocab: usize,
    /// Per beam: its score and the log-probabilities of its next character.
    scores: Vec<f64>,
    log_p: Vec<f64>,
    h: Tensor,
    c: Tensor,
    /// Every step's kept beams as (parent beam, character), one flat list
    /// (8 bytes a beam a step), to walk back from the first; `ends[t]` is
    /// where step t's beams end in it.
    kept: Vec<(u32, u32)>,
    ends: Vec<usize>,
}

impl BeamSearch {
    /// A search of `width` beams for `length` steps from where `generator`
    /// stands (after its prompt).
    pub fn new(generator: &Generator, width: usize, length: usize) -> Result<Self> {
        if !(1..=MAX_WIDTH).contains(&width) {
            bail!("the beam's width must be from 1 to {MAX_WIDTH} (got {width})");
        }
        if !generator.interventions.is_empty() {
            bail!("a beam search takes no interventions: the beams are read through the fused LSTM");
        }
        let Some(first) = &generator.logits else { bail!("nothing to continue from: the prompt is empty") };
        let vocab = generator.model.dims.vocab;
        let _guard = tch::no_grad_guard();
        let (h, c) = generator.state.stacked();
        Ok(Self {
            width,
            length,
            vocab,
            scores: vec![0.0f64],
            log_p: log_softmax_rows(&Tensor::from_slice(first).view([1, vocab as i64])),
            h,
            c,
            kept: Vec::new(),
            ends: Vec::new(),
        })
    }

    /// Steps taken, of `length`.
    pub fn progress(&self) -> (usize, usize) {
        (self.ends.len(), self.length)
    }

    pub fn done(&self) -> bool {
        self.ends.len() >= self.length
    }

    /// Take the next step with `model` (the generator's).
    pub fn step(&mut self, model: &CharLstm) -> Result<()> {
        if self.done() {
            return Ok(());
        }
        let _guard = tch::no_grad_guard();
        let v = self.vocab;
        let mut cand: Vec<(f64, usize, usize)> = Vec::with_capacity(self.scores.len() * v);
        for (b, &s) in self.scores.iter().enumerate() {
            for (ch, &lp) in self.log_p[b * v..(b + 1) * v].iter().enumerate() {
                // A NaN score (a model with NaN weights) ranks below every number.
                let total = s + lp;
                cand.push((if total.is_nan() { f64::NEG_INFINITY } else { total }, b, ch));
            }
        }
        // A stable sort: equal scores keep the (beam, character) order they were pushed in.
        cand.sort_by(|x, y| y.0.total_cmp(&x.0));
        cand.truncate(self.width);
        self.kept
            .try_reserve(cand.len())
            .map_err(|_| anyhow!("not enough memory for a beam search of {} steps", self.length))?;
        self.kept.extend(cand.iter().map(|&(_, b, ch)| (b as u32, ch as u32)));
        self.ends.push(self.kept.len());
        self.scores = cand.iter().map(|x| x.0).collect();
        if self.done() {
            return Ok(());
        }
        let parents = Tensor::from_slice(&cand.iter().map(|x| x.1 as i64).collect::<Vec<_>>());
        let ids = Tensor::from_slice(&cand.iter().map(|x| x.2 as i64).collect::<Vec<_>>()).view([-1, 1]);
        let (h0, c0) = (self.h.index_select(1, &parents), self.c.index_select(1, &parents));
        let (logits, (h1, c1)) = model.forward(&ids, Some((&h0, &c0)), 0.0, false);
        self.log_p = log_softmax_rows(&logits.view([-1, v as i64]));
        (self.h, self.c) = (h1, c1);
        Ok(())
    }

    /// The character ids of the first beam, over the steps taken.
    pub fn best(&self) -> Vec<usize> {
        let mut out = vec![0usize; self.ends.len()];
        let mut b = 0usize;
        for t in (0..self.ends.len()).rev() {
            let start = if t == 0 { 0 } else { self.ends[t - 1] };
            let (parent, ch) = self.kept[start + b];
            out[t] = ch as usize;
            b = parent as usize;
        }
        out
    }
}

impl Generator {
    /// The character ids of the first beam after `length` steps of a beam
    /// search of `width` from the current state (the generator is not moved:
    /// read them on with `force_step` to get their steps). `check(step)` is
    /// called before every step, so a caller can stop the search there.
    pub fn beam_search(
        &self,
        width: usize,
        length: usize,
        check: &mut dyn FnMut(usize) -> Result<()>,
    ) -> Result<Vec<usize>> {
        let mut search = BeamSearch::new(self, width, length)?;
        while !search.done() {
            check(search.progress().0)?;
            search.step(&self.model)?;
        }
        Ok(search.best())
    }
}

/// ln softmax over each row of `logits: [rows, vocab]` (f32), computed in
/// f64, flattened row by row.
fn log_softmax_rows(logits: &Tensor) -> Vec<f64> {
    let lp = logits.to_kind(Kind::Double).log_softmax(-1, Kind::Double).contiguous().view([-1]);
    let n = lp.numel();
    let mut out = vec![0f64; n];
    lp.copy_data(&mut out, n);
    out
}
