//! `Stepper`: the LSTM cell written out for one character at a time, in
//! plain Rust over weights laid out for batch-1 speed, returning every gate
//! so the panels draw what the model really computed.
//!
//! The layout (built once per model by `CharLstm::stepper`):
//! - layer 0's input part depends only on the character, so it is a table of
//!   `W_ih · input + b_ih + b_hh`, one row of 4H per character;
//! - deeper layers add `W_ih · x` to their biases, then `W_hh · h`, as two
//!   products, so a known sequence can take the first for all its steps at
//!   once (`read`);
//! - the matrices are f16 when every value of the model's step matrices is
//!   an f16 (a model stored in f16), which halves what a step reads
//!   (`matvec`).
//!
//! `read` takes a known sequence layer by layer instead of character by
//! character: a step then reads only one layer's `W_hh`, which two cores'
//! caches hold between steps, where a whole step's weights would stream from
//! memory every time. Every sum is the single step's, in its order, so
//! `read` gives the bits that stepping gives.
//!
//! No libtorch call is made on a step: at these sizes each call's dispatch
//! costs about as much as its arithmetic. The gates, c and h are what
//! libtorch computes, to rounding: the sigmoid and tanh are vectorised
//! (rten-vecmath, within 3e-7 of the exact functions, as libtorch's own
//! vectorised ones are not exact either), `f·c + i·g` is rounded product by
//! product, and `tests/it/model` holds every value to libtorch's fused LSTM
//! and to PyTorch.

use super::backward::Backward;
use super::helper::helper;
use super::intervene::{Intervention, Target};
use super::layout::{Dims, Gate};
use super::lstm::{to_vec, CharLstm, LayerGates, LstmState, StepOutput};
use super::matvec::{Matrix, SIDE_BY_SIDE};
use rten_simd::SimdUnaryOp;
use rten_vecmath::{Sigmoid, Tanh};
use std::sync::OnceLock;
use tch::{Device, Kind, Tensor};

pub struct Stepper {
    dims: Dims,
    /// `[vocab, 4H]`: layer 0's input projection of each character, with
    /// both its biases.
    input_table: Vec<f32>,
    /// Layer 0's `W_hh`.
    w_hh0: Matrix,
    /// Layers 1..: `W_ih`, `W_hh` and `b_ih + b_hh`.
    deeper: Vec<Deeper>,
    head_w: Matrix,
    head_b: Vec<f32>,
    /// The transposed matrices, made when a backward pass first needs them.
    backward: OnceLock<Backward>,
}

/// A layer past the first: its input comes from the layer below.
struct Deeper {
    w_ih: Matrix,
    w_hh: Matrix,
    bias: Vec<f32>,
}

impl CharLstm {
    /// The weights laid out for single steps; make it again after the
    /// weights change.
    pub fn stepper(&self) -> Stepper {
        Stepper::new(self)
    }
}

impl Stepper {
    fn new(model: &CharLstm) -> Self {
        let _guard = tch::no_grad_guard();
        let l0 = &model.layers[0];
        // Each row by this module's own product, so the step's every sum is
        // in the one order `matvec` keeps, whatever product libtorch would use.
        let all_ids = Tensor::arange(model.dims.vocab as i64, (Kind::Int64, Device::Cpu));
        let inputs = to_vec(&model.input_layer(&all_ids));
        let (rows, cols) = l0.w_ih.size2().expect("layer 0's W_ih is 2-d");
        let w_ih = Matrix::f32(to_vec(&l0.w_ih), rows as usize, cols as usize);
        let bias = to_vec(&(&l0.b_ih + &l0.b_hh));
        let input_table = inputs.chunks_exact(cols as usize).flat_map(|x| w_ih.addmv(&bias, x)).collect();
        let deeper = &model.layers[1..];
        let matrices: Vec<&Tensor> = std::iter::once(&l0.w_hh)
            .chain(deeper.iter().flat_map(|l| [&l.w_ih, &l.w_hh]))
            .chain([&model.head_w])
            .collect();
        let mut matrices = step_matrices(&matrices).into_iter();
        let w_hh0 = matrices.next().expect("layer 0's matrix");
        let deeper = deeper
            .iter()
            .map(|l| Deeper {
                w_ih: matrices.next().expect("a layer's W_ih"),
                w_hh: matrices.next().expect("a layer's W_hh"),
                bias: to_vec(&(&l.b_ih + &l.b_hh)),
            })
            .collect();
        let head_w = matrices.next().expect("the head's matrix");
        Self {
            dims: model.dims,
            input_table,
            w_hh0,
            deeper,
            head_w,
            head_b: to_vec(&model.head_b),
            backward: OnceLock::new(),
        }
    }

    /// Whether the step reads f16 matrices (the model's weights are all f16 values).
    pub fn dims(&self) -> Dims {
        self.dims
    }

    pub fn reads_f16(&self) -> bool {
        self.w_hh0.is_f16()
    }

    /// The bytes of weights one step reads: every matrix once, and one row
    /// of the input table. What bounds a step's speed from below.
    pub fn bytes_per_step(&self) -> usize {
        let matrices: usize = std::iter::once(&self.w_hh0)
            .chain(self.deeper.iter().flat_map(|l| [&l.w_ih, &l.w_hh]))
            .chain([&self.head_w])
            .map(Matrix::bytes)
            .sum();
        let biases: usize = self.deeper.iter().map(|l| l.bias.len()).sum::<usize>() + self.head_b.len();
        matrices + (biases + 4 * self.dims.hidden) * 4
    }

    /// Whether `read` takes a known sequence faster than the batched path
    /// (libtorch's fused LSTM on every core, which reads f32 weights): on
    /// two cores, where each keeps its half of a layer's `W_hh` in cache,
    /// and on one when the step reads f16. On a two-core Xeon a 1,000-char
    /// prompt through the shipped default (2×512, f16) takes 71 ms by
    /// `read` against 157 ms batched, and through a 2×512 f32 model 118 ms
    /// against 167 ms; on one core of it, 167 against 341 ms in f16, but
    /// 368 against 342 ms in f32.
    pub fn reads_prompts_faster(&self) -> bool {
        Self::read_is_faster(helper().is_some(), self.reads_f16())
    }

    /// The rule `reads_prompts_faster` applies, by whether the machine has
    /// the helper's second core and whether the step reads f16.
    pub fn read_is_faster(two_cores: bool, reads_f16: bool) -> bool {
        two_cores || reads_f16
    }

    /// Read a known sequence from `state` by the faster of `read` and the
    /// batched path (`reads_prompts_faster`). `model` is the one this
    /// stepper was made from.
    pub fn read_faster(&self, model: &CharLstm, ids: &[i64], state: &mut LstmState) -> Vec<StepOutput> {
        match self.reads_prompts_faster() {
            true => self.read(ids, state),
            false => model.prime_with_gates(ids, state),
        }
    }

    /// Consume one character id, update `state`, and return every gate.
    pub fn step(&self, id: i64, state: &mut LstmState) -> StepOutput {
        self.step_with(id, state, &[])
    }

    /// `step` with interventions applied: `active` are those covering this
    /// step, in the order given. Each target is changed right after it is
    /// computed (see `intervene`), so what is recorded, carried and passed on
    /// is what the model computed with the change.
    pub fn step_with(&self, id: i64, state: &mut LstmState, active: &[Intervention]) -> StepOutput {
        let hd = self.dims.hidden;
        let mut layers: Vec<LayerGates> = Vec::with_capacity(self.dims.layers);
        for k in 0..self.dims.layers {
            let pre = match k {
                0 => {
                    let mut pre = self.input_row(id).to_vec();
                    self.w_hh0.add_product(&state.h[0], &mut pre);
                    pre
                }
                _ => {
                    let l = &self.deeper[k - 1];
                    let mut pre = l.bias.clone();
                    Matrix::add_two_products(&l.w_ih, &layers[k - 1].h, &l.w_hh, &state.h[k], &mut pre);
                    pre
                }
            };
            let gates = cell(&pre, state, k, hd, active);
            layers.push(gates);
        }
        let top = &layers.last().expect("at least one layer").h;
        let logits = self.head_w.addmv(&self.head_b, top);
        StepOutput { layers, logits }
    }

    /// Read a known sequence from `state`, leaving `state` after its last
    /// character: what `step` per character returns, bit for bit, computed
    /// layer by layer. Each deeper layer's input products and the head's
    /// are taken for every step at once (`Matrix::add_products`); the steps
    /// themselves then read only `W_hh`. No intervention applies: a caller
    /// reads up to the first step one covers and steps from there.
    pub fn read(&self, ids: &[i64], state: &mut LstmState) -> Vec<StepOutput> {
        self.read_inputs(self.read_inputs_of(ids), state)
    }

    /// The layer 0 inputs `read` takes for `ids`: each character's row of
    /// the input table, end to end.
    pub fn read_inputs_of(&self, ids: &[i64]) -> Vec<f32> {
        ids.iter().flat_map(|&id| self.input_row(id)).copied().collect()
    }

    /// `read` with layer 0's input part given for each step, end to end
    /// (`n × 4H`): `W_ih · x + b_ih + b_hh` for an input x that need not be
    /// a character's, such as the zero input attribution's baseline reads.
    pub fn read_inputs(&self, pre0: Vec<f32>, state: &mut LstmState) -> Vec<StepOutput> {
        self.read_several(pre0, std::slice::from_mut(state)).pop().expect("one sequence")
    }

    /// `read_inputs` for several sequences of the same length at once, each
    /// from its own state in `states`, and each with the bits it would get
    /// alone. `pre0` holds their layer 0 inputs step by step, the sequences'
    /// rows of a step side by side (`n × m × 4H`), the order in which a
    /// step's products take them. From `SIDE_BY_SIDE` sequences on, a
    /// step's `W_hh` is read once for all of them (`Matrix::add_products`)
    /// and their cells are shared between the two cores; fewer take one
    /// product each. Returns each sequence's outputs.
    pub fn read_several(&self, pre0: Vec<f32>, states: &mut [LstmState]) -> Vec<Vec<StepOutput>> {
        let (hd, m) = (self.dims.hidden, states.len());
        let hd4 = 4 * hd;
        assert!(m > 0 && pre0.len().is_multiple_of(m * hd4), "layer 0's inputs of 4H per step for each sequence");
        let n = pre0.len() / (m * hd4);
        let mut outputs: Vec<Vec<StepOutput>> = (0..m)
            .map(|_| {
                (0..n)
                    .map(|_| StepOutput { layers: Vec::with_capacity(self.dims.layers), logits: Vec::new() })
                    .collect()
            })
            .collect();
        // The layer below's h for every step and sequence, in the same order.
        let mut below: Vec<f32> = Vec::new();
        let mut hs: Vec<f32> = Vec::new();
        // Each layer's pre-activations, in one buffer: layer 0's inputs, then
        // each deeper layer's over them (fresh memory costs a page fault per
        // 4 KB, and a pass of many copies is hundreds of MB).
        let mut pre = pre0;
        for k in 0..self.dims.layers {
            if k > 0 {
                let l = &self.deeper[k - 1];
                pre.iter_mut().zip(l.bias.iter().cycle()).for_each(|(p, b)| *p = *b);
                l.w_ih.add_products(&below, &mut pre);
            }
            below.clear();
            for (t, block) in pre.chunks_exact_mut(m * hd4).enumerate() {
                hs.clear();
                hs.extend(states.iter().flat_map(|s| &s.h[k]));
                self.recurrent(k).add_products(&hs, block);
                let at = below.len();
                below.resize(at + m * self.dims.hidden, 0.0);
                let cells =
                    |pres: &[f32], states: &mut [LstmState], outputs: &mut [Vec<StepOutput>], hs: &mut [f32]| {
                        let per_copy = pres.chunks_exact(hd4).zip(states).zip(outputs).zip(hs.chunks_exact_mut(hd));
                        for (((pre, state), out), h) in per_copy {
                            let gates = cell(pre, state, k, hd, &[]);
                            h.copy_from_slice(&gates.h);
                            out[t].layers.push(gates);
                        }
                    };
                // Many sequences' cells are worth a hand-over: half on each core.
                match helper() {
                    Some(helper) if m >= SIDE_BY_SIDE => {
                        let half = m / 2;
                        let (pres, rest) = block.split_at(half * hd4);
                        let (s1, s2) = states.split_at_mut(half);
                        let (o1, o2) = outputs.split_at_mut(half);
                        let (h1, h2) = below[at..].split_at_mut(half * hd);
                        helper.join(|| cells(pres, s1, o1, h1), || cells(rest, s2, o2, h2));
                    }
                    _ => cells(block, states, &mut outputs, &mut below[at..]),
                }
            }
        }
        let v = self.head_b.len();
        let mut logits: Vec<f32> = self.head_b.iter().copied().cycle().take(n * m * v).collect();
        self.head_w.add_products(&below, &mut logits);
        for (r, row) in logits.chunks_exact(v).enumerate() {
            outputs[r % m][r / m].logits = row.to_vec();
        }
        outputs
    }

    /// Layer 0's input part for character `id`, biases included.
    fn input_row(&self, id: i64) -> &[f32] {
        let hd4 = 4 * self.dims.hidden;
        let id = usize::try_from(id).expect("a character id is not negative");
        &self.input_table[id * hd4..(id + 1) * hd4]
    }

    /// The backward pass through a sequence this stepper read; its
    /// matrices are made on the first call and kept.
    pub fn backward(&self) -> &Backward {
        self.backward.get_or_init(|| {
            let layers = self.dims.layers;
            let w_hh: Vec<&Matrix> = (0..layers).map(|k| self.recurrent(k)).collect();
            let w_ih: Vec<&Matrix> = self.deeper.iter().map(|l| &l.w_ih).collect();
            Backward::new(self.dims.hidden, &w_hh, &w_ih)
        })
    }

    /// Layer `k`'s `W_hh`.
    fn recurrent(&self, k: usize) -> &Matrix {
        match k {
            0 => &self.w_hh0,
            _ => &self.deeper[k - 1].w_hh,
        }
    }
}

/// `tensors` (2-d, f32) as the step holds them: all in f16 when every value
/// of every one is an f16 (a model stored in f16), else all in f32, since
/// f16 only pays when the whole step reads half.
pub fn step_matrices(tensors: &[&Tensor]) -> Vec<Matrix> {
    let shaped = |t: &Tensor| {
        let (rows, cols) = t.size2().expect("a step matrix is 2-d");
        (to_vec(t), rows as usize, cols as usize)
    };
    let half: Option<Vec<Matrix>> = tensors
        .iter()
        .map(|t| {
            let (v, r, c) = shaped(t);
            Matrix::f16_exact(&v, r, c)
        })
        .collect();
    half.unwrap_or_else(|| {
        tensors
            .iter()
            .map(|t| {
                let (v, r, c) = shaped(t);
                Matrix::f32(v, r, c)
            })
            .collect()
    })
}

/// Layer `k`'s gates, c and h from its pre-activations `pre` (i, f, g, o),
/// with `active`'s interventions on layer `k` applied; `state`'s layer `k`
/// becomes the new c and h.
fn cell(pre: &[f32], state: &mut LstmState, k: usize, hd: usize, active: &[Intervention]) -> LayerGates {
    let gate = |g: Gate| -> Vec<f32> {
        let mut v = g.slice(pre, hd).to_vec();
        if g.is_tanh() {
            Tanh {}.map_mut(&mut v);
        } else {
            Sigmoid {}.map_mut(&mut v);
        }
        v
    };
    let (mut i, mut f, mut g, mut o) = (gate(Gate::I), gate(Gate::F), gate(Gate::G), gate(Gate::O));
    // Without interventions this is one empty check per target: the
    // plain step's speed is unchanged.
    let edit = |target: Target, v: &mut [f32]| {
        for iv in active.iter().filter(|iv| iv.unit.layer == k && iv.target == target) {
            iv.apply_to(v);
        }
    };
    for (which, v) in Gate::ALL.into_iter().zip([&mut i, &mut f, &mut g, &mut o]) {
        edit(Target::Gate(which), v);
    }
    let c_prev = &state.c[k];
    let mut c: Vec<f32> = (0..hd).map(|u| f[u] * c_prev[u] + i[u] * g[u]).collect();
    edit(Target::C, &mut c);
    let mut h = c.clone();
    Tanh {}.map_mut(&mut h);
    h.iter_mut().zip(&o).for_each(|(h, o)| *h *= o);
    edit(Target::H, &mut h);
    state.c[k].copy_from_slice(&c);
    state.h[k].copy_from_slice(&h);
    LayerGates { i, f, g, o, c, h }
}
