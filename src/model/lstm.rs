//! `CharLstm`: input layer (embedding or one-hot) -> stacked LSTM -> linear head,
//! with PyTorch's tensor names, shapes and gate order.
//!
//! Two paths read the same weights:
//! - `forward`: libtorch's fused LSTM, for training, evaluation and bulk work;
//! - `Stepper::step` (step.rs): the cell written out, one character at a
//!   time, returning every gate, so the panels draw what the model really
//!   computed.
//!
//! `prime_with_gates` (prompt.rs) joins the two for long prompts: one fused
//! pass per layer, with every step's gates recorded.

use super::dropout::{Dropout, Masks};
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

/// Recurrent state: per layer, h and c as `hidden` values.
#[derive(Debug, Clone, PartialEq)]
pub struct LstmState {
    pub h: Vec<Vec<f32>>,
    pub c: Vec<Vec<f32>>,
}

impl LstmState {
    pub fn zeros(dims: &Dims) -> Self {
        Self { h: vec![vec![0.0; dims.hidden]; dims.layers], c: vec![vec![0.0; dims.hidden]; dims.layers] }
    }

    /// The state after a step: its h and c, layer by layer.
    pub fn after(layers: &[LayerGates]) -> Self {
        Self { h: layers.iter().map(|l| l.h.clone()).collect(), c: layers.iter().map(|l| l.c.clone()).collect() }
    }

    /// As `[layers, 1, hidden]` tensors, the shape libtorch's fused LSTM takes.
    pub fn stacked(&self) -> (Tensor, Tensor) {
        let stack = |v: &[Vec<f32>]| Tensor::from_slice(&v.concat()).view([v.len() as i64, 1, -1]);
        (stack(&self.h), stack(&self.c))
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

    /// Fused forward from a given state, returning only the last step's logits.
    /// Cheap priming when no gates are wanted.
    pub fn prime(&self, ids: &[i64], state: &mut LstmState) -> Vec<f32> {
        let _guard = tch::no_grad_guard();
        let x = Tensor::from_slice(ids).unsqueeze(0);
        let (h0, c0) = state.stacked();
        let (logits, (h, c)) = self.forward(&x, Some((&h0, &c0)), 0.0, false);
        for k in 0..self.dims.layers {
            state.h[k] = to_vec(&h.get(k as i64));
            state.c[k] = to_vec(&c.get(k as i64));
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
