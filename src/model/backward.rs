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

use super::helper::helper;
use super::lstm::StepOutput;
use super::matvec::{Matrix, SIDE_BY_SIDE};
use rten_simd::SimdUnaryOp;
use rten_vecmath::Tanh;

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

    /// ∂F/∂pre₀ for each step, summed over the sequences in `outputs`
    /// (sequences of one length, each read from a zero state as
    /// `Stepper::read_several` returns them), end to end (`n × 4H`), for
    /// each sequence's F entering at its last step as its seed says: what
    /// integrated gradients average, and one sequence's own for one. Every seed
    /// is in the same layer. As in `read_several`, from `SIDE_BY_SIDE`
    /// sequences on a step's `W_hhᵀ` is read once for all of them.
    pub fn input_gradients(&self, outputs: &[Vec<StepOutput>], seeds: &[Seed]) -> Vec<f32> {
        let (hd, m) = (self.hidden, outputs.len());
        let hd4 = 4 * hd;
        let n = outputs.first().map_or(0, Vec::len);
        assert!(m > 0 && seeds.len() == m && n > 0, "a seed for each of one or more sequences, after a step");
        assert!(outputs.iter().all(|o| o.len() == n), "sequences of one length");
        let layer = |seed: &Seed| match seed {
            Seed::H { layer, .. } | Seed::C { layer, .. } => *layer,
        };
        let top = layer(&seeds[0]);
        assert!(top < self.w_hh_t.len() && seeds.iter().all(|s| layer(s) == top), "seeds in one of the model's layers");
        // Rows step by step, the sequences' rows of a step side by side (as
        // `read_several` lays them out): the gradient reaching each h from
        // above (the seeds, then each layer's W_ihᵀ products), and ∂F/∂pre.
        let mut from_above = vec![0.0f32; n * m * hd];
        let mut dc_carry = vec![0.0f32; m * hd];
        for (j, seed) in seeds.iter().enumerate() {
            match seed {
                Seed::H { grad, .. } => from_above[((n - 1) * m + j) * hd..][..hd].copy_from_slice(grad),
                Seed::C { grad, .. } => dc_carry[j * hd..][..hd].copy_from_slice(grad),
            }
        }
        let zeros = vec![0.0f32; hd];
        let mut dh_rec = vec![0.0f32; m * hd];
        let mut dpre = vec![0.0f32; n * m * hd4];
        for k in (0..=top).rev() {
            dh_rec.fill(0.0);
            for t in (0..n).rev() {
                let block = &mut dpre[t * m * hd4..(t + 1) * m * hd4];
                let (above_all, rec_all) = (&from_above, &dh_rec);
                // The copies from `first` on: their rows of `block` and of the carry.
                let cells = |first: usize, block: &mut [f32], dc_carry: &mut [f32]| {
                    let mut tc = vec![0.0f32; hd];
                    for (jj, (d, dc_carry)) in
                        block.chunks_exact_mut(hd4).zip(dc_carry.chunks_exact_mut(hd)).enumerate()
                    {
                        let j = first + jj;
                        let gates = &outputs[j][t].layers[k];
                        let c_prev = if t > 0 { &outputs[j][t - 1].layers[k].c } else { &zeros };
                        let above = &above_all[(t * m + j) * hd..][..hd];
                        let dh_rec = &rec_all[j * hd..][..hd];
                        tc.copy_from_slice(&gates.c);
                        Tanh {}.map_mut(&mut tc);
                        let (di, rest) = d.split_at_mut(hd);
                        let (df, rest) = rest.split_at_mut(hd);
                        let (dg, d_o) = rest.split_at_mut(hd);
                        for u in 0..hd {
                            let (i, f, g, o) = (gates.i[u], gates.f[u], gates.g[u], gates.o[u]);
                            let dh = above[u] + dh_rec[u];
                            let dc = dc_carry[u] + dh * o * (1.0 - tc[u] * tc[u]);
                            d_o[u] = dh * tc[u] * o * (1.0 - o);
                            di[u] = dc * g * i * (1.0 - i);
                            dg[u] = dc * i * (1.0 - g * g);
                            df[u] = dc * c_prev[u] * f * (1.0 - f);
                            dc_carry[u] = dc * f;
                        }
                    }
                };
                // Many copies are worth a hand-over: half on each core.
                match helper() {
                    Some(helper) if m >= SIDE_BY_SIDE => {
                        let half = m / 2;
                        let (b1, b2) = block.split_at_mut(half * hd4);
                        let (c1, c2) = dc_carry.split_at_mut(half * hd);
                        helper.join(|| cells(0, b1, c1), || cells(half, b2, c2));
                    }
                    _ => cells(0, block, &mut dc_carry),
                }
                let block = &dpre[t * m * hd4..(t + 1) * m * hd4];
                if t > 0 {
                    dh_rec.fill(0.0);
                    self.w_hh_t[k].add_products(block, &mut dh_rec);
                }
            }
            dc_carry.fill(0.0);
            if k > 0 {
                from_above.fill(0.0);
                self.w_ih_t[k - 1].add_products(&dpre, &mut from_above);
            }
        }
        // Summed over the sequences, step by step.
        let mut sum = vec![0.0f32; n * hd4];
        for (out, block) in sum.chunks_exact_mut(hd4).zip(dpre.chunks_exact(m * hd4)) {
            for d in block.chunks_exact(hd4) {
                out.iter_mut().zip(d).for_each(|(o, d)| *o += d);
            }
        }
        sum
    }
}
