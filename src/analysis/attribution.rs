//! Which earlier characters a prediction (or a unit's state) depends on:
//! gradient × input and integrated gradients with respect to layer 0's
//! input, by libtorch's autograd through the model's fused LSTM.
//!
//! The model reads x_0..x_T from a zero state; e_s is layer 0's input at
//! step s (the embedding row of x_s, or the one-hot vector). F is either
//! log softmax(logits_T)[y] at temperature 1, or one unit's c_T or h_T.
//! - grad: a_s = Σ_d e_s[d] · ∂F/∂e_s[d].
//! - ig: a_s = Σ_d e_s[d] · (1/M) Σ_m ∂F/∂e_s[d] at every step's input scaled
//!   by α_m = (m − 0.5)/M, m = 1..M (zero baseline, midpoint rule), so that
//!   Σ_s a_s ≈ F(e) − F(0) up to the midpoint rule's error.
//!
//! Both are computed without libtorch's autograd: each scaled copy of the
//! input is read by `Stepper::read_several` (the copies side by side, so a
//! step's matrices are read once for all of them), and one backward pass
//! by `model::Backward`, written out like the step, gives ∂F/∂pre₀ at every
//! step; then ∂F/∂e_s = W_ihᵀ · ∂F/∂pre₀(s), so a_s = (W_ih · e_s) ·
//! ∂F/∂pre₀(s), averaged over the copies for ig.
//!
//! `attribute` is a plain function from ids to plain numbers; `Attributor`
//! is the same one pass at a time, so the playground's model worker can run
//! it between its other work and send the result on.

use super::State;
use crate::model::{CharLstm, Dims, LstmState, Seed, StepOutput, Stepper, Unit};
use anyhow::{anyhow, bail, Result};
use std::fmt;
use std::str::FromStr;
use tch::{Kind, Tensor};

/// M when none is given (`--ig-steps`, and the playground's colouring).
pub const DEFAULT_IG_STEPS: usize = 32;

/// The largest M accepted: far more than the midpoint rule needs (its error
/// falls as 1/M²), and a bound on the time a request can take.
pub const MAX_IG_STEPS: usize = 1024;

/// Memory for one pass: the scaled copies go through the model in passes
/// of as many copies as fit. A copy of T steps keeps about
/// `SAVED_FLOATS_PER_UNIT` floats per step, layer and unit for the backward.
const PASS_BYTES: usize = 1 << 30;
const SAVED_FLOATS_PER_UNIT: usize = 12;

/// One unit's state as the quantity attributed: `lK:U` (c, the default),
/// `lK:U:c` or `lK:U:h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnitTarget {
    pub unit: Unit,
    pub state: State,
}

impl FromStr for UnitTarget {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        let bad = || anyhow!("'{s}' is not a unit; expected lK:U, lK:U:c or lK:U:h (layer K, unit U), e.g. l1:134:h");
        let t = s.trim();
        let (name, state) = match t.rsplit_once(':') {
            Some((name, "c")) => (name, State::C),
            Some((name, "h")) => (name, State::H),
            _ => (t, State::C),
        };
        let unit: Unit = name.parse().map_err(|_| bad())?;
        Ok(Self { unit, state })
    }
}

impl fmt::Display for UnitTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.unit, self.state.letter())
    }
}

/// What F is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// log p of the character with this id as the prediction at T; None:
    /// the text's character T+1 when it has one, else the argmax at T.
    Next(Option<i64>),
    Unit(UnitTarget),
}

/// How the gradients are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Grad,
    /// Integrated gradients with M midpoint steps.
    Ig(usize),
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::Grad => "grad",
            Method::Ig(_) => "ig",
        }
    }

    /// The α at which gradients are taken.
    fn alphas(self) -> Vec<f32> {
        match self {
            Method::Grad => vec![1.0],
            Method::Ig(m) => (1..=m).map(|k| ((k as f64 - 0.5) / m as f64) as f32).collect(),
        }
    }
}

/// The target as resolved: which character (and its log p), or the unit's value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Resolved {
    Next { id: i64, log_p: f32 },
    Unit { target: UnitTarget, value: f32 },
}

/// The result: plain numbers, one attribution per step 0..=T.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribution {
    pub step: usize,
    pub method: Method,
    pub target: Resolved,
    pub attributions: Vec<f32>,
    /// F(e) and F(0).
    pub f_x: f32,
    pub f_baseline: f32,
}

impl Attribution {
    /// |Σ_s a_s − (f_x − f_baseline)|: exactly what gradient × input leaves
    /// out, and the midpoint rule's error for ig.
    pub fn completeness_gap(&self) -> f64 {
        let sum: f64 = self.attributions.iter().map(|&a| a as f64).sum();
        (sum - (self.f_x as f64 - self.f_baseline as f64)).abs()
    }
}

/// Attribute F at `step` over `ids` (the whole text read; steps after
/// `step` only name the default target). Errors name what is out of range.
pub fn attribute(model: &CharLstm, ids: &[i64], step: usize, target: Target, method: Method) -> Result<Attribution> {
    let mut work = Attributor::new(model, ids, step, target, method, usize::MAX)?;
    let stepper = model.stepper();
    while !work.pass(model, &stepper)? {}
    work.finish()
}

/// `attribute` one pass at a time, so that a caller with other work (the
/// playground's model worker) can look at its commands between passes and
/// drop a request that is no longer wanted. A pass is one forward and one
/// backward of the model over every copy it holds.
pub struct Attributor {
    step: usize,
    method: Method,
    target: Target,
    /// The text's ids; layer 0's input products W_ih · e_s for steps
    /// 0..=step (`n × 4H`, no bias) and its biases b_ih + b_hh; and the sum
    /// of ∂F/∂pre₀ over the copies run so far.
    ids: Vec<i64>,
    input_products: Vec<f32>,
    bias0: Vec<f32>,
    dpre_sum: Vec<f32>,
    /// The head's `[vocab, H]`, for F's gradient at the top.
    head_w: Vec<f32>,
    /// Each pass's α per copy, and the copies whose gradient counts (the
    /// first pass also carries e itself and the zero baseline).
    passes: Vec<(Vec<f32>, std::ops::Range<usize>)>,
    done: usize,
    resolved: Option<Resolved>,
    f_x: f32,
    f_baseline: f32,
}

impl Attributor {
    /// Check the request and plan its passes: as many scaled copies per
    /// pass as fit in memory, and at most `max_copies`.
    pub fn new(
        model: &CharLstm,
        ids: &[i64],
        step: usize,
        target: Target,
        method: Method,
        max_copies: usize,
    ) -> Result<Self> {
        let dims = model.dims;
        if step >= ids.len() {
            bail!(
                "step {step} is beyond the text ({} characters, steps 0..{})",
                ids.len(),
                ids.len().saturating_sub(1)
            );
        }
        if let Some(&bad) = ids.iter().find(|&&id| id < 0 || id as usize >= dims.vocab) {
            bail!("character id {bad} is outside the vocabulary of {}", dims.vocab);
        }
        match target {
            Target::Next(Some(y)) if y < 0 || y as usize >= dims.vocab => {
                bail!("target id {y} is outside the vocabulary of {}", dims.vocab)
            }
            Target::Unit(u) => {
                u.unit.check(&dims)?;
            }
            _ => {}
        }
        if let Method::Ig(m) = method {
            if m == 0 || m > MAX_IG_STEPS {
                bail!("integrated gradients take 1 to {MAX_IG_STEPS} steps (got {m})");
            }
        }
        let n = step + 1;
        let per_copy = n * dims.layers * dims.hidden * SAVED_FLOATS_PER_UNIT * 4;
        if per_copy > PASS_BYTES {
            bail!(
                "{n} steps of a {}x{} model need about {} MB for the backward pass; at most {} MB (attribute an earlier step)",
                dims.layers,
                dims.hidden,
                per_copy >> 20,
                PASS_BYTES >> 20
            );
        }
        let copies_per_pass = (PASS_BYTES / per_copy).clamp(1, max_copies.max(1));
        // Every pass's rows are copies of the input, scaled: the first pass also
        // holds e itself (F(e), and the argmax when the target is the model's own
        // guess) and the zero baseline, so no pass runs without a gradient.
        let alphas = method.alphas();
        let mut passes: Vec<(Vec<f32>, std::ops::Range<usize>)> = Vec::new();
        match method {
            Method::Grad => passes.push((vec![1.0, 0.0], 0..1)),
            Method::Ig(_) => {
                let first = copies_per_pass.saturating_sub(2).clamp(1, alphas.len());
                passes.push(([&[1.0, 0.0], &alphas[..first]].concat(), 2..2 + first));
                for chunk in alphas[first..].chunks(copies_per_pass) {
                    passes.push((chunk.to_vec(), 0..chunk.len()));
                }
            }
        }
        let l0 = &model.layers[0];
        let (products, bias0) = tch::no_grad(|| {
            let e = model.input_layer(&Tensor::from_slice(&ids[..n])).to_kind(Kind::Float);
            (e.matmul(&l0.w_ih.tr()), &l0.b_ih + &l0.b_hh)
        });
        let input_products = floats_of(&products, "layer 0's input products")?;
        let bias0 = floats_of(&bias0, "layer 0's biases")?;
        let dpre_sum = vec![0.0; input_products.len()];
        let head_w = floats_of(&model.head_w, "the head's weights")?;
        Ok(Self {
            step,
            method,
            target,
            ids: ids.to_vec(),
            input_products,
            bias0,
            dpre_sum,
            head_w,
            passes,
            done: 0,
            resolved: None,
            f_x: 0.0,
            f_baseline: 0.0,
        })
    }

    /// Passes planned, and passes run.
    pub fn passes(&self) -> (usize, usize) {
        (self.passes.len(), self.done)
    }

    /// Run the next pass; true when none is left. `stepper` is `model`'s.
    pub fn pass(&mut self, model: &CharLstm, stepper: &Stepper) -> Result<bool> {
        let Some((alphas, grad_rows)) = self.passes.get(self.done).cloned() else { return Ok(true) };
        let (n, dims) = (self.step + 1, model.dims);
        // Each copy's layer 0 input, α · W_ih · e_s + b_ih + b_hh, step by
        // step with the copies side by side (as `read_several` takes them).
        let (products, bias) = (&self.input_products, &self.bias0);
        let mut inputs: Vec<f32> = Vec::with_capacity(products.len() * alphas.len());
        for p in products.chunks_exact(bias.len()) {
            for &a in &alphas {
                inputs.extend(p.iter().zip(bias).map(|(p, b)| a * p + b));
            }
        }
        let mut states = vec![LstmState::zeros(&dims); alphas.len()];
        let outputs = stepper.read_several(inputs, &mut states);
        let target = match (self.resolved, self.target) {
            (Some(r), _) => r,
            // The first pass's first copy is e itself.
            (None, Target::Next(y)) => {
                let y = y.or_else(|| self.ids.get(n).copied()).unwrap_or_else(|| argmax(&outputs[0][n - 1].logits));
                Resolved::Next { id: y, log_p: 0.0 }
            }
            (None, Target::Unit(u)) => Resolved::Unit { target: u, value: 0.0 },
        };
        self.resolved = Some(target);
        let (values, seeds): (Vec<f32>, Vec<Seed>) =
            outputs.iter().map(|o| quantity(&o[n - 1], target, &self.head_w, dims)).unzip();
        if self.done == 0 {
            (self.f_x, self.f_baseline) = (values[0], values[1]);
        }
        let seeds = &seeds[grad_rows.clone()];
        let dpre = stepper.backward().input_gradients(&outputs[grad_rows], seeds);
        self.dpre_sum.iter_mut().zip(dpre).for_each(|(sum, d)| *sum += d);
        self.done += 1;
        Ok(self.done == self.passes.len())
    }

    /// The attributions, once every pass has run.
    pub fn finish(self) -> Result<Attribution> {
        if self.done < self.passes.len() {
            bail!("attribution finished after {} of its {} passes", self.done, self.passes.len());
        }
        let target = match self.resolved.ok_or_else(|| anyhow!("no pass ran"))? {
            Resolved::Next { id, .. } => Resolved::Next { id, log_p: self.f_x },
            Resolved::Unit { target, .. } => Resolved::Unit { target, value: self.f_x },
        };
        let copies = self.method.alphas().len() as f64;
        let hd4 = self.bias0.len();
        let attributions = (self.input_products.chunks_exact(hd4).zip(self.dpre_sum.chunks_exact(hd4)))
            .map(|(p, d)| (p.iter().zip(d).map(|(&p, &d)| p as f64 * d as f64).sum::<f64>() / copies) as f32)
            .collect();
        Ok(Attribution {
            step: self.step,
            method: self.method,
            target,
            attributions,
            f_x: self.f_x,
            f_baseline: self.f_baseline,
        })
    }
}

/// The first index of the largest value, as libtorch's argmax.
fn argmax(v: &[f32]) -> i64 {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best as i64
}

/// log softmax(logits)[y], and its gradient with respect to the logits
/// (one-hot y minus the softmax), summed in f64.
fn log_softmax_at(logits: &[f32], y: usize) -> (f32, Vec<f32>) {
    let max = logits.iter().fold(f64::NEG_INFINITY, |m, &l| m.max(l as f64));
    let lse = max + logits.iter().map(|&l| (l as f64 - max).exp()).sum::<f64>().ln();
    let grad = logits.iter().enumerate().map(|(v, &l)| (f64::from(v == y) - (l as f64 - lse).exp()) as f32).collect();
    ((logits[y] as f64 - lse) as f32, grad)
}

/// F at a copy's last step and the seed of its backward pass: dF/dh at the
/// top layer (the head's W transposed times dF/dlogits) for a prediction,
/// the unit's own state for a unit. `head_w` is the head's `[vocab, H]`.
fn quantity(last: &StepOutput, target: Resolved, head_w: &[f32], dims: Dims) -> (f32, Seed) {
    let one_hot = |i: usize| {
        let mut grad = vec![0.0f32; dims.hidden];
        grad[i] = 1.0;
        grad
    };
    match target {
        Resolved::Next { id, .. } => {
            let (log_p, d_logits) = log_softmax_at(&last.logits, id as usize);
            let mut grad = vec![0.0f32; dims.hidden];
            for (row, d) in head_w.chunks_exact(dims.hidden).zip(&d_logits) {
                grad.iter_mut().zip(row).for_each(|(g, w)| *g += d * w);
            }
            (log_p, Seed::H { layer: dims.layers - 1, grad })
        }
        Resolved::Unit { target, .. } => {
            let (k, i) = (target.unit.layer, target.unit.index);
            match target.state {
                State::C => (last.layers[k].c[i], Seed::C { layer: k, grad: one_hot(i) }),
                State::H => (last.layers[k].h[i], Seed::H { layer: k, grad: one_hot(i) }),
            }
        }
    }
}

/// A tensor's values as f32, flat. Unlike the model's own reader
/// (`model::lstm::to_vec`, for f32 tensors it made), this takes the
/// gradients' tensors of any float kind, outside the autograd graph, and
/// says which values it could not read.
fn floats_of(t: &Tensor, what: &str) -> Result<Vec<f32>> {
    tch::no_grad(|| Vec::<f32>::try_from(&t.to_kind(Kind::Float).contiguous().view(-1)))
        .map_err(|e| anyhow!("reading {what}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_targets_parse() {
        let u = |s: &str| s.parse::<UnitTarget>();
        assert_eq!(u("l1:5").unwrap(), UnitTarget { unit: Unit::new(1, 5), state: State::C });
        assert_eq!(u("l0:7:h").unwrap(), UnitTarget { unit: Unit::new(0, 7), state: State::H });
        assert_eq!(u("l0:7:c").unwrap().to_string(), "l0:7:c");
        for bad in ["l0:7:x", "l0", "7", "l0:7:h:h", ""] {
            assert!(u(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn midpoints() {
        assert_eq!(Method::Ig(4).alphas(), vec![0.125, 0.375, 0.625, 0.875]);
        assert_eq!(Method::Grad.alphas(), vec![1.0]);
    }
}
