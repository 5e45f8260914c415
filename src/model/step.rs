//! `Stepper`: the LSTM cell written out for one character at a time, in
//! plain Rust over weights laid out for batch-1 speed, returning every gate
//! so the panels draw what the model really computed.
//!
//! The layout (built once per model by `CharLstm::stepper`):
//! - layer 0's input part depends only on the character, so it is a table of
//!   `W_ih · input + b_ih + b_hh`, one row of 4H per character;
//! - deeper layers multiply `[W_ih | W_hh]` by `[x ; h]` in one product;
//! - the matrices are f16 when every value of the model's step matrices is
//!   an f16 (a model stored in f16), which halves what a step reads
//!   (`matvec`).
//!
//! No libtorch call is made on a step: at these sizes each call's dispatch
//! costs about as much as its arithmetic. The gates, c and h are what
//! libtorch computes, to rounding: the sigmoid and tanh are vectorised
//! (rten-vecmath, within 3e-7 of the exact functions, as libtorch's own
//! vectorised ones are not exact either), `f·c + i·g` is rounded product by
//! product, and `tests/it/model` holds every value to libtorch's fused LSTM
//! and to PyTorch.

use super::helper::helper;
use super::intervene::{Intervention, Target};
use super::layout::{Dims, Gate};
use super::lstm::{to_vec, CharLstm, LayerGates, LstmState, StepOutput};
use super::matvec::Matrix;
use rten_simd::SimdUnaryOp;
use rten_vecmath::{Sigmoid, Tanh};
use tch::{Device, Kind, Tensor};

pub struct Stepper {
    dims: Dims,
    /// `[vocab, 4H]`: layer 0's input projection of each character, with
    /// both its biases.
    input_table: Vec<f32>,
    /// Layer 0's `W_hh`.
    w_hh0: Matrix,
    /// Layers 1..: `[W_ih | W_hh]` and `b_ih + b_hh`.
    joined: Vec<(Matrix, Vec<f32>)>,
    head_w: Matrix,
    head_b: Vec<f32>,
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
        let joined: Vec<(Tensor, Vec<f32>)> = model.layers[1..]
            .iter()
            .map(|l| (Tensor::cat(&[&l.w_ih, &l.w_hh], 1), to_vec(&(&l.b_ih + &l.b_hh))))
            .collect();
        let matrices: Vec<&Tensor> =
            std::iter::once(&l0.w_hh).chain(joined.iter().map(|(w, _)| w)).chain([&model.head_w]).collect();
        let shaped = |t: &Tensor| {
            let (rows, cols) = t.size2().expect("a step matrix is 2-d");
            (to_vec(t), rows as usize, cols as usize)
        };
        // All f16 or all f32: f16 only pays when the whole step reads half.
        let half: Option<Vec<Matrix>> = matrices
            .iter()
            .map(|t| {
                let (v, r, c) = shaped(t);
                Matrix::f16_exact(&v, r, c)
            })
            .collect();
        let mut matrices = half
            .unwrap_or_else(|| {
                matrices
                    .iter()
                    .map(|t| {
                        let (v, r, c) = shaped(t);
                        Matrix::f32(v, r, c)
                    })
                    .collect()
            })
            .into_iter();
        let w_hh0 = matrices.next().expect("layer 0's matrix");
        let joined = joined.into_iter().map(|(_, b)| (matrices.next().expect("a layer's matrix"), b)).collect();
        let head_w = matrices.next().expect("the head's matrix");
        Self { dims: model.dims, input_table, w_hh0, joined, head_w, head_b: to_vec(&model.head_b) }
    }

    /// Whether the step reads f16 matrices (the model's weights are all f16 values).
    pub fn reads_f16(&self) -> bool {
        self.w_hh0.is_f16()
    }

    /// The bytes of weights one step reads: every matrix once, and one row
    /// of the input table. What bounds a step's speed from below.
    pub fn bytes_per_step(&self) -> usize {
        let matrices: usize = std::iter::once(&self.w_hh0)
            .chain(self.joined.iter().map(|(m, _)| m))
            .chain([&self.head_w])
            .map(Matrix::bytes)
            .sum();
        let biases: usize = self.joined.iter().map(|(_, b)| b.len()).sum::<usize>() + self.head_b.len();
        matrices + (biases + 4 * self.dims.hidden) * 4
    }

    /// Whether this step reads a prompt faster than the batched path
    /// (libtorch's fused LSTM on every core, which reads f32 weights): when
    /// it reads f16 matrices and splits its products over two cores. For
    /// the shipped default (2×512 in f16) on a two-core Xeon, a 1,000-char
    /// prompt takes 134 ms by step against 150 ms batched, and an edit in
    /// its middle reaches the screen in 126 ms against 221 ms; in f32 the
    /// batched pass is the faster (143 ms against 247 ms for 2×512).
    pub fn reads_prompts_faster(&self) -> bool {
        helper().is_some() && self.reads_f16()
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
        let mut xh = Vec::with_capacity(2 * hd);
        for k in 0..self.dims.layers {
            let pre = match k {
                0 => {
                    let id = usize::try_from(id).expect("a character id is not negative");
                    let mut pre = self.input_table[id * 4 * hd..(id + 1) * 4 * hd].to_vec();
                    self.w_hh0.add_product(&state.h[0], &mut pre);
                    pre
                }
                _ => {
                    let (w, b) = &self.joined[k - 1];
                    xh.clear();
                    xh.extend_from_slice(&layers[k - 1].h);
                    xh.extend_from_slice(&state.h[k]);
                    w.addmv(b, &xh)
                }
            };
            let gate = |g: Gate| -> Vec<f32> {
                let mut v = g.slice(&pre, hd).to_vec();
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
            layers.push(LayerGates { i, f, g, o, c, h });
        }
        let top = &layers.last().expect("at least one layer").h;
        let logits = self.head_w.addmv(&self.head_b, top);
        StepOutput { layers, logits }
    }
}
