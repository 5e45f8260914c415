//! Validation loss, the two ways `gatescope eval` reports it and training
//! selects on: windowed (each window from a zero state, as nanoGPT measures)
//! and stateful (one pass, state carried).

use crate::data::{read_text, Corpus};
use crate::model::CharLstm;
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
pub fn windowed_loss(model: &CharLstm, ids: &[i64], window: usize, device: Device) -> f64 {
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
            x.extend_from_slice(&ids[s..s + window]);
            y.extend_from_slice(&ids[s + 1..s + window + 1]);
        }
        total += sum_loss(model, &x, &y, b, window, device, None).0;
        w += b;
    }
    let s = full * window;
    if s < n_pred {
        let len = n_pred - s;
        total += sum_loss(model, &ids[s..s + len], &ids[s + 1..], 1, len, device, None).0;
    }
    total / n_pred as f64
}

/// Mean cross-entropy over one pass through `ids`, carrying the state.
pub fn stateful_loss(model: &CharLstm, ids: &[i64], device: Device) -> f64 {
    let _guard = tch::no_grad_guard();
    let n_pred = ids.len().saturating_sub(1);
    if n_pred == 0 {
        return f64::NAN;
    }
    let (mut total, mut state) = (0.0, None);
    let mut s = 0;
    while s < n_pred {
        let len = 1000.min(n_pred - s);
        let (l, st) = sum_loss(model, &ids[s..s + len], &ids[s + 1..s + len + 1], 1, len, device, state.as_ref());
        total += l;
        state = Some(st);
        s += len;
    }
    total / n_pred as f64
}

fn sum_loss(
    model: &CharLstm,
    x: &[i64],
    y: &[i64],
    b: usize,
    t: usize,
    device: Device,
    state: Option<&(Tensor, Tensor)>,
) -> (f64, (Tensor, Tensor)) {
    let xs = Tensor::from_slice(x).view([b as i64, t as i64]).to_device(device);
    let ys = Tensor::from_slice(&y[..b * t]).to_device(device);
    let (logits, st) = model.forward(&xs, state.map(|(h, c)| (h, c)), 0.0, false);
    let loss = logits.view([-1, model.dims.vocab as i64]).cross_entropy_loss::<Tensor>(
        &ys,
        None,
        tch::Reduction::Sum,
        -100,
        0.0,
    );
    (loss.double_value(&[]), st)
}

pub fn evaluate(model: &CharLstm, val: &[i64], window: usize, device: Device) -> ValLoss {
    ValLoss { windowed: windowed_loss(model, val, window, device), stateful: stateful_loss(model, val, device) }
}

/// Both losses over the validation split of the text file `data` (the model's
/// vocabulary; nanoGPT's split at `val_frac`). Returns the split's length too.
pub fn evaluate_file(model: &CharLstm, data: &Path, val_frac: f64, window: usize) -> Result<(usize, ValLoss)> {
    if window == 0 {
        bail!("--window must be at least 1");
    }
    let text = read_text(data)?;
    let corpus =
        Corpus::new(&text, Some(model.vocab.clone()), val_frac).map_err(|e| anyhow!("{}: {e}", data.display()))?;
    if corpus.val.len() < 2 {
        bail!("{}: the validation split has fewer than 2 characters", data.display());
    }
    let d = model.dims;
    let what = format!("evaluating a {}×{} model in windows of {window}", d.layers, d.hidden);
    let losses = super::guard::catch_torch(&what, || Ok(evaluate(model, &corpus.val, window, Device::Cpu)))?;
    Ok((corpus.val.len(), losses))
}
