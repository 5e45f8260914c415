//! Why a gate has its value, and where a cell's memory came from: the
//! LSTM's own equations for one unit at one step, with the model's numbers.
//!
//! The model reads x_0..x_T from a zero state. For layer k, unit u, gate G
//! (index 0..3 in i, f, g, o) and hidden size H, row r = G·H + u of
//! `weight_ih_lk` and `weight_hh_lk` gives the gate's pre-activation as a
//! sum of terms, exactly:
//!
//!   z = (b_ih[r] + b_hh[r]) + Σ_j W_ih[r,j]·x[j] + Σ_j W_hh[r,j]·h′[j]
//!
//! where x is the layer's input at step T (the embedding row or one-hot
//! vector of x_T for k = 0, else h_T of layer k−1) and h′, c′ are layer k's
//! h_(T−1), c_(T−1) (zeros at T = 0). Terms are products of two f32 values,
//! so they are exact in f64, and every sum here is taken in f64.
//!
//! `explain` returns plain data, so the playground's worker can compute it
//! beside the model and send it to the UI; its JSON is `gatescope explain
//! --json`'s.

use super::memory;
use crate::model::lstm::LayerGates;
use crate::model::{CharLstm, Gate, LstmState, Unit};
use anyhow::{bail, Result};
use serde::{Serialize, Serializer};
use tch::{Kind, Tensor};

/// Where a term comes from: the character (layer 0's input, one term) or
/// a unit (of the layer below, or of the unit's own layer at T − 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Source {
    Char(char),
    Unit(Unit),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Char(c) => write!(f, "{c}"),
            Source::Unit(u) => write!(f, "{u}"),
        }
    }
}

impl Serialize for Source {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One listed term of a pre-activation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Term {
    pub from: Source,
    pub term: f64,
}

/// One gate's pre-activation taken apart: bias + Σ input + input_rest +
/// Σ recurrent + recurrent_rest = z.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GateTerms {
    pub z: f64,
    /// σ(z) for i, f, o; tanh(z) for g.
    pub value: f64,
    pub bias: f64,
    /// Layer 0: the character's one term. Deeper layers: the top N units of
    /// the layer below by |term|.
    pub input: Vec<Term>,
    pub input_rest: f64,
    /// The top N units of h_(T−1) of the unit's own layer by |term|.
    pub recurrent: Vec<Term>,
    pub recurrent_rest: f64,
}

/// The four gates, by name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gates {
    pub i: GateTerms,
    pub f: GateTerms,
    pub g: GateTerms,
    pub o: GateTerms,
}

impl Gates {
    pub fn get(&self, gate: Gate) -> &GateTerms {
        match gate {
            Gate::I => &self.i,
            Gate::F => &self.f,
            Gate::G => &self.g,
            Gate::O => &self.o,
        }
    }
}

/// The cell's line: c = kept + written = f·c′ + i·g, h = o·tanh(c), from
/// the gate values above.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Cell {
    pub c_prev: f64,
    pub kept: f64,
    pub written: f64,
    pub c: f64,
    pub h: f64,
}

/// Where the cell's content came from, from the model's gates at every step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Memory {
    /// w_0..w_T; they add up to c_T.
    pub writes: Vec<f64>,
    /// The smallest m with R(m) < 0.5, if any.
    pub half_life: Option<usize>,
}

/// Everything `explain` says about one unit at one step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    pub step: usize,
    #[serde(rename = "char")]
    pub ch: char,
    #[serde(serialize_with = "unit_out")]
    pub unit: Unit,
    pub gates: Gates,
    pub cell: Cell,
    pub memory: Memory,
}

fn unit_out<S: Serializer>(u: &Unit, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(u)
}

impl Explanation {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("an explanation serializes")
    }
}

/// The most terms a gate lists from each of its inputs (`--top`'s upper end).
pub const MAX_TOP: usize = 65_536;

/// Explain `unit` at `step` of the model reading `ids` from a zero state,
/// listing the `top` largest input and recurrent terms of each gate. Only
/// `ids[..=step]` is read.
pub fn explain(model: &CharLstm, ids: &[i64], step: usize, unit: Unit, top: usize) -> Result<Explanation> {
    let unit = unit.check(&model.dims)?;
    if step >= ids.len() {
        bail!("step {step} is outside the text: it has {} characters (steps 0..{})", ids.len(), ids.len().max(1) - 1);
    }
    if top == 0 {
        bail!("top must be at least 1");
    }
    let outs = model.stepper().read_faster(model, &ids[..=step], &mut LstmState::zeros(&model.dims));
    let layers: Vec<&[LayerGates]> = outs.iter().map(|o| &o.layers[..]).collect();
    explain_run(model, ids, &layers, step, unit, top)
}

/// `explain` over a run already made: `layers[t]` is every layer's gates
/// and states after step t (from a zero state, for t = 0..=step).
pub fn explain_run(
    model: &CharLstm,
    ids: &[i64],
    layers: &[&[LayerGates]],
    step: usize,
    unit: Unit,
    top: usize,
) -> Result<Explanation> {
    let unit = unit.check(&model.dims)?;
    if step >= ids.len().min(layers.len()) {
        bail!("step {step} is outside the run of {} steps", ids.len().min(layers.len()));
    }
    let (k, u, hd) = (unit.layer, unit.index, model.dims.hidden);
    let id = ids[step];
    let ch = model.vocab.chars().get(id as usize).copied().unwrap_or('\u{fffd}');
    let w = &model.layers[k];
    let rows = Tensor::from_slice(&Gate::ALL.map(|g| (g.index() * hd + u) as i64));
    let pick = |t: &Tensor| floats(&t.index_select(0, &rows));
    let (w_ih, w_hh, b_ih, b_hh) = (pick(&w.w_ih), pick(&w.w_hh), pick(&w.b_ih), pick(&w.b_hh));
    let zeros = vec![0.0f32; hd];
    let (h_prev, c_prev) = match step {
        0 => (&zeros, 0.0),
        t => (&layers[t - 1][k].h, layers[t - 1][k].c[u]),
    };
    // Layer 0's input as a vector (the embedding row, or one-hot), else h_T below.
    let x: Vec<f32> = match (k, &model.embed) {
        (0, Some(e)) => floats(&e.get(id)),
        (0, None) => (0..model.dims.vocab).map(|j| if j as i64 == id { 1.0 } else { 0.0 }).collect(),
        _ => layers[step][k - 1].h.clone(),
    };
    let (n_in, n_hh) = (x.len(), hd);
    let gate = |g: Gate| {
        let r = g.index();
        let bias = f64::from(b_ih[r]) + f64::from(b_hh[r]);
        let input: Vec<f64> =
            w_ih[r * n_in..(r + 1) * n_in].iter().zip(&x).map(|(&a, &b)| f64::from(a) * f64::from(b)).collect();
        let recurrent: Vec<f64> =
            w_hh[r * n_hh..(r + 1) * n_hh].iter().zip(h_prev).map(|(&a, &b)| f64::from(a) * f64::from(b)).collect();
        let z = bias + input.iter().sum::<f64>() + recurrent.iter().sum::<f64>();
        let value = if g.is_tanh() { z.tanh() } else { 1.0 / (1.0 + (-z).exp()) };
        let (input, input_rest) = if k == 0 {
            // One term for the character: the row of the embedding (or the
            // one-hot column) it selects.
            let sum: f64 = input.iter().sum();
            let listed = if sum != 0.0 { vec![Term { from: Source::Char(ch), term: sum }] } else { Vec::new() };
            (listed, 0.0)
        } else {
            largest(&input, top, |j| Unit::new(k - 1, j))
        };
        let (recurrent, recurrent_rest) = largest(&recurrent, top, |j| Unit::new(k, j));
        GateTerms { z, value, bias, input, input_rest, recurrent, recurrent_rest }
    };
    let gates = Gates { i: gate(Gate::I), f: gate(Gate::F), g: gate(Gate::G), o: gate(Gate::O) };
    let c_prev = f64::from(c_prev);
    let kept = gates.f.value * c_prev;
    let written = gates.i.value * gates.g.value;
    let c = kept + written;
    let cell = Cell { c_prev, kept, written, c, h: gates.o.value * c.tanh() };
    let series =
        |pick: fn(&LayerGates) -> &Vec<f32>| -> Vec<f32> { layers[..=step].iter().map(|l| pick(&l[k])[u]).collect() };
    let (i, g, f) = (series(|l| &l.i), series(|l| &l.g), series(|l| &l.f));
    let memory = Memory { writes: memory::writes(&i, &g, &f, step), half_life: memory::half_life(&f, step) };
    Ok(Explanation { step, ch, unit, gates, cell, memory })
}

/// The `top` terms largest in magnitude (ties to the lower j, exact zeros
/// never listed), named by `name`, and the sum of the others.
fn largest(terms: &[f64], top: usize, name: impl Fn(usize) -> Unit) -> (Vec<Term>, f64) {
    let mut order: Vec<usize> = (0..terms.len()).filter(|&j| terms[j] != 0.0).collect();
    order.sort_by(|&a, &b| terms[b].abs().total_cmp(&terms[a].abs()).then(a.cmp(&b)));
    order.truncate(top);
    let listed = order.iter().map(|&j| Term { from: Source::Unit(name(j)), term: terms[j] }).collect();
    let mut is_listed = vec![false; terms.len()];
    order.iter().for_each(|&j| is_listed[j] = true);
    let rest = terms.iter().zip(&is_listed).filter(|(_, &l)| !l).map(|(t, _)| t).sum();
    (listed, rest)
}

fn floats(t: &Tensor) -> Vec<f32> {
    let t = t.to_kind(Kind::Float).contiguous().view([-1]);
    Vec::<f32>::try_from(&t).expect("a float tensor copies out")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_terms_are_listed_and_the_rest_summed() {
        let terms = [0.5, -2.0, 0.0, 2.0, 0.25, -0.5];
        let (listed, rest) = largest(&terms, 3, |j| Unit::new(1, j));
        let names: Vec<String> = listed.iter().map(|t| t.from.to_string()).collect();
        assert_eq!(names, ["l1:1", "l1:3", "l1:0"], "ties go to the lower j");
        assert_eq!(rest, 0.25 - 0.5);
        let (all, rest) = largest(&terms, 100, |j| Unit::new(0, j));
        assert_eq!(all.len(), 5, "an exact zero is never listed");
        assert_eq!(rest, 0.0);
    }
}
