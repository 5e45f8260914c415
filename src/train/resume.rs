//! A resumed run continues the run it resumes: the training options its
//! checkpoint stored (metadata key `hyperparameters`) apply unless the
//! command line gives them again. Without this, `--resume` with fewer
//! options than the first invocation would silently train on with the
//! defaults: another batch, another learning rate, another schedule.

use super::TrainConfig;
use crate::model::StoredAs;
use anyhow::{anyhow, Result};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// The options a checkpoint stores, by their name on the command line
/// (`--batch`) and in the metadata (`batch`); `steps` is stored as
/// `total_steps`, the schedule's length.
const STORED: &[(&str, &str)] = &[
    ("seq", "seq"),
    ("batch", "batch"),
    ("dropout", "dropout"),
    ("weight-drop", "weight_drop"),
    ("input-dropout", "input_dropout"),
    ("lr", "lr"),
    ("warmup", "warmup"),
    ("min-lr-frac", "min_lr_frac"),
    ("weight-decay", "weight_decay"),
    ("grad-clip", "grad_clip"),
    ("steps", "total_steps"),
    ("val-frac", "val_frac"),
    ("seed", "seed"),
    ("eval-every", "eval_every"),
    ("checkpoint-every", "checkpoint_every"),
    ("snapshot-every", "snapshot_every"),
    ("snapshot-dtype", "snapshot_dtype"),
];

/// What resuming did to the options: the ones taken from the checkpoint,
/// and the ones the command line gave that differ from it, each as
/// `--name value` (with the stored value for the latter); and the resumed
/// run's validation fraction, for `same_validation`.
#[derive(Debug, Default, PartialEq)]
pub struct Merged {
    pub taken: Vec<String>,
    pub changed: Vec<String>,
    pub stored_val_frac: Option<f64>,
}

impl Merged {
    /// Say what resuming took and what the command line changed.
    pub fn report(&self) {
        if !self.taken.is_empty() {
            eprintln!("resuming with the run's own {}", self.taken.join(" "));
        }
        if !self.changed.is_empty() {
            eprintln!("resuming with options changed from the run's: {}", self.changed.join(", "));
        }
    }
}

/// Take the checkpoint's stored options into `a` where the command line
/// did not give them (`a.given`, by clap's argument ids: `batch`,
/// `weight_drop`). `--epochs` given counts as giving `--steps`. A
/// checkpoint without stored options (not written by `train`) leaves `a`
/// as it is.
pub fn merge(a: &mut TrainConfig, hyperparameters: Option<&str>) -> Result<Merged> {
    let Some(json) = hyperparameters else { return Ok(Merged::default()) };
    let stored: Map<String, Value> = serde_json::from_str(json).map_err(|e| {
        anyhow!("--resume: the checkpoint's training options (metadata 'hyperparameters') do not parse: {e}")
    })?;
    let mut merged = Merged { stored_val_frac: stored.get("val_frac").and_then(Value::as_f64), ..Merged::default() };
    for &(flag, key) in STORED {
        let Some(v) = stored.get(key) else { continue };
        let id = flag.replace('-', "_");
        let given = a.given.contains(&id) || (flag == "steps" && a.given.contains("epochs"));
        let bad = || anyhow!("--resume: the checkpoint's stored {key} is not a valid --{flag}: {v}");
        let now = options(a).remove(key).filter(|v| !v.is_null() || flag == "snapshot-every");
        if given {
            if now.as_ref().is_some_and(|n| n != v) {
                merged.changed.push(format!("--{flag} {} (the run's {v})", show(now.as_ref())));
            }
            continue;
        }
        set(a, flag, v).ok_or_else(bad)?;
        if now.as_ref() != Some(v) {
            merged.taken.push(format!("--{flag} {v}"));
        }
    }
    Ok(merged)
}

/// Whether this run validates on the text the resumed checkpoint's best
/// was measured on: the same file name and size (metadata `trained_on`,
/// `data_bytes`) and the same `val_frac` as the run stored (`merge` read
/// it; None when it stored none). When it does not (another corpus, or
/// another split), the stored best says nothing of this run's validation
/// loss, and the run starts its best afresh.
pub fn same_validation(
    metadata: &BTreeMap<String, String>,
    stored_val_frac: Option<f64>,
    data: &Path,
    data_bytes: usize,
    val_frac: f64,
) -> bool {
    let name = data.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    metadata.get("trained_on") == Some(&name)
        && metadata.get("data_bytes") == Some(&data_bytes.to_string())
        && stored_val_frac.is_none_or(|f| f == val_frac)
}

fn show(v: Option<&Value>) -> String {
    v.map_or("none".into(), |v| v.to_string())
}

/// The training options of `a` as the metadata stores them (by metadata
/// key; `total_steps` is `--steps` when given). `hyperparameters` writes
/// these, with the architecture and the schedule's length.
pub(super) fn options(a: &TrainConfig) -> Map<String, Value> {
    let mut m = Map::new();
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_string(), v);
    };
    put("seq", a.seq.into());
    put("batch", a.batch.into());
    put("dropout", a.dropout.output.into());
    put("weight_drop", a.dropout.weight.into());
    put("input_dropout", a.dropout.input.into());
    put("lr", a.lr.into());
    put("warmup", a.warmup.into());
    put("min_lr_frac", a.min_lr_frac.into());
    put("weight_decay", a.weight_decay.into());
    put("grad_clip", a.grad_clip.into());
    put("total_steps", a.steps.into());
    put("val_frac", a.val_frac.into());
    put("seed", a.seed.into());
    put("eval_every", a.eval_every.into());
    put("checkpoint_every", a.checkpoint_every.into());
    put("snapshot_every", a.snapshot_every.into());
    put("snapshot_dtype", (if a.snapshot_dtype == StoredAs::F16 { "f16" } else { "f32" }).into());
    m
}

/// Set the option from the stored value; None when it is of the wrong kind
/// or out of the option's range.
fn set(a: &mut TrainConfig, flag: &str, v: &Value) -> Option<()> {
    let count = || v.as_u64().and_then(|n| usize::try_from(n).ok());
    let unit = || v.as_f64().filter(|x| (0.0..1.0).contains(x));
    let positive = || v.as_f64().filter(|x| x.is_finite() && *x > 0.0);
    match flag {
        "seq" => a.seq = count().filter(|&n| n > 0)?,
        "batch" => a.batch = count().filter(|&n| n > 0)?,
        "dropout" => a.dropout.output = unit()?,
        "weight-drop" => a.dropout.weight = unit()?,
        "input-dropout" => a.dropout.input = unit()?,
        "lr" => a.lr = positive()?,
        "warmup" => a.warmup = count()?,
        "min-lr-frac" => a.min_lr_frac = v.as_f64().filter(|x| (0.0..=1.0).contains(x))?,
        "weight-decay" => a.weight_decay = v.as_f64().filter(|x| x.is_finite() && *x >= 0.0)?,
        "grad-clip" => a.grad_clip = positive()?,
        "steps" => a.steps = Some(count().filter(|&n| n > 0)?),
        "val-frac" => a.val_frac = v.as_f64().filter(|x| *x > 0.0 && *x < 1.0)?,
        "seed" => a.seed = v.as_u64()?,
        "eval-every" => a.eval_every = count()?,
        "checkpoint-every" => a.checkpoint_every = count()?,
        // null: the run wrote no snapshots.
        "snapshot-every" => a.snapshot_every = if v.is_null() { None } else { Some(count().filter(|&n| n > 0)?) },
        "snapshot-dtype" => {
            a.snapshot_dtype = match v.as_str()? {
                "f16" => StoredAs::F16,
                "f32" => StoredAs::F32,
                _ => return None,
            }
        }
        _ => return None,
    }
    Some(())
}
