//! AdamW whose moments are saved beside the latest-state checkpoint, so that
//! `--resume` continues a run where it stopped instead of restarting Adam
//! from zero moments (which needs a new warm-up and still jolts the run).
//!
//! tch's optimizer (libtorch's C++ AdamW) keeps its moments out of reach, so
//! this is PyTorch's own update written out: `torch.optim.AdamW` without
//! amsgrad, betas (0.9, 0.999), eps 1e-8, after `clip_grad_norm_`. Weight
//! decay 0 is plain Adam. tests/adamw.rs holds it to libtorch's AdamW.

use crate::atomic::write_atomic;
use crate::model::checkpoint::{serialize_tensors, StoredAs};
use anyhow::{anyhow, bail, Result};
use safetensors::{Dtype, SafeTensors};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use tch::Tensor;

const BETA1: f64 = 0.9;
const BETA2: f64 = 0.999;
const EPS: f64 = 1e-8;

/// The moments file kept beside a latest-state checkpoint:
/// `m.last.safetensors` → `m.last.optim.safetensors`.
pub fn moments_path(checkpoint: &Path) -> PathBuf {
    super::beside(checkpoint, "optim")
}

pub struct AdamW {
    /// The trainable tensors, by checkpoint name (shallow copies of the variables).
    params: Vec<(String, Tensor)>,
    exp_avg: Vec<Tensor>,
    exp_avg_sq: Vec<Tensor>,
    /// Updates taken with these moments (their bias correction).
    updates: u64,
    weight_decay: f64,
}

impl AdamW {
    pub fn new(params: Vec<(String, Tensor)>, weight_decay: f64) -> Self {
        let zeros = |p: &Tensor| p.zeros_like().set_requires_grad(false);
        let exp_avg = params.iter().map(|(_, p)| zeros(p)).collect();
        let exp_avg_sq = params.iter().map(|(_, p)| zeros(p)).collect();
        Self { params, exp_avg, exp_avg_sq, updates: 0, weight_decay }
    }

    /// Updates taken with the current moments.
    pub fn updates(&self) -> u64 {
        self.updates
    }

    /// Backpropagate `loss`, clip the gradients' global norm to `max_norm`
    /// (as `torch.nn.utils.clip_grad_norm_`) and take one step at `lr`.
    pub fn backward_step_clip_norm(&mut self, loss: &Tensor, max_norm: f64, lr: f64) {
        for (_, p) in &self.params {
            let mut g = p.grad();
            if g.defined() {
                let _ = g.zero_();
            }
        }
        loss.backward();
        let _guard = tch::no_grad_guard();
        let grads: Vec<Tensor> = self.params.iter().map(|(_, p)| p.grad()).collect();
        let norms: Vec<Tensor> = grads.iter().filter(|g| g.defined()).map(|g| g.norm()).collect();
        if !norms.is_empty() {
            let total = Tensor::stack(&norms, 0).norm().double_value(&[]);
            let coef = (max_norm / (total + 1e-6)).min(1.0);
            for g in grads.iter().filter(|g| g.defined()) {
                let _ = g.shallow_clone().g_mul_scalar_(coef);
            }
        }
        self.updates += 1;
        let t = self.updates as f64;
        let (bias1, bias2) = (1.0 - BETA1.powf(t), 1.0 - BETA2.powf(t));
        for (((_, p), g), (m, v)) in self.params.iter().zip(&grads).zip(self.exp_avg.iter().zip(&self.exp_avg_sq)) {
            if !g.defined() {
                continue;
            }
            let mut p = p.shallow_clone();
            let _ = p.g_mul_scalar_(1.0 - lr * self.weight_decay);
            let _ = m.shallow_clone().g_mul_scalar_(BETA1).g_add_(&(g * (1.0 - BETA1)));
            let _ = v.shallow_clone().g_mul_scalar_(BETA2).g_add_(&(g * g * (1.0 - BETA2)));
            let denom = (v.sqrt() / bias2.sqrt()) + EPS;
            let _ = p.g_add_(&(m / denom * (-lr / bias1)));
        }
    }

    /// Write the moments for the checkpoint of `step` (atomically, as checkpoints are).
    pub fn save(&self, path: &Path, step: usize) -> Result<()> {
        let moments: Vec<(String, &Tensor)> = self
            .params
            .iter()
            .zip(self.exp_avg.iter().zip(&self.exp_avg_sq))
            .flat_map(|((name, _), (m, v))| [(format!("exp_avg.{name}"), m), (format!("exp_avg_sq.{name}"), v)])
            .collect();
        let meta =
            HashMap::from([("steps".to_string(), step.to_string()), ("updates".to_string(), self.updates.to_string())]);
        write_atomic(path, &serialize_tensors(&moments, StoredAs::F32, meta)?)
    }

    /// Take the moments saved for the checkpoint of `step`. Ok(false) when
    /// `path` does not exist (a checkpoint written without them); an error
    /// when it exists but belongs to another step or another model.
    pub fn load(&mut self, path: &Path, step: usize) -> Result<bool> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => bail!("{}: cannot read ({e})", path.display()),
        };
        let what = |e: String| anyhow!("{}: {e}", path.display());
        let st = SafeTensors::deserialize(&bytes).map_err(|e| what(format!("not a valid safetensors file ({e})")))?;
        let (_, header) = SafeTensors::read_metadata(&bytes).map_err(|e| what(e.to_string()))?;
        let meta = header.metadata().clone().unwrap_or_default();
        let field = |k: &str| meta.get(k).and_then(|s| s.parse::<u64>().ok());
        let (Some(saved_step), Some(updates)) = (field("steps"), field("updates")) else {
            bail!("{}: not an optimizer-moments file (no 'steps' and 'updates' metadata)", path.display());
        };
        if saved_step != step as u64 {
            bail!(
                "{}: the optimizer moments are of step {saved_step} but the checkpoint is of step {step}; \
                 remove the moments file to resume with fresh ones",
                path.display()
            );
        }
        let mut loaded = Vec::with_capacity(2 * self.params.len());
        for (name, p) in &self.params {
            for prefix in ["exp_avg", "exp_avg_sq"] {
                let key = format!("{prefix}.{name}");
                let view = st.tensor(&key).map_err(|_| what(format!("no tensor '{key}'")))?;
                let shape: Vec<i64> = view.shape().iter().map(|&d| d as i64).collect();
                if view.dtype() != Dtype::F32 || shape != p.size() {
                    bail!(
                        "{}: '{key}' is {:?} {:?}; the model needs F32 {:?}",
                        path.display(),
                        view.dtype(),
                        shape,
                        p.size()
                    );
                }
                let data: Vec<f32> =
                    view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
                loaded.push(Tensor::from_slice(&data).view(shape.as_slice()).to_device(p.device()));
            }
        }
        if st.len() != loaded.len() {
            bail!("{}: {} tensors, where this model has {} moments", path.display(), st.len(), loaded.len());
        }
        let mut it = loaded.into_iter();
        for (m, v) in self.exp_avg.iter_mut().zip(self.exp_avg_sq.iter_mut()) {
            *m = it.next().expect("two per parameter");
            *v = it.next().expect("two per parameter");
        }
        self.updates = updates;
        Ok(true)
    }
}
