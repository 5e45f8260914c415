//! `Backward`: the LSTM's backward pass through one sequence, written out
//! as `Stepper` writes out the forward, for attribution's gradient × input.
//!
//! Given the gates `Stepper::read` returned for a sequence read from a zero
//! state, and where a quantity F's gradient enters (dF/dh or dF/dc of one
//! layer at the last step), it returns ∂F/∂pre₀ for every step: the
//! gradient with respect to layer 0's pre-activations, from which the
//! gradient with respect to any input x follows as W_ihᵀ · ∂F/∂pre₀.
//!
//! It goes layer by layer, from the top down, as `read` goes up: within a
//! layer the steps run backwards, each one product with `W_hhᵀ` (the
//! recurrent gradient), then the layer's `W_ihᵀ` products for every step at
//! once carry the gradient to the layer below's h. The transposed matrices
//! are stored as matrices of their own, so the products are `matvec`'s
//! kernels, split over two cores and in f16 for an f16 model, as the step's.
//!
//! Per unit and step, with tc = tanh(c_t) and δh the gradient reaching h_t
//! (from the layer above and from step t+1):
//! - δc = δc₊ + δh · o · (1 − tc²), where δc₊ = δc(t+1) · f(t+1);
//! - δpre_o = δh · tc · o(1 − o), δpre_i = δc · g · i(1 − i),
//!   δpre_g = δc · i · (1 − g²), δpre_f = δc · c_(t−1) · f(1 − f).

use super::lstm::StepOutput;
use super::matvec::Matrix;

pub struct Backward {
    hidden: usize,
    /// Each layer's `W_hhᵀ` (`H × 4H`).
    w_hh_t: Vec<Matrix>,
    /// Layers 1..: `W_ihᵀ` (`H × 4H`), from a layer's gates to the h below.
    w_ih_t: Vec<Matrix>,
}

/// Where F's gradient enters: dF/dh or dF/dc of `layer` at the last step.
#[derive(Debug, Clone, PartialEq)]
pub enum Seed {
    H { layer: usize, grad: Vec<f32> },
    C { layer: usize, grad: Vec<f32> },
}

impl Backward {
    /// From a model's step matrices: each layer's `W_hh`, and `W_ih` of the
    /// layers past the first (the stepper's, so an f16 model's stay f16).
    pub(super) fn new(hidden: usize, w_hh: &[&Matrix], w_ih_deeper: &[&Matrix]) -> Self {
        Self {
            hidden,
            w_hh_t: w_hh.iter().map(|m| m.transposed()).collect(),
            w_ih_t: w_ih_deeper.iter().map(|m| m.transposed()).collect(),
        }
    }

    /// ∂F/∂pre₀ for each step of `outputs` (a sequence read from a zero
    /// state, as `Stepper::read` returns it), end to end (`n × 4H`), for F
    /// entering at the last step as `seed` says.
    pub fn input_gradients(&self, outputs: &[StepOutput], seed: &Seed) -> Vec<f32> {
        let (hd, n) = (self.hidden, outputs.len());
        let (top, grad) = match seed {
            Seed::H { layer, grad } | Seed::C { layer, grad } => (*layer, grad),
        };
        assert!(n > 0 && top < self.w_hh_t.len(), "a seed in one of the model's layers, after a step");
        assert_eq!(grad.len(), hd, "a seed of H values");
        // The gradient reaching each step's h from above: the seed alone at
        // the seed's layer, then each layer's W_ihᵀ products.
        let mut from_above = vec![0.0f32; n * hd];
        let mut dc_carry = vec![0.0f32; hd];
        match seed {
            Seed::H { .. } => from_above[(n - 1) * hd..].copy_from_slice(grad),
            Seed::C { .. } => dc_carry.copy_from_slice(grad),
        }
        let zeros = vec![0.0f32; hd];
        let mut dpre = vec![0.0f32; n * 4 * hd];
        for k in (0..=top).rev() {
            let mut dh_rec = vec![0.0f32; hd];
            for t in (0..n).rev() {
                let gates = &outputs[t].layers[k];
                let c_prev = if t > 0 { &outputs[t - 1].layers[k].c } else { &zeros };
                let above = &from_above[t * hd..(t + 1) * hd];
                let d = &mut dpre[t * 4 * hd..(t + 1) * 4 * hd];
                let (di, rest) = d.split_at_mut(hd);
                let (df, rest) = rest.split_at_mut(hd);
                let (dg, d_o) = rest.split_at_mut(hd);
                for u in 0..hd {
                    let (i, f, g, o) = (gates.i[u], gates.f[u], gates.g[u], gates.o[u]);
                    let dh = above[u] + dh_rec[u];
                    let tc = gates.c[u].tanh();
                    let dc = dc_carry[u] + dh * o * (1.0 - tc * tc);
                    d_o[u] = dh * tc * o * (1.0 - o);
                    di[u] = dc * g * i * (1.0 - i);
                    dg[u] = dc * i * (1.0 - g * g);
                    df[u] = dc * c_prev[u] * f * (1.0 - f);
                    dc_carry[u] = dc * f;
                }
                if t > 0 {
                    dh_rec.fill(0.0);
                    self.w_hh_t[k].add_product(d, &mut dh_rec);
                }
            }
            dc_carry.fill(0.0);
            if k > 0 {
                from_above.fill(0.0);
                self.w_ih_t[k - 1].add_products(&dpre, &mut from_above);
            }
        }
        dpre
    }
}
