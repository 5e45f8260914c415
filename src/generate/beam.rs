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
use anyhow::{anyhow, bail, Result};
use tch::{Kind, Tensor};

/// The widest beam `--beam` takes.
pub const MAX_WIDTH: usize = 64;

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
        if !(1..=MAX_WIDTH).contains(&width) {
            bail!("the beam's width must be from 1 to {MAX_WIDTH} (got {width})");
        }
        if !self.interventions.is_empty() {
            bail!("a beam search takes no interventions: the beams are read through the fused LSTM");
        }
        let Some(first) = &self.logits else { bail!("nothing to continue from: the prompt is empty") };
        let _guard = tch::no_grad_guard();
        let model = &self.model;
        let v = model.dims.vocab;
        // Per beam: its score and the log-probabilities of its next character.
        let mut scores = vec![0.0f64];
        let mut log_p = log_softmax_rows(&Tensor::from_slice(first).view([1, v as i64]));
        let mut h = Tensor::stack(&self.state.h, 0).unsqueeze(1);
        let mut c = Tensor::stack(&self.state.c, 0).unsqueeze(1);
        // Every step's kept beams as (parent beam, character), one flat list
        // (8 bytes a beam a step), to walk back from the first; `ends[t]` is
        // where step t's beams end in it.
        let mut kept: Vec<(u32, u32)> = Vec::new();
        let mut ends: Vec<usize> = Vec::new();
        for step in 0..length {
            check(step)?;
            let mut cand: Vec<(f64, usize, usize)> = Vec::with_capacity(scores.len() * v);
            for (b, &s) in scores.iter().enumerate() {
                for (ch, &lp) in log_p[b * v..(b + 1) * v].iter().enumerate() {
                    // A NaN score (a model with NaN weights) ranks below every number.
                    let total = s + lp;
                    cand.push((if total.is_nan() { f64::NEG_INFINITY } else { total }, b, ch));
                }
            }
            // A stable sort: equal scores keep the (beam, character) order they were pushed in.
            cand.sort_by(|x, y| y.0.total_cmp(&x.0));
            cand.truncate(width);
            kept.try_reserve(cand.len())
                .map_err(|_| anyhow!("not enough memory for a beam search of {length} steps"))?;
            kept.extend(cand.iter().map(|&(_, b, ch)| (b as u32, ch as u32)));
            ends.push(kept.len());
            scores = cand.iter().map(|x| x.0).collect();
            if step + 1 == length {
                break;
            }
            let parents = Tensor::from_slice(&cand.iter().map(|x| x.1 as i64).collect::<Vec<_>>());
            let ids = Tensor::from_slice(&cand.iter().map(|x| x.2 as i64).collect::<Vec<_>>()).view([-1, 1]);
            let (h0, c0) = (h.index_select(1, &parents), c.index_select(1, &parents));
            let (logits, (h1, c1)) = model.forward(&ids, Some((&h0, &c0)), 0.0, false);
            log_p = log_softmax_rows(&logits.view([-1, v as i64]));
            (h, c) = (h1, c1);
        }
        let mut out = vec![0usize; ends.len()];
        let mut b = 0usize;
        for t in (0..ends.len()).rev() {
            let start = if t == 0 { 0 } else { ends[t - 1] };
            let (parent, ch) = kept[start + b];
            out[t] = ch as usize;
            b = parent as usize;
        }
        Ok(out)
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
