//! `gatescope train`: batching, the optimisation loop, validation, progress
//! and checkpoints, driven by a plain `TrainConfig`.

pub mod adamw;
pub mod eval;
pub mod guard;
pub mod resume;
pub mod score;

use crate::atomic::{check_destination, refuse_same_file, StopSignals};
use crate::data::{read_text, Corpus};
use crate::model::snapshot::{is_unfinished_write, snapshot_dir, snapshot_path, step_of};
use crate::model::{
    load_checkpoint, save_checkpoint, save_checkpoint_as, CharLstm, Checkpoint, Dropout, LayerWeights, StoredAs,
};
use adamw::{moments_path, AdamW};
use anyhow::{anyhow, bail, Result};
use eval::windowed_loss;
use guard::{catch_torch, torch_error};
use indicatif::{ProgressBar, ProgressStyle};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;
use tch::nn;
use tch::{Device, Tensor};

/// Where to train.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceChoice {
    /// CUDA when available, else the CPU.
    Auto,
    Cpu,
    Cuda,
}

/// Everything a training run needs, as plain data (the command line builds it).
#[derive(Debug, Clone)]
pub struct TrainConfig {
    pub data: PathBuf,
    /// The best model by validation loss; the latest state goes to `last_path(out)`.
    pub out: PathBuf,
    /// The architecture: None takes the resumed checkpoint's, or the default;
    /// a value that contradicts a resumed checkpoint is refused.
    pub layers: Option<usize>,
    pub hidden: Option<usize>,
    /// 0 feeds one-hot characters.
    pub embed: Option<usize>,
    pub seq: usize,
    pub batch: usize,
    pub dropout: Dropout,
    pub lr: f64,
    pub warmup: usize,
    pub min_lr_frac: f64,
    pub weight_decay: f64,
    pub grad_clip: f64,
    pub epochs: f64,
    /// Total optimizer steps; wins over `epochs`.
    pub steps: Option<usize>,
    pub val_frac: f64,
    /// Steps between evaluations (0: only at the end).
    pub eval_every: usize,
    /// Steps between latest-state checkpoints (0: only at the end and when stopped).
    pub checkpoint_every: usize,
    /// Write a snapshot of the weights into `model::snapshot::snapshot_dir(out)`
    /// at step 1, every N steps and at the last step (None: no snapshots).
    pub snapshot_every: Option<usize>,
    /// How snapshots store their weights (f16 halves them).
    pub snapshot_dtype: StoredAs,
    pub resume: Option<PathBuf>,
    /// End this invocation at this step, as an interrupt would (the schedule
    /// stays that of `steps`); `--resume` continues it.
    pub stop_at: Option<usize>,
    pub device: DeviceChoice,
    pub seed: u64,
    /// libtorch threads; None leaves libtorch's default (all cores).
    pub threads: Option<usize>,
    /// The options the command line gave, by clap's ids (`batch`,
    /// `weight_drop`): with `--resume`, the others take the resumed run's
    /// stored values (`resume.rs`).
    pub given: std::collections::BTreeSet<String>,
}

/// The latest-state file kept beside `--out`, for `--resume`.
pub fn last_path(out: &Path) -> PathBuf {
    beside(out, "last")
}

/// `m.safetensors` → `m.TAG.safetensors`, in the same folder.
fn beside(path: &Path, tag: &str) -> PathBuf {
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "model".into());
    path.with_file_name(format!("{stem}.{tag}.safetensors"))
}

/// Learning rate at `step` of `total`: linear warm-up, then cosine decay to
/// `min_frac * peak`. `warm_from` restarts the warm-up after a resume
/// without the optimizer's moments, since they start again from zero.
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

/// The architecture when neither the flags nor a resumed checkpoint give it.
pub const DEFAULT_LAYERS: usize = 2;
pub const DEFAULT_HIDDEN: usize = 512;
pub const DEFAULT_EMBED: usize = 64;

/// The sizes a run trains: the flags' (or the defaults), or a resumed checkpoint's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arch {
    pub layers: usize,
    pub hidden: usize,
    pub embed: usize,
}

/// The architecture of this run. With `--resume` it is the checkpoint's,
/// and a flag that names another size is refused rather than ignored.
fn architecture(a: &TrainConfig, resumed: Option<&Checkpoint>) -> Result<Arch> {
    let Some(ck) = resumed else {
        return Ok(Arch {
            layers: a.layers.unwrap_or(DEFAULT_LAYERS),
            hidden: a.hidden.unwrap_or(DEFAULT_HIDDEN),
            embed: a.embed.unwrap_or(DEFAULT_EMBED),
        });
    };
    let d = ck.model.dims;
    for (flag, given, has) in
        [("--layers", a.layers, d.layers), ("--hidden", a.hidden, d.hidden), ("--embed", a.embed, d.embed)]
    {
        if let Some(g) = given.filter(|&g| g != has) {
            bail!(
                "{flag} {g} conflicts with --resume {}, which has {flag} {has}; the architecture comes from the \
                 checkpoint (leave {flag} out)",
                ck.path.display()
            );
        }
    }
    Ok(Arch { layers: d.layers, hidden: d.hidden, embed: d.embed })
}

/// Trainable variables named as the checkpoint names them, starting from
/// `CharLstm::random`'s initialisation (PyTorch's defaults). Every libtorch
/// call here is a fallible one: the sizes are the user's.
fn build_model(vs: &nn::VarStore, vocab: crate::vocab::Vocab, arch: Arch, seed: u64, what: &str) -> Result<CharLstm> {
    let init = CharLstm::try_random(vocab.clone(), arch.embed, arch.hidden, arch.layers, seed as i64)
        .map_err(|e| torch_error(what, e))?;
    let root = vs.root();
    let mut vars = Vec::new();
    for (name, t) in init.named_tensors() {
        // VarStore paths use '.' as their separator, as the checkpoint names do.
        let (module, leaf) = name.rsplit_once('.').expect("checkpoint names have a module");
        vars.push(root.sub(module).f_var_copy(leaf, t).map_err(|e| torch_error(what, e))?);
    }
    drop(init);
    let mut vars = vars.into_iter();
    let embed = (arch.embed > 0).then(|| vars.next().expect("embed.weight"));
    let layers = (0..arch.layers)
        .map(|_| {
            let mut next = || vars.next().expect("four tensors per layer");
            LayerWeights { w_ih: next(), w_hh: next(), b_ih: next(), b_hh: next() }
        })
        .collect();
    let (head_w, head_b) = (vars.next().expect("head.weight"), vars.next().expect("head.bias"));
    CharLstm::new(vocab, embed, layers, head_w, head_b)
}

pub fn run(mut a: TrainConfig) -> Result<()> {
    // The command line checks every range; these would otherwise divide by zero.
    if a.seq == 0 || a.batch == 0 || a.layers == Some(0) || a.hidden == Some(0) {
        bail!("--layers, --hidden, --seq and --batch must be at least 1");
    }
    // Check every destination before any long work starts.
    let last = last_path(&a.out);
    refuse_same_file(("--out", &a.out), &[("--data", &a.data)])?;
    // The best model replaces --out while the run goes on; written over the
    // file resumed from, it would stand beside moments of another step.
    if let Some(r) = &a.resume {
        refuse_same_file(("--out", &a.out), &[("--resume", r)])?;
    }
    // The run resumed from, and the options it stored, before the checks
    // that depend on them (the snapshot folder).
    let resumed = match &a.resume {
        Some(p) => Some(load_checkpoint(p)?),
        None => None,
    };
    let merged = match &resumed {
        Some(ck) => resume::merge(&mut a, ck.metadata.get("hyperparameters").map(String::as_str))?,
        None => Default::default(),
    };
    let moments = moments_path(&last);
    refuse_same_file(("--out's latest-state file", &last), &[("--data", &a.data)])?;
    refuse_same_file(("--out's optimizer-moments file", &moments), &[("--data", &a.data)])?;
    check_destination(&a.out)?;
    check_destination(&last)?;
    check_destination(&moments)?;
    if a.snapshot_every.is_some() {
        check_snapshot_dir(&snapshot_dir(&a.out), a.resume.is_some())?;
    }
    // From here on SIGINT, SIGTERM and SIGHUP end the run after the current step,
    // with the latest state written, instead of in the middle of a write.
    let signals = StopSignals::watch()?;
    if let Some(t) = a.threads {
        tch::set_num_threads(t.max(1) as i32);
    }
    let dev = device(a.device)?;
    keep_freed_memory();

    let text = read_text(&a.data)?;
    tch::manual_seed(a.seed as i64);
    let arch = architecture(&a, resumed.as_ref())?;
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
    let what = format!(
        "a {}×{} model (embed {}, vocabulary {}) at --batch {} --seq {}",
        arch.layers,
        arch.hidden,
        arch.embed,
        corpus.vocab.len(),
        a.batch,
        a.seq
    );
    // Another corpus or split: the resumed best was measured on other text.
    let keep_best = resumed.as_ref().is_some_and(|ck| {
        resume::same_validation(&ck.metadata, merged.stored_val_frac, &a.data, text.len(), a.val_frac)
    });
    let finished = catch_torch(&what, || {
        let run = Run::start(&a, arch, &corpus, resumed.as_ref().map(|ck| (ck, keep_best)), &what, dev)?;
        // Said once the run is sure to start, so that a refusal stays one line.
        merged.report();
        if resumed.is_some() && !keep_best {
            eprintln!(
                "validating on other text than the resumed run's (another --data or --val-frac): its best does not \
                 carry over, and the first evaluation writes {}",
                a.out.display()
            );
        }
        run.train(&text, &signals)
    })?;
    if !finished {
        return Ok(()); // stopped early: the catalogue describes finished runs only
    }
    catalogue_of_best(&a, corpus.train.len(), &text, &corpus.val)
}

/// The snapshot folder must be a folder (or not exist yet). A new run refuses
/// one that holds snapshots already: two runs' snapshots in one folder would
/// replay as one made-up history. A resumed run adds to its folder.
fn check_snapshot_dir(dir: &Path, resuming: bool) -> Result<()> {
    let shown = dir.display();
    match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => bail!("{shown}: cannot inspect the snapshot folder ({e})"),
        Ok(m) if !m.is_dir() => bail!("{shown}: not a folder; --snapshot-every writes its snapshots into it"),
        Ok(_) => {}
    }
    if resuming {
        return Ok(());
    }
    let entries = std::fs::read_dir(dir).map_err(|e| anyhow!("{shown}: cannot read ({e})"))?;
    if entries.flatten().any(|e| step_of(&e.file_name().to_string_lossy()).is_some()) {
        bail!(
            "{shown}: holds snapshots of an earlier run; remove the folder, choose another --out, or --resume that run"
        );
    }
    Ok(())
}

/// Remove what a run of this folder killed mid-write left behind (a
/// snapshot folder belongs to one run, so no other writer's file is taken).
/// Best effort: a file that cannot be removed is harmless to readers.
fn remove_unfinished_writes(dir: &Path) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if is_unfinished_write(&entry.file_name().to_string_lossy()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Keep memory that libtorch frees in the process, for its next allocation.
///
/// A training step allocates and frees the same large tensors every step
/// (a [64, 100, 4×512] gate buffer is 52 MB). glibc serves blocks above its
/// mmap threshold (at most 32 MB) with fresh mmaps and returns them on free,
/// and hands back a heap top beyond its trim threshold, so each step
/// page-faulted its memory in again, zeroed by the kernel: 12% of a 2×256
/// step's time in `perf` on one thread, where both settings below gave 1.3×
/// the throughput (PyTorch gains the same from them). The cost: the process
/// keeps its peak heap until it exits.
fn keep_freed_memory() {
    #[cfg(target_env = "gnu")]
    // SAFETY: mallopt takes glibc's own arena lock and changes only its
    // allocation policy for later requests; it touches no Rust memory.
    unsafe {
        libc::mallopt(libc::M_MMAP_MAX, 0);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
    }
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
    let on = crate::analysis::catalogue::MeasuredOn { file, offset, chars: n, also: Vec::new() };
    crate::analysis::save::measure_and_save(&a.out, &chars, &val[..n], on, 3)?;
    eprintln!("cell catalogue of {n} validation characters written into {} (metadata key 'cells')", a.out.display());
    Ok(())
}

/// Whether a step is one of every `n` (0: never; the end is handled apart).
fn every(step: usize, n: usize) -> bool {
    n > 0 && step.is_multiple_of(n)
}

/// chars/s for the progress line; a dash until two steps have been timed.
fn rate(cps: f64) -> String {
    if cps.is_finite() {
        format!("{cps:.0} chars/s")
    } else {
        "– chars/s".into()
    }
}

/// One training run's model, optimizer and bookkeeping.
struct Run<'a> {
    a: &'a TrainConfig,
    arch: Arch,
    corpus: &'a Corpus,
    dev: Device,
    _vs: nn::VarStore,
    model: CharLstm,
    opt: AdamW,
    start_step: usize,
    /// Where the warm-up starts: 0, or the resumed step when the run's
    /// optimizer moments were not found and start again from zero.
    warm_from: usize,
    total: usize,
    /// The best validation loss so far (a resumed run starts from its checkpoint's).
    best: f64,
    /// What this run wrote to --out: (step, validation loss); None if nothing yet.
    best_written: Option<(usize, f64)>,
}

impl<'a> Run<'a> {
    fn start(
        a: &'a TrainConfig,
        arch: Arch,
        corpus: &'a Corpus,
        // The checkpoint resumed from, and whether its best carries over.
        resumed: Option<(&Checkpoint, bool)>,
        what: &str,
        dev: Device,
    ) -> Result<Self> {
        let vs = nn::VarStore::new(dev);
        let model = build_model(&vs, corpus.vocab.clone(), arch, a.seed, what)?;
        let mut start_step = 0;
        let mut best = f64::INFINITY;
        if let Some((ck, keep_best)) = resumed {
            tch::no_grad(|| -> Result<()> {
                for ((_, dst), (_, src)) in model.named_tensors().iter().zip(ck.model.named_tensors()) {
                    dst.shallow_clone().f_copy_(src).map_err(|e| torch_error(what, e))?;
                }
                Ok(())
            })?;
            start_step = ck.metadata.get("steps").and_then(|s| s.parse().ok()).unwrap_or(0);
            if keep_best {
                best = ck.metadata.get("best_val_loss").and_then(|s| s.parse().ok()).unwrap_or(f64::INFINITY);
            }
        }
        let chars_per_step = a.batch * a.seq;
        let total = a
            .steps
            .unwrap_or_else(|| ((a.epochs * corpus.train.len() as f64) / chars_per_step as f64).ceil() as usize)
            .max(1);
        if start_step >= total {
            bail!(
                "{}: already trained for {start_step} of {total} steps; raise --steps or --epochs",
                a.resume.as_ref().map(|p| p.display().to_string()).unwrap_or_default()
            );
        }
        if let Some(n) = a.snapshot_every.filter(|&n| n > total) {
            let from = if a.steps.is_some() { "--steps" } else { "--epochs" };
            bail!(
                "--snapshot-every {n} is more than the run's {total} steps ({from}); it would snapshot only the first \
                 and last steps, so give at most {total}"
            );
        }
        if let Some(stop) = a.stop_at.filter(|&s| s <= start_step || s > total) {
            bail!("--stop-at {stop} is outside this run, which goes from step {start_step} to {total}");
        }
        let mut opt = AdamW::new(
            model.named_tensors().into_iter().map(|(n, t)| (n, t.shallow_clone())).collect(),
            a.weight_decay,
        );
        let mut warm_from = 0;
        if let Some((ck, _)) = resumed {
            let moments = moments_path(&ck.path);
            if !opt.load(&moments, start_step)? {
                eprintln!(
                    "{}: no optimizer moments beside the checkpoint; they start from zero, with a new warm-up",
                    moments.display()
                );
                warm_from = start_step;
            }
        }
        Ok(Self { a, arch, corpus, dev, _vs: vs, model, opt, start_step, warm_from, total, best, best_written: None })
    }

    /// What --out holds after this run, for the closing and error messages.
    fn best_note(&self) -> String {
        let out = self.a.out.display();
        match self.best_written {
            Some((step, val)) => format!("best (validation {val:.4} at step {step}) in {out}"),
            None if self.a.resume.is_some() => {
                format!("this run did not improve on the resumed best ({:.4}), so it did not write {out}", self.best)
            }
            None => format!("no evaluation has run yet, so {out} was not written"),
        }
    }

    fn diverged(&self, step: usize, why: String) -> anyhow::Error {
        let kept = match self.best_written {
            Some((s, v)) => {
                format!("the best checkpoint of this run is {} (step {s}, validation {v:.4})", self.a.out.display())
            }
            None => "this run wrote no checkpoint".into(),
        };
        anyhow!("training diverged at step {step} ({why}); try a lower --lr; {kept}")
    }

    /// Train to the end (true) or until stopped (false).
    fn train(mut self, text: &str, signals: &StopSignals) -> Result<bool> {
        let (a, corpus, dev, total) = (self.a, self.corpus, self.dev, self.total);
        let last = last_path(&a.out);
        let moments = moments_path(&last);
        let params = self.model.dims.parameter_count();
        eprintln!(
            "training {}x{} (embed {}, {} parameters) on {} ({} train / {} val chars, vocab {}), {} steps from step {}, device {:?}",
            self.arch.layers, self.arch.hidden, self.arch.embed, params, a.data.display(), corpus.train.len(),
            corpus.val.len(), corpus.vocab.len(), total, self.start_step, dev
        );
        let start_step = self.start_step;
        let snapshots = a.snapshot_every.map(|_| snapshot_dir(&a.out));
        if let Some(dir) = &snapshots {
            match std::fs::create_dir(dir) {
                Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                    bail!("{}: cannot create the snapshot folder ({e})", dir.display())
                }
                _ => check_destination(&snapshot_path(dir, total))?,
            }
            remove_unfinished_writes(dir);
        }
        let mut snapshots_written = 0usize;
        let bar = progress_bar(total as u64, start_step as u64);
        let started = Instant::now();
        let chars_per_step = a.batch * a.seq;
        // Throughput is timed after two warm-up steps, as the PyTorch reference times it.
        let mut timed_from: Option<(Instant, usize)> = None;
        let mut cps = f64::NAN;
        let mut smoothed = f64::NAN;
        let mut last_val = f64::NAN;
        let mut step = start_step;
        let v = corpus.vocab.len() as i64;
        let hyper = hyperparameters(a, self.arch, total);
        let meta = |step: usize, val: f64, best: f64| -> BTreeMap<String, String> {
            let mut m = BTreeMap::new();
            m.insert("val_loss".into(), format!("{val:.6}"));
            m.insert("best_val_loss".into(), format!("{best:.6}"));
            m.insert("steps".into(), step.to_string());
            m.insert("hyperparameters".into(), hyper.clone());
            m.insert(
                "trained_on".into(),
                a.data.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            );
            m.insert("data_bytes".into(), text.len().to_string());
            m.insert("tokenizer".into(), "char".into());
            m
        };

        while step < total {
            // The batch and the dropout masks of a step depend on the seed
            // and the step alone, so a resumed run draws what it would have.
            let mut rng = ChaCha8Rng::seed_from_u64(a.seed);
            rng.set_stream(step as u64);
            let (x, y) = random_batch(&corpus.train, a.batch, a.seq, &mut rng)?;
            tch::manual_seed((rng.random::<u64>() >> 1) as i64);
            let xs = Tensor::from_slice(&x).view([a.batch as i64, a.seq as i64]).to_device(dev);
            let ys = Tensor::from_slice(&y).to_device(dev);
            drop((x, y));
            let logits = self.model.forward_train(&xs, &a.dropout);
            let loss = logits.view([-1, v]).cross_entropy_for_logits(&ys);
            self.opt.backward_step_clip_norm(&loss, a.grad_clip, learning_rate(a, step, total, self.warm_from));
            let l = loss.double_value(&[]);
            if !l.is_finite() {
                bar.abandon();
                return Err(self.diverged(step, format!("loss {l}")));
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
            let val_shown = if last_val.is_finite() { format!("{last_val:.4}") } else { "–".into() };
            bar.set_position(step as u64);
            bar.set_message(format!("epoch {epoch:.2}  loss {smoothed:.4}  val {val_shown}  {}", rate(cps)));

            if bar.is_hidden() && step.is_multiple_of(50) && !every(step, a.eval_every) {
                eprintln!("step {step}/{total}  epoch {epoch:.2}  train {smoothed:.4}  {}", rate(cps));
            }
            let stopping = match signals.received() {
                Some(sig) => Some(format!("interrupted at step {step} ({})", sig.name())),
                None => (a.stop_at == Some(step)).then(|| format!("stopped at step {step} (--stop-at)")),
            };
            let mut evaluated = None;
            if every(step, a.eval_every) || step == total {
                let val = windowed_loss(&self.model, &corpus.val, 256, dev);
                if !val.is_finite() {
                    bar.abandon();
                    return Err(self.diverged(step, format!("validation loss {val}")));
                }
                last_val = val;
                evaluated = Some(val);
                let note = if val < self.best {
                    self.best = val;
                    save_checkpoint(&self.model, &meta(step, val, self.best), &a.out)?;
                    self.best_written = Some((step, val));
                    " (best; saved)"
                } else {
                    ""
                };
                log(&bar, format!(
                    "step {step}/{total}  epoch {epoch:.2}  train {smoothed:.4}  val {val:.4} nats ({:.4} bpc){note}  {}",
                    val / std::f64::consts::LN_2, rate(cps)
                ));
            }
            if let (Some(dir), Some(n)) = (&snapshots, a.snapshot_every) {
                if step == 1 || every(step, n) || step == total {
                    if !self.model.all_finite() {
                        bar.abandon();
                        return Err(self.diverged(step, "the weights are no longer finite".into()));
                    }
                    let mut m = meta(step, last_val, self.best);
                    m.remove("val_loss");
                    if !self.best.is_finite() {
                        m.remove("best_val_loss");
                    }
                    m.insert("step".into(), step.to_string());
                    m.insert("train_loss".into(), format!("{l:.6}"));
                    if let Some(val) = evaluated {
                        m.insert("val_loss".into(), format!("{val:.6}"));
                    }
                    save_checkpoint_as(&self.model, &m, &snapshot_path(dir, step), a.snapshot_dtype)?;
                    snapshots_written += 1;
                }
            }
            if every(step, a.checkpoint_every) || step == total || stopping.is_some() {
                // A step can leave NaN weights behind a finite loss: never save those.
                if !self.model.all_finite() {
                    bar.abandon();
                    return Err(self.diverged(step, "the weights are no longer finite".into()));
                }
                // The moments first: a checkpoint never stands beside moments
                // older than itself (resume checks the step both carry).
                self.opt.save(&moments, step)?;
                save_checkpoint(&self.model, &meta(step, last_val, self.best), &last)?;
            }
            if let Some(why) = stopping {
                bar.abandon();
                if let Some(dir) = &snapshots {
                    eprintln!("{snapshots_written} snapshots written into {}", dir.display());
                }
                // After SIGHUP the terminal may be gone; the state is written either way.
                let _ = writeln!(
                    std::io::stderr(),
                    "{why}: latest state in {} (continue with --resume {0}); {}",
                    last.display(),
                    self.best_note()
                );
                return Ok(false);
            }
        }
        bar.finish();
        if let Some(dir) = &snapshots {
            eprintln!("{snapshots_written} snapshots written into {}", dir.display());
        }
        let cps = if cps.is_finite() { format!("{cps:.0} chars/s") } else { "too short to time".into() };
        eprintln!("done: {step} steps in {:.0} s ({cps}); {}", started.elapsed().as_secs_f64(), self.best_note());
        Ok(true)
    }
}

fn random_batch(src: &[i64], batch: usize, seq: usize, rng: &mut ChaCha8Rng) -> Result<(Vec<i64>, Vec<i64>)> {
    // A failed allocation would abort the process: reserve fallibly, as the tensors are.
    let n = batch * seq;
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for v in [&mut x, &mut y] {
        v.try_reserve_exact(n)
            .map_err(|_| anyhow!("not enough memory for a batch of --batch {batch} × --seq {seq}"))?;
    }
    for _ in 0..batch {
        let s = rng.random_range(0..src.len() - seq);
        x.extend_from_slice(&src[s..s + seq]);
        y.extend_from_slice(&src[s + 1..s + seq + 1]);
    }
    Ok((x, y))
}

/// The metadata key `hyperparameters`: the architecture, the schedule's
/// length and the training options (`resume::options`, which a resumed run
/// reads back).
fn hyperparameters(a: &TrainConfig, arch: Arch, total: usize) -> String {
    let mut m = resume::options(a);
    m.insert("layers".into(), arch.layers.into());
    m.insert("hidden".into(), arch.hidden.into());
    m.insert("embed".into(), arch.embed.into());
    m.insert("total_steps".into(), total.into());
    serde_json::Value::Object(m).to_string()
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
