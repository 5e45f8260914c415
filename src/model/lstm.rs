//! `CharLstm`: input layer (embedding or one-hot) -> stacked LSTM -> linear head,
//! with PyTorch's tensor names, shapes and gate order.
//!
//! Two paths read the same weights:
//! - `forward`: libtorch's fused LSTM, for training, evaluation and bulk work;
//! - `Stepper::step`: the cell written out, one character at a time, returning
//!   every gate, so the panels draw what the model really computed.
//!
//! `prime_with_gates` (prompt.rs) joins the two for long prompts: one fused
//! pass per layer, with every step's gates recorded.

use super::dropout::{Dropout, Masks};
use super::f16mv::HalfMatrix;
use super::intervene::{Intervention, Target};
use super::layout::{layer_tensor_names, Dims, Gate, EMBED_WEIGHT, HEAD_BIAS, HEAD_WEIGHT};
use crate::vocab::Vocab;
use anyhow::{bail, Result};
use tch::{Device, Kind, Tensor};

/// One LSTM layer's parameters, as PyTorch names them with suffix `_l{k}`.
pub struct LayerWeights {
    pub w_ih: Tensor,
    pub w_hh: Tensor,
    pub b_ih: Tensor,
    pub b_hh: Tensor,
}

pub struct CharLstm {
    pub vocab: Vocab,
    pub dims: Dims,
    pub embed: Option<Tensor>,
    pub layers: Vec<LayerWeights>,
    pub head_w: Tensor,
    pub head_b: Tensor,
}

/// Recurrent state: per layer, h and c as `[hidden]` tensors.
pub struct LstmState {
    pub h: Vec<Tensor>,
    pub c: Vec<Tensor>,
}

impl Clone for LstmState {
    /// Shares storage, which is safe because every path here replaces a
    /// layer's h and c with new tensors and never writes into them.
    fn clone(&self) -> Self {
        Self {
            h: self.h.iter().map(|t| t.shallow_clone()).collect(),
            c: self.c.iter().map(|t| t.shallow_clone()).collect(),
        }
    }
}

impl LstmState {
    pub fn zeros(dims: &Dims) -> Self {
        let z = || Tensor::zeros([dims.hidden as i64], (Kind::Float, Device::Cpu));
        Self { h: (0..dims.layers).map(|_| z()).collect(), c: (0..dims.layers).map(|_| z()).collect() }
    }

    /// As `[layers, 1, hidden]` tensors, the shape libtorch's fused LSTM takes.
    fn stacked(&self) -> (Tensor, Tensor) {
        (Tensor::stack(&self.h, 0).unsqueeze(1), Tensor::stack(&self.c, 0).unsqueeze(1))
    }
}

/// What one layer computed at one step, as plain data. Gates are after their
/// nonlinearity: i, f, o in (0, 1); g in (-1, 1). c and h are the states
/// after the step: c_t, and h_t = o · tanh(c_t).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LayerGates {
    pub i: Vec<f32>,
    pub f: Vec<f32>,
    pub g: Vec<f32>,
    pub o: Vec<f32>,
    pub c: Vec<f32>,
    pub h: Vec<f32>,
}

impl LayerGates {
    /// Split one row of 6*hidden floats: the four gates in PyTorch's order, then c, then h.
    fn from_row(row: &[f32], hidden: usize) -> Self {
        let gate = |g: Gate| g.slice(row, hidden).to_vec();
        Self {
            i: gate(Gate::I),
            f: gate(Gate::F),
            g: gate(Gate::G),
            o: gate(Gate::O),
            c: row[4 * hidden..5 * hidden].to_vec(),
            h: row[5 * hidden..6 * hidden].to_vec(),
        }
    }

    /// The six vectors in the order of a row: i, f, g, o, c, h.
    pub fn vectors(&self) -> [&[f32]; 6] {
        [&self.i, &self.f, &self.g, &self.o, &self.c, &self.h]
    }
}

/// Every layer's gates at one step, and the logits for the next character.
#[derive(Debug, Clone)]
pub struct StepOutput {
    pub layers: Vec<LayerGates>,
    pub logits: Vec<f32>,
}

pub fn l2_norm(v: &[f32]) -> f32 {
    v.iter().map(|x| x * x).sum::<f32>().sqrt()
}

impl LayerWeights {
    /// In the order of `layer_tensor_names` (and of libtorch's fused LSTM).
    pub fn tensors(&self) -> [&Tensor; 4] {
        [&self.w_ih, &self.w_hh, &self.b_ih, &self.b_hh]
    }
}

impl Clone for LayerWeights {
    /// Shares storage with the original (libtorch's shallow clone).
    fn clone(&self) -> Self {
        Self {
            w_ih: self.w_ih.shallow_clone(),
            w_hh: self.w_hh.shallow_clone(),
            b_ih: self.b_ih.shallow_clone(),
            b_hh: self.b_hh.shallow_clone(),
        }
    }
}

impl Clone for CharLstm {
    /// Shares storage with the original: cheap, and sees the same weights.
    fn clone(&self) -> Self {
        Self {
            vocab: self.vocab.clone(),
            dims: self.dims,
            embed: self.embed.as_ref().map(|e| e.shallow_clone()),
            layers: self.layers.clone(),
            head_w: self.head_w.shallow_clone(),
            head_b: self.head_b.shallow_clone(),
        }
    }
}

impl CharLstm {
    /// Check that the tensors fit together and make a model. Every shape is
    /// checked against the others so a bad checkpoint fails here, with the
    /// tensor's name, instead of deep inside libtorch.
    pub fn new(
        vocab: Vocab,
        embed: Option<Tensor>,
        layers: Vec<LayerWeights>,
        head_w: Tensor,
        head_b: Tensor,
    ) -> Result<Self> {
        let v = vocab.len();
        if layers.is_empty() {
            bail!("no LSTM layers (expected tensors {} ...)", layer_tensor_names(0)[0]);
        }
        let hidden = layers[0].w_hh.size().get(1).copied().unwrap_or(0) as usize;
        if hidden == 0 {
            bail!(
                "tensor '{}' has shape {:?}; expected [4*hidden, hidden]",
                layer_tensor_names(0)[1],
                layers[0].w_hh.size()
            );
        }
        let embed_width = match &embed {
            Some(e) => {
                expect_shape(EMBED_WEIGHT, e, &[v, e.size().get(1).copied().unwrap_or(0) as usize])?;
                let w = e.size()[1] as usize;
                if w == 0 {
                    bail!("tensor '{EMBED_WEIGHT}' has zero width");
                }
                w
            }
            None => 0,
        };
        let dims = Dims { vocab: v, embed: embed_width, hidden, layers: layers.len() };
        for (k, l) in layers.iter().enumerate() {
            let input = if k == 0 { dims.input_width() } else { hidden };
            let [w_ih, w_hh, b_ih, b_hh] = layer_tensor_names(k);
            expect_shape(&w_ih, &l.w_ih, &[4 * hidden, input])?;
            expect_shape(&w_hh, &l.w_hh, &[4 * hidden, hidden])?;
            expect_shape(&b_ih, &l.b_ih, &[4 * hidden])?;
            expect_shape(&b_hh, &l.b_hh, &[4 * hidden])?;
        }
        expect_shape(HEAD_WEIGHT, &head_w, &[v, hidden])?;
        expect_shape(HEAD_BIAS, &head_b, &[v])?;
        Ok(Self { vocab, dims, embed, layers, head_w, head_b })
    }

    /// A model with PyTorch's default initialisation (nn.Embedding: N(0, 1);
    /// nn.LSTM and nn.Linear: U(−1/√hidden, 1/√hidden)), drawn from libtorch's
    /// generator seeded with `seed`. Training starts from this too.
    pub fn random(vocab: Vocab, embed: usize, hidden: usize, layers: usize, seed: i64) -> Self {
        Self::try_random(vocab, embed, hidden, layers, seed).expect("a model of this size fits in memory")
    }

    /// `random`, with libtorch's errors (a size that cannot be allocated)
    /// returned rather than panicking: training builds user-sized models.
    pub fn try_random(vocab: Vocab, embed: usize, hidden: usize, layers: usize, seed: i64) -> Result<Self> {
        // libtorch's generator is global: without the lock, two test threads
        // seeding and drawing at once would interleave and get other weights.
        static SEEDED: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _lock = SEEDED.lock().unwrap_or_else(|e| e.into_inner());
        tch::manual_seed(seed);
        let (v, h) = (vocab.len() as i64, hidden as i64);
        let bound = 1.0 / (hidden as f64).sqrt();
        let opts = (Kind::Float, Device::Cpu);
        let uni = |shape: &[i64]| -> Result<Tensor> {
            Ok(Tensor::f_rand(shape, opts)?.f_mul_scalar(2.0 * bound)?.f_sub_scalar(bound)?)
        };
        // The draws' order (embedding, then each layer's four, then the head)
        // is what makes a seed give the same weights as before.
        let embed_t = if embed > 0 { Some(Tensor::f_randn([v, embed as i64], opts)?) } else { None };
        let input = if embed > 0 { embed as i64 } else { v };
        let mut layer_weights = Vec::with_capacity(layers);
        for k in 0..layers {
            let w_ih = uni(&[4 * h, if k == 0 { input } else { h }])?;
            let w_hh = uni(&[4 * h, h])?;
            let b_ih = uni(&[4 * h])?;
            let b_hh = uni(&[4 * h])?;
            layer_weights.push(LayerWeights { w_ih, w_hh, b_ih, b_hh });
        }
        let head_w = uni(&[v, h])?;
        let head_b = uni(&[v])?;
        Self::new(vocab, embed_t, layer_weights, head_w, head_b)
    }

    /// Tensors under their checkpoint names, in a stable order.
    pub fn named_tensors(&self) -> Vec<(String, &Tensor)> {
        let mut out = Vec::new();
        if let Some(e) = &self.embed {
            out.push((EMBED_WEIGHT.to_string(), e));
        }
        for (k, l) in self.layers.iter().enumerate() {
            out.extend(layer_tensor_names(k).into_iter().zip(l.tensors()));
        }
        out.push((HEAD_WEIGHT.to_string(), &self.head_w));
        out.push((HEAD_BIAS.to_string(), &self.head_b));
        out
    }

    /// Whether every weight is finite; a diverged run can save NaN weights.
    pub fn all_finite(&self) -> bool {
        self.named_tensors().iter().all(|(_, t)| t.isfinite().all().int64_value(&[]) != 0)
    }

    /// Layer 0's input for `ids`: the embedding rows, or one-hot vectors
    /// when the model has no embedding.
    pub fn input_layer(&self, ids: &Tensor) -> Tensor {
        match &self.embed {
            Some(e) => Tensor::embedding(e, ids, -1, false, false),
            None => ids.one_hot(self.dims.vocab as i64).to_kind(Kind::Float),
        }
    }

    fn flat_params(&self) -> Vec<&Tensor> {
        self.layers.iter().flat_map(LayerWeights::tensors).collect()
    }

    /// libtorch's fused LSTM over `ids: [batch, time]`. Returns logits
    /// `[batch, time, vocab]` and the final `(h, c)`, each `[layers, batch, hidden]`.
    /// `dropout` applies between layers and before the head when `train` is set.
    pub fn forward(
        &self,
        ids: &Tensor,
        state: Option<(&Tensor, &Tensor)>,
        dropout: f64,
        train: bool,
    ) -> (Tensor, (Tensor, Tensor)) {
        self.fused_on(self.input_layer(ids), state, &self.flat_params(), dropout, train)
    }

    /// libtorch's fused LSTM from a zero state over the first layer's input
    /// `x: [batch, time, input]`, given as a tensor rather than looked up
    /// from ids: attribution differentiates with respect to it. Returns the
    /// top layer's outputs `[batch, time, hidden]` (the head is left to the
    /// caller, which needs it at one step only) and the final `(h, c)`, each
    /// `[layers, batch, hidden]`. The weights are detached, so a backward
    /// pass reaches `x` alone and never the model's own tensors.
    pub fn lstm_on_input(&self, x: &Tensor) -> (Tensor, Tensor, Tensor) {
        let params: Vec<Tensor> = self.flat_params().into_iter().map(Tensor::detach).collect();
        let zeros =
            Tensor::zeros([self.dims.layers as i64, x.size()[0], self.dims.hidden as i64], (Kind::Float, x.device()));
        let params: Vec<&Tensor> = params.iter().collect();
        x.lstm(&[&zeros, &zeros], &params, true, self.dims.layers as i64, 0.0, false, false, true)
    }

    /// The training pass: `forward` from a zero state with the dropouts of
    /// `d` on (see `Dropout`). Every mask is scaled by 1/(1 − p), so the
    /// expected value is unchanged; the weight-drop masks are drawn once per
    /// call and shared by every time step.
    ///
    /// On the CPU the masks come from `dropout::Masks` (libtorch's CPU dropout
    /// draws serially, see there), so the layers run one call each with the
    /// mask applied between them, as libtorch's multi-layer LSTM does inside.
    pub fn forward_train(&self, ids: &Tensor, d: &Dropout) -> Tensor {
        if ids.device() != Device::Cpu {
            return self.forward_train_torch_masks(ids, d);
        }
        let mut masks = Masks::from_torch_generator();
        let zeros = Tensor::zeros([1, ids.size()[0], self.dims.hidden as i64], (Kind::Float, Device::Cpu));
        let mut x = self.input_layer(ids);
        if d.input > 0.0 {
            x = &x * masks.draw(&x.size(), d.input);
        }
        for l in &self.layers {
            let dropped = (d.weight > 0.0).then(|| &l.w_hh * masks.draw(&l.w_hh.size(), d.weight));
            let w_hh = dropped.as_ref().unwrap_or(&l.w_hh);
            let (out, _, _) =
                x.lstm(&[&zeros, &zeros], &[&l.w_ih, w_hh, &l.b_ih, &l.b_hh], true, 1, 0.0, true, false, true);
            // Every layer's output is dropped: between layers as nn.LSTM's
            // dropout, and after the last, before the head.
            x = if d.output > 0.0 { &out * masks.draw(&out.size(), d.output) } else { out };
        }
        x.linear(&self.head_w, Some(&self.head_b))
    }

    /// `forward_train` on other devices, where libtorch's dropout is its own
    /// fused kernel.
    fn forward_train_torch_masks(&self, ids: &Tensor, d: &Dropout) -> Tensor {
        // Without weight drop the weights are used as they are, not copied.
        let dropped: Vec<Tensor> = if d.weight > 0.0 {
            self.layers.iter().map(|l| l.w_hh.dropout(d.weight, true)).collect()
        } else {
            self.layers.iter().map(|l| l.w_hh.shallow_clone()).collect()
        };
        let params: Vec<&Tensor> =
            self.layers.iter().zip(&dropped).flat_map(|(l, w_hh)| [&l.w_ih, w_hh, &l.b_ih, &l.b_hh]).collect();
        let x = self.input_layer(ids).dropout(d.input, true);
        self.fused_on(x, None, &params, d.output, true).0
    }

    /// libtorch's fused LSTM and the head over the first layer's input
    /// `x: [batch, time, input]`.
    fn fused_on(
        &self,
        x: Tensor,
        state: Option<(&Tensor, &Tensor)>,
        params: &[&Tensor],
        dropout: f64,
        train: bool,
    ) -> (Tensor, (Tensor, Tensor)) {
        let batch = x.size()[0];
        let zeros =
            || Tensor::zeros([self.dims.layers as i64, batch, self.dims.hidden as i64], (Kind::Float, x.device()));
        let (h0, c0) = match state {
            Some((h, c)) => (h.shallow_clone(), c.shallow_clone()),
            None => (zeros(), zeros()),
        };
        let (out, h, c) = x.lstm(&[&h0, &c0], params, true, self.dims.layers as i64, dropout, train, false, true);
        let out = if train && dropout > 0.0 { out.dropout(dropout, true) } else { out };
        (out.linear(&self.head_w, Some(&self.head_b)), (h, c))
    }

    /// Pre-computed weights for fast single steps; rebuild after the weights change.
    pub fn stepper(&self) -> Stepper {
        let _guard = tch::no_grad_guard();
        let l0 = &self.layers[0];
        let bias0 = &l0.b_ih + &l0.b_hh;
        // Layer 0's input part depends only on the character: a [vocab, 4H] table.
        let all_ids = Tensor::arange(self.dims.vocab as i64, (Kind::Int64, Device::Cpu));
        let input_table = self.input_layer(&all_ids).matmul(&l0.w_ih.tr()) + &bias0;
        // Deeper layers: one product with [W_ih | W_hh] over [x ; h].
        let joined: Vec<(Tensor, Tensor)> =
            self.layers[1..].iter().map(|l| (Tensor::cat(&[&l.w_ih, &l.w_hh], 1), &l.b_ih + &l.b_hh)).collect();
        let half = HalfWeights::of(&l0.w_hh, &joined, &self.head_w);
        Stepper {
            dims: self.dims,
            head_w: self.head_w.shallow_clone(),
            head_b: self.head_b.shallow_clone(),
            input_table,
            w_hh0: l0.w_hh.shallow_clone(),
            joined,
            half,
        }
    }

    /// Fused forward from a given state, returning only the last step's logits.
    /// Cheap priming when no gates are wanted.
    pub fn prime(&self, ids: &[i64], state: &mut LstmState) -> Vec<f32> {
        let _guard = tch::no_grad_guard();
        let x = Tensor::from_slice(ids).unsqueeze(0);
        let (h0, c0) = state.stacked();
        let (logits, (h, c)) = self.forward(&x, Some((&h0, &c0)), 0.0, false);
        for k in 0..self.dims.layers {
            state.h[k] = h.get(k as i64).view([-1]);
            state.c[k] = c.get(k as i64).view([-1]);
        }
        to_vec(&logits.get(0).get(ids.len() as i64 - 1))
    }
}

/// The gates' nonlinearities over the last dimension of `[.., 4H]`, block by
/// block in `Gate::ALL`'s order.
pub(super) fn activate(pre: &Tensor) -> Tensor {
    let parts = pre.chunk(4, -1);
    let act: Vec<Tensor> = Gate::ALL
        .iter()
        .map(|g| if g.is_tanh() { parts[g.index()].tanh() } else { parts[g.index()].sigmoid() })
        .collect();
    Tensor::cat(&act, -1)
}

pub(super) fn to_vec(t: &Tensor) -> Vec<f32> {
    let t = t.contiguous();
    let n = t.numel();
    let mut v = vec![0f32; n];
    t.copy_data(&mut v, n);
    v
}

fn expect_shape(name: &str, t: &Tensor, want: &[usize]) -> Result<()> {
    let got: Vec<usize> = t.size().iter().map(|&d| d as usize).collect();
    if got != want {
        bail!("tensor '{name}' has shape {got:?}; expected {want:?}");
    }
    Ok(())
}

/// The explicit cell, one character at a time, with the weights laid out for
/// batch-1 speed (see `CharLstm::stepper`).
pub struct Stepper {
    dims: Dims,
    head_w: Tensor,
    head_b: Tensor,
    input_table: Tensor,
    w_hh0: Tensor,
    joined: Vec<(Tensor, Tensor)>,
    half: Option<HalfWeights>,
}

/// The step's matrices as f16 when every one of their values is an f16 (a
/// model stored in f16): the step then reads half the bytes (see `f16mv`).
struct HalfWeights {
    w_hh0: HalfMatrix,
    joined: Vec<HalfMatrix>,
    head_w: HalfMatrix,
}

impl HalfWeights {
    fn of(w_hh0: &Tensor, joined: &[(Tensor, Tensor)], head_w: &Tensor) -> Option<Self> {
        let half = |t: &Tensor| {
            let (rows, cols) = t.size2().ok()?;
            HalfMatrix::exact(&to_vec(t), rows as usize, cols as usize)
        };
        Some(Self {
            w_hh0: half(w_hh0)?,
            joined: joined.iter().map(|(w, _)| half(w)).collect::<Option<_>>()?,
            head_w: half(head_w)?,
        })
    }
}

/// `bias + m · x` through the f16 matrix, as a tensor.
fn half_addmv(m: &HalfMatrix, bias: &Tensor, x: &[&Tensor]) -> Tensor {
    let x: Vec<f32> = x.iter().flat_map(|t| to_vec(t)).collect();
    Tensor::from_slice(&m.addmv(&to_vec(bias), &x))
}

impl Stepper {
    /// Whether the step reads f16 matrices (the model's weights are all f16 values).
    pub fn reads_f16(&self) -> bool {
        self.half.is_some()
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
        let _guard = tch::no_grad_guard();
        let dims = self.dims;
        let mut rows = Vec::with_capacity(dims.layers + 1);
        let mut x = Tensor::new();
        for k in 0..dims.layers {
            let pre = match (&self.half, k) {
                (None, 0) => self.input_table.get(id).addmv(&self.w_hh0, &state.h[0]),
                (None, _) => {
                    let (w, b) = &self.joined[k - 1];
                    b.addmv(w, &Tensor::cat(&[&x, &state.h[k]], 0))
                }
                (Some(half), 0) => half_addmv(&half.w_hh0, &self.input_table.get(id), &[&state.h[0]]),
                (Some(half), _) => half_addmv(&half.joined[k - 1], &self.joined[k - 1].1, &[&x, &state.h[k]]),
            };
            let act = activate(&pre);
            let gates = act.chunk(4, 0);
            let gate = |g: Gate| &gates[g.index()];
            // Without interventions this is one empty check per layer: the
            // plain step's speed is unchanged.
            let edit = |target: Target, v: &Tensor| {
                for iv in active.iter().filter(|iv| iv.unit.layer == k && iv.target == target) {
                    iv.apply_to(v);
                }
            };
            if !active.is_empty() {
                // The chunks are views of `act`, so the recorded row changes too.
                Gate::ALL.iter().for_each(|&g| edit(Target::Gate(g), gate(g)));
            }
            let c = gate(Gate::F) * &state.c[k] + gate(Gate::I) * gate(Gate::G);
            if !active.is_empty() {
                edit(Target::C, &c);
            }
            let h = gate(Gate::O) * c.tanh();
            if !active.is_empty() {
                edit(Target::H, &h);
            }
            rows.push(act);
            rows.push(c.shallow_clone());
            rows.push(h.shallow_clone());
            state.c[k] = c;
            state.h[k] = h.shallow_clone();
            x = h;
        }
        rows.push(match &self.half {
            None => self.head_b.addmv(&self.head_w, &x),
            Some(half) => half_addmv(&half.head_w, &self.head_b, &[&x]),
        });
        // One copy out of libtorch per step.
        let flat = to_vec(&Tensor::cat(&rows, 0));
        let hd = dims.hidden;
        let layers = (0..dims.layers).map(|k| LayerGates::from_row(&flat[k * 6 * hd..(k + 1) * 6 * hd], hd)).collect();
        StepOutput { layers, logits: flat[dims.layers * 6 * hd..].to_vec() }
    }
}
