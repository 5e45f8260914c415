//! `gatescope train`: batching, the optimisation loop, validation, progress
//! and checkpoints, driven by a plain `TrainConfig`.

pub mod eval;

use crate::atomic::check_destination;
use crate::data::{read_text, Corpus};
use crate::model::{load_checkpoint, save_checkpoint, CharLstm, LayerWeights};
use anyhow::{anyhow, bail, Result};
use eval::windowed_loss;
use indicatif::{ProgressBar, ProgressStyle};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tch::nn::{self, OptimizerConfig};
use tch::{Device, Tensor};

/// Where to train.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceChoice {
    /// CUDA when available, else the CPU.
    Auto,
    Cpu,
    Cuda,
}

/// Everything a training run needs; `commands` builds it from the CLI.
#[derive(Debug, Clone)]
pub struct TrainConfig {
    pub data: PathBuf,
    /// The best model by validation loss; the latest state goes to `last_path(out)`.
    pub out: PathBuf,
    pub layers: usize,
    pub hidden: usize,
    /// 0 feeds one-hot characters.
    pub embed: usize,
    pub seq: usize,
    pub batch: usize,
    /// Between layers and before the head.
    pub dropout: f64,
    /// DropConnect on every weight_hh, one mask per step (AWD-LSTM).
    pub weight_drop: f64,
    pub lr: f64,
    pub warmup: usize,
    pub min_lr_frac: f64,
    pub weight_decay: f64,
    pub grad_clip: f64,
    pub epochs: f64,
    /// Total optimizer steps; wins over `epochs`.
    pub steps: Option<usize>,
    pub val_frac: f64,
    pub eval_every: usize,
    pub checkpoint_every: usize,
    pub resume: Option<PathBuf>,
    pub device: DeviceChoice,
    pub seed: u64,
    /// libtorch threads; None leaves libtorch's default (all cores).
    pub threads: Option<usize>,
}

/// The latest-state file kept beside `--out`, for `--resume`.
pub fn last_path(out: &Path) -> PathBuf {
    let stem = out.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "model".into());
    out.with_file_name(format!("{stem}.last.safetensors"))
}

/// Learning rate at `step` of `total`: linear warm-up, then cosine decay to
/// `min_frac * peak`. `warm_from` restarts the warm-up after a resume, since
/// the optimizer's moments start again from zero.
pub fn learning_rate(a: &TrainConfig, step: usize, total: usize, warm_from: usize) -> f64 {
    let since = step - warm_from.min(step);
    let warm = if a.warmup > 0 { ((since + 1) as f64 / a.warmup as f64).min(1.0) } else { 1.0 };
    let progress = step as f64 / total.max(1) as f64;
    let cosine = 0.5 * (1.0 + (std::f64::consts::PI * progress.min(1.0)).cos());
    a.lr * warm * (a.min_lr_frac + (1.0 - a.min_lr_frac) * cosine)
}

fn device(choice: DeviceChoice) -> Result<Device> {
    Ok(match choice {
        DeviceChoice::Cpu => Device::Cpu,
        DeviceChoice::Auto => Device::cuda_if_available(),
        DeviceChoice::Cuda if tch::Cuda::is_available() => Device::Cuda(0),
        DeviceChoice::Cuda => bail!("--device cuda: no CUDA device is available"),
    })
}

/// Trainable variables named as the checkpoint names them, starting from
/// `CharLstm::random`'s initialisation (PyTorch's defaults).
fn build_model(vs: &nn::VarStore, vocab: crate::vocab::Vocab, a: &TrainConfig) -> Result<CharLstm> {
    let init = CharLstm::random(vocab.clone(), a.embed, a.hidden, a.layers, a.seed as i64);
    let root = vs.root();
    let var = |name: &str, t: &Tensor| {
        // VarStore paths use '.' as their separator, as the checkpoint names do.
        let (module, leaf) = name.rsplit_once('.').expect("checkpoint names have a module");
        root.sub(module).var_copy(leaf, t)
    };
    let named = init.named_tensors();
    let mut vars = named.iter().map(|(name, t)| var(name, t));
    let embed = (a.embed > 0).then(|| vars.next().expect("embed.weight"));
    let layers = (0..a.layers)
        .map(|_| {
            let mut next = || vars.next().expect("four tensors per layer");
            LayerWeights { w_ih: next(), w_hh: next(), b_ih: next(), b_hh: next() }
        })
        .collect();
    let (head_w, head_b) = (vars.next().expect("head.weight"), vars.next().expect("head.bias"));
    CharLstm::new(vocab, embed, layers, head_w, head_b)
}

pub fn run(mut a: TrainConfig) -> Result<()> {
    if a.layers == 0 || a.hidden == 0 || a.seq == 0 || a.batch == 0 {
        bail!("--layers, --hidden, --seq and --batch must be at least 1");
    }
    // Check every destination before any long work starts.
    let last = last_path(&a.out);
    check_destination(&a.out)?;
    check_destination(&last)?;
    if let Some(t) = a.threads {
        tch::set_num_threads(t.max(1) as i32);
    }
    let dev = device(a.device)?;
    tch::manual_seed(a.seed as i64);

    let text = read_text(&a.data)?;
    let resumed = match &a.resume {
        Some(p) => Some(load_checkpoint(p)?),
        None => None,
    };
    if let Some(ck) = &resumed {
        // The architecture is the checkpoint's; flags that contradict it would be ignored silently.
        let d = ck.model.dims;
        (a.layers, a.hidden, a.embed) = (d.layers, d.hidden, d.embed);
    }
    let corpus = Corpus::new(&text, resumed.as_ref().map(|c| c.model.vocab.clone()), a.val_frac)
        .map_err(|e| anyhow!("{}: {e}", a.data.display()))?;
    let need = a.seq + 2;
    if corpus.train.len() < need || corpus.val.len() < 2 {
        bail!(
            "{}: too short to train on: {} characters give {} for training and {} for validation; \
             need at least {} for one batch of --seq {} and 2 for validation",
            a.data.display(),
            corpus.train.len() + corpus.val.len(),
            corpus.train.len(),
            corpus.val.len(),
            need,
            a.seq
        );
    }

    let vs = nn::VarStore::new(dev);
    let model = build_model(&vs, corpus.vocab.clone(), &a)?;
    let mut start_step = 0;
    let mut best = f64::INFINITY;
    if let Some(ck) = &resumed {
        tch::no_grad(|| {
            for ((_, dst), (_, src)) in model.named_tensors().iter().zip(ck.model.named_tensors()) {
                dst.shallow_clone().copy_(src);
            }
        });
        start_step = ck.metadata.get("steps").and_then(|s| s.parse().ok()).unwrap_or(0);
        best = ck.metadata.get("best_val_loss").and_then(|s| s.parse().ok()).unwrap_or(f64::INFINITY);
    }
    let chars_per_step = a.batch * a.seq;
    let total = a
        .steps
        .unwrap_or_else(|| ((a.epochs * corpus.train.len() as f64) / chars_per_step as f64).ceil() as usize)
        .max(1);
    if start_step >= total {
        bail!(
            "{}: already trained for {start_step} of {total} steps; raise --steps or --epochs",
            a.resume.as_ref().unwrap().display()
        );
    }
    let mut opt = if a.weight_decay > 0.0 {
        nn::AdamW { wd: a.weight_decay, ..Default::default() }.build(&vs, a.lr)?
    } else {
        nn::Adam::default().build(&vs, a.lr)?
    };

    let interrupted = Arc::new(AtomicBool::new(false));
    {
        let flag = interrupted.clone();
        // A second handler can't be installed (tests call run twice); one is enough.
        let _ = ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst));
    }

    let params = model.dims.parameter_count();
    eprintln!(
        "training {}x{} (embed {}, {} parameters) on {} ({} train / {} val chars, vocab {}), {} steps from step {}, device {:?}",
        a.layers, a.hidden, a.embed, params, a.data.display(), corpus.train.len(), corpus.val.len(), corpus.vocab.len(), total, start_step, dev
    );
    let bar = progress_bar(total as u64, start_step as u64);
    let mut rng = ChaCha8Rng::seed_from_u64(a.seed ^ (start_step as u64).wrapping_mul(0x9E37_79B9));
    let started = Instant::now();
    // Throughput is timed after two warm-up steps, as the PyTorch reference times it.
    let mut timed_from: Option<(Instant, usize)> = None;
    let mut cps = f64::NAN;
    let mut smoothed = f64::NAN;
    let mut last_val = f64::NAN;
    let mut step = start_step;
    let v = corpus.vocab.len() as i64;
    let hyper = hyperparameters(&a, total);
    let meta = |step: usize, val: f64, best: f64| -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        m.insert("val_loss".into(), format!("{val:.6}"));
        m.insert("best_val_loss".into(), format!("{best:.6}"));
        m.insert("steps".into(), step.to_string());
        m.insert("hyperparameters".into(), hyper.clone());
        m.insert("trained_on".into(), a.data.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
        m.insert("data_bytes".into(), text.len().to_string());
        m.insert("tokenizer".into(), "char".into());
        m
    };

    while step < total {
        opt.set_lr(learning_rate(&a, step, total, start_step));
        let (x, y) = random_batch(&corpus.train, a.batch, a.seq, &mut rng);
        let xs = Tensor::from_slice(&x).view([a.batch as i64, a.seq as i64]).to_device(dev);
        let ys = Tensor::from_slice(&y).to_device(dev);
        let logits = model.forward_train(&xs, a.dropout, a.weight_drop);
        let loss = logits.view([-1, v]).cross_entropy_for_logits(&ys);
        opt.backward_step_clip_norm(&loss, a.grad_clip);
        let l = loss.double_value(&[]);
        if !l.is_finite() {
            bar.abandon();
            bail!(
                "training diverged at step {step} (loss {l}); try a lower --lr. The last good checkpoint is {}",
                a.out.display()
            );
        }
        smoothed = if smoothed.is_nan() { l } else { 0.98 * smoothed + 0.02 * l };
        step += 1;
        if step == start_step + 2 {
            timed_from = Some((Instant::now(), step));
        }
        cps = match timed_from {
            Some((t0, s0)) if step > s0 => (step - s0) as f64 * chars_per_step as f64 / t0.elapsed().as_secs_f64(),
            _ => f64::NAN,
        };
        let epoch = step as f64 * chars_per_step as f64 / corpus.train.len() as f64;
        bar.set_position(step as u64);
        bar.set_message(format!("epoch {epoch:.2}  loss {smoothed:.4}  val {last_val:.4}  {cps:.0} chars/s"));

        if bar.is_hidden() && step % 50 == 0 && step % a.eval_every != 0 {
            eprintln!("step {step}/{total}  epoch {epoch:.2}  train {smoothed:.4}  {cps:.0} chars/s");
        }
        let stopping = interrupted.load(Ordering::SeqCst);
        if step % a.eval_every == 0 || step == total {
            let val = windowed_loss(&model, &corpus.val, 256, dev);
            last_val = val;
            let note = if val < best {
                best = val;
                save_checkpoint(&model, &meta(step, val, best), &a.out)?;
                " (best; saved)"
            } else {
                ""
            };
            log(&bar, format!(
                "step {step}/{total}  epoch {epoch:.2}  train {smoothed:.4}  val {val:.4} nats ({:.4} bpc){note}  {cps:.0} chars/s",
                val / std::f64::consts::LN_2
            ));
        }
        if step % a.checkpoint_every == 0 || step == total || stopping {
            save_checkpoint(&model, &meta(step, last_val, best), &last)?;
        }
        if stopping {
            bar.abandon();
            eprintln!(
                "interrupted at step {step}: latest state in {} (continue with --resume {0}); best in {}",
                last.display(),
                a.out.display()
            );
            return Ok(());
        }
    }
    bar.finish();
    let cps = if cps.is_finite() { format!("{cps:.0} chars/s") } else { "too short to time".into() };
    eprintln!(
        "done: {step} steps in {:.0} s ({cps}); best validation loss {best:.4} nats/char ({:.4} bpc) in {}",
        started.elapsed().as_secs_f64(),
        best / std::f64::consts::LN_2,
        a.out.display()
    );
    catalogue_of_best(&a, corpus.train.len(), &text, &corpus.val)
}

/// Write the cell catalogue of the best model, measured on the first
/// `analysis::CATALOGUE_CHARS` validation characters, into `--out`'s metadata.
fn catalogue_of_best(a: &TrainConfig, offset: usize, text: &str, val: &[i64]) -> Result<()> {
    if !a.out.is_file() {
        return Ok(()); // no evaluation improved on a resumed run's best: nothing to describe
    }
    let n = val.len().min(crate::analysis::CATALOGUE_CHARS);
    let chars: Vec<char> = text.chars().skip(offset).take(n).collect();
    let file = a.data.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    let on = crate::analysis::catalogue::MeasuredOn { file, offset, chars: n };
    crate::analysis::save::measure_and_save(&a.out, &chars, &val[..n], on, 3)?;
    eprintln!("cell catalogue of {n} validation characters written into {} (metadata key 'cells')", a.out.display());
    Ok(())
}

fn random_batch(src: &[i64], batch: usize, seq: usize, rng: &mut ChaCha8Rng) -> (Vec<i64>, Vec<i64>) {
    let mut x = Vec::with_capacity(batch * seq);
    let mut y = Vec::with_capacity(batch * seq);
    for _ in 0..batch {
        let s = rng.random_range(0..src.len() - seq);
        x.extend_from_slice(&src[s..s + seq]);
        y.extend_from_slice(&src[s + 1..s + seq + 1]);
    }
    (x, y)
}

fn hyperparameters(a: &TrainConfig, total: usize) -> String {
    serde_json::json!({
        "layers": a.layers, "hidden": a.hidden, "embed": a.embed, "seq": a.seq, "batch": a.batch,
        "dropout": a.dropout, "weight_drop": a.weight_drop, "lr": a.lr, "warmup": a.warmup, "min_lr_frac": a.min_lr_frac,
        "weight_decay": a.weight_decay, "grad_clip": a.grad_clip, "total_steps": total,
        "val_frac": a.val_frac, "seed": a.seed,
    })
    .to_string()
}

/// A bar on a terminal; plain log lines (from `log`) when stderr is a pipe or file.
fn progress_bar(total: u64, pos: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total).with_position(pos);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} steps  {msg}  ETA {eta}")
            .expect("valid template")
            .progress_chars("█▉▊▋▌▍▎▏ "),
    );
    bar
}

fn log(bar: &ProgressBar, line: String) {
    if bar.is_hidden() {
        eprintln!("{line}");
    } else {
        bar.println(line);
    }
}
