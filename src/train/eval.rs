//! Validation loss, the two ways `gatescope eval` reports it and training
//! selects on: windowed (each window from a zero state, as nanoGPT measures)
//! and stateful (one pass, state carried).

use crate::data::{for_each_chunk, split_point};
use crate::model::CharLstm;
use crate::vocab::Vocab;
use anyhow::{anyhow, bail, Result};
use std::path::Path;
use tch::{Device, Tensor};

/// Validation loss in the two measures `gatescope eval` prints.
#[derive(Debug, Clone, Copy)]
pub struct ValLoss {
    /// Mean over consecutive windows, each from a zero state (nanoGPT-comparable).
    pub windowed: f64,
    /// Mean over one pass with the state carried across the whole split.
    pub stateful: f64,
}

/// Mean cross-entropy (nats/char) over `ids`, read in consecutive windows of
/// `window` characters that each start from a zero state. Every character
/// after the first is predicted exactly once.
pub fn windowed_loss<I: Id>(model: &CharLstm, ids: &[I], window: usize, device: Device) -> f64 {
    let _guard = tch::no_grad_guard();
    let n_pred = ids.len().saturating_sub(1);
    if n_pred == 0 {
        return f64::NAN;
    }
    let full = n_pred / window;
    let mut total = 0.0f64;
    // Full windows in batches; their targets are the inputs shifted by one.
    // At most 64 windows, fewer when long windows of a wide model would need
    // more than about 1 GB of activations (every layer's gates and outputs).
    let d = model.dims;
    let per_window = window * (6 * d.hidden * d.layers + 2 * d.vocab + d.input_width()) * 4;
    let batch = (1 << 30) / per_window.max(1);
    let batch = batch.clamp(1, 64);
    let mut w = 0;
    while w < full {
        let b = batch.min(full - w);
        let mut x = Vec::with_capacity(b * window);
        let mut y = Vec::with_capacity(b * window);
        for k in w..w + b {
            let s = k * window;
            x.extend(ids[s..s + window].iter().map(|&v| v.into()));
            y.extend(ids[s + 1..s + window + 1].iter().map(|&v| v.into()));
        }
        total += sum_loss(model, &x, &y, b, window, device);
        w += b;
    }
    let s = full * window;
    if s < n_pred {
        let len = n_pred - s;
        let (x, y) = (wide(&ids[s..s + len]), wide(&ids[s + 1..s + len + 1]));
        total += sum_loss(model, &x, &y, 1, len, device);
    }
    total / n_pred as f64
}

/// Mean cross-entropy over one pass through `ids`, carrying the state: the
/// mean of `stateful_log_probs`' values, negated.
pub fn stateful_loss<I: Id>(model: &CharLstm, ids: &[I], device: Device) -> f64 {
    let n_pred = ids.len().saturating_sub(1);
    if n_pred == 0 {
        return f64::NAN;
    }
    let mut total = 0.0;
    stateful_log_probs(model, ids, device, &mut |_, lp| total -= lp.iter().sum::<f64>());
    total / n_pred as f64
}

/// Characters per call of the fused LSTM in the stateful pass.
pub const STATEFUL_CHUNK: usize = 1000;

/// One pass through `ids` from a zero state with the state carried, in
/// chunks of `STATEFUL_CHUNK` characters: for every chunk, `each(first, lp)`
/// gets ln p(x_i | x_<i) (temperature 1, log-softmax in f64 of the f32
/// logits) for i = first + 1 .. first + 1 + lp.len(), in order, so that
/// every character after the first is predicted exactly once.
pub fn stateful_log_probs<I: Id>(model: &CharLstm, ids: &[I], device: Device, each: &mut dyn FnMut(usize, &[f64])) {
    let _guard = tch::no_grad_guard();
    let n_pred = ids.len().saturating_sub(1);
    let mut state: Option<(Tensor, Tensor)> = None;
    let mut s = 0;
    while s < n_pred {
        let len = STATEFUL_CHUNK.min(n_pred - s);
        let (x, y) = (wide(&ids[s..s + len]), wide(&ids[s + 1..s + len + 1]));
        let xs = Tensor::from_slice(&x).view([1, len as i64]).to_device(device);
        let ys = Tensor::from_slice(&y).view([len as i64, 1]).to_device(device);
        let (logits, st) = model.forward(&xs, state.as_ref().map(|(h, c)| (h, c)), 0.0, false);
        let lp = logits
            .view([len as i64, model.dims.vocab as i64])
            .to_kind(tch::Kind::Double)
            .log_softmax(-1, tch::Kind::Double)
            .gather(1, &ys, false)
            .view([-1])
            .to_device(Device::Cpu);
        let mut out = vec![0f64; len];
        lp.copy_data(&mut out, len);
        each(s, &out);
        state = Some(st);
        s += len;
    }
}

/// A character id as stored: i64 as training keeps them, or u16 / u32 for a
/// long validation text, read a window at a time.
pub trait Id: Copy + Into<i64> {}
impl Id for i64 {}
impl Id for u32 {}
impl Id for u16 {}

fn wide<I: Id>(ids: &[I]) -> Vec<i64> {
    ids.iter().map(|&v| v.into()).collect()
}

fn sum_loss(model: &CharLstm, x: &[i64], y: &[i64], b: usize, t: usize, device: Device) -> f64 {
    let xs = Tensor::from_slice(x).view([b as i64, t as i64]).to_device(device);
    let ys = Tensor::from_slice(&y[..b * t]).to_device(device);
    let (logits, _) = model.forward(&xs, None, 0.0, false);
    let loss = logits.view([-1, model.dims.vocab as i64]).cross_entropy_loss::<Tensor>(
        &ys,
        None,
        tch::Reduction::Sum,
        -100,
        0.0,
    );
    loss.double_value(&[])
}

pub fn evaluate<I: Id>(model: &CharLstm, val: &[I], window: usize, device: Device) -> ValLoss {
    ValLoss { windowed: windowed_loss(model, val, window, device), stateful: stateful_loss(model, val, device) }
}

/// Both losses over the validation split of the text file `data` (the model's
/// vocabulary; nanoGPT's split at `val_frac`). Returns the split's length too.
///
/// The file is read twice in bounded chunks, never whole: once to count its
/// characters and check them, once to keep the validation split's ids, two
/// bytes each for a vocabulary that fits (a 300 MB text keeps 60 MB).
pub fn evaluate_file(model: &CharLstm, data: &Path, val_frac: f64, window: usize) -> Result<(usize, ValLoss)> {
    if window == 0 {
        bail!("--window must be at least 1");
    }
    let vocab = &model.vocab;
    let (mut n, mut unknown) = (0usize, Vec::new());
    for_each_chunk(data, READ_CHARS, |s| {
        n += s.chars().count();
        for c in vocab.unknown_chars(s) {
            if !unknown.contains(&c) {
                unknown.push(c);
            }
        }
        Ok(())
    })?;
    if !unknown.is_empty() {
        let e = vocab.encode(&unknown.iter().collect::<String>()).expect_err("unknown characters");
        bail!("{}: the text has {e}", data.display());
    }
    let cut = split_point(n, val_frac);
    if n - cut < 2 {
        bail!("{}: the validation split has fewer than 2 characters", data.display());
    }
    let d = model.dims;
    let what = format!("evaluating a {}×{} model in windows of {window}", d.layers, d.hidden);
    let losses = if d.vocab <= 1 << 16 {
        let val: Vec<u16> = validation_ids(data, vocab, cut, n)?;
        super::guard::catch_torch(&what, || Ok(evaluate(model, &val, window, Device::Cpu)))?
    } else {
        let val: Vec<u32> = validation_ids(data, vocab, cut, n)?;
        super::guard::catch_torch(&what, || Ok(evaluate(model, &val, window, Device::Cpu)))?
    };
    Ok((n - cut, losses))
}

/// Characters handed over at a time by the bounded reader.
const READ_CHARS: usize = 1 << 16;

/// The ids of characters `cut..n` of `data` (already checked against `vocab`).
fn validation_ids<I: TryFrom<i64>>(data: &Path, vocab: &Vocab, cut: usize, n: usize) -> Result<Vec<I>> {
    let mut ids = Vec::new();
    ids.try_reserve_exact(n - cut).map_err(|_| {
        anyhow!("{}: not enough memory for a validation split of {} characters", data.display(), n - cut)
    })?;
    let mut at = 0usize;
    for_each_chunk(data, READ_CHARS, |s| {
        for c in s.chars() {
            if at >= cut {
                let id = vocab.id(c).ok_or_else(|| anyhow!("{}: changed while it was read", data.display()))?;
                ids.push(I::try_from(id).map_err(|_| anyhow!("character id {id} does not fit"))?);
            }
            at += 1;
        }
        Ok(())
    })?;
    if ids.len() != n - cut {
        bail!("{}: changed while it was read", data.display());
    }
    Ok(ids)
}
