//! Training snapshots: the checkpoints `train --snapshot-every N` writes
//! into the folder `NAME.snapshots/` beside `--out NAME.safetensors`, one
//! file `step-000250.safetensors` per step (six digits at least), each a
//! complete checkpoint whose metadata adds `step`, `train_loss` and, when
//! that step evaluated, `val_loss`.
//!
//! Reading a folder of them is a plain library call for any reader (the
//! `replay` command, the playground's worker): `list_snapshots` checks the
//! whole folder from the files' headers alone (names, one architecture, one
//! vocabulary) before anything long starts, and `load_into` copies one
//! snapshot's values into an existing model of that shape, so a reader that
//! steps through many snapshots keeps one model's memory and every handle to
//! its tensors sees the new weights.

use super::checkpoint::tensor;
use super::layout::{layer_tensor_names, EMBED_WEIGHT, HEAD_WEIGHT};
use super::lstm::CharLstm;
use crate::vocab::Vocab;
use anyhow::{anyhow, bail, Result};
use safetensors::SafeTensors;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The snapshot folder of a run whose best model goes to `out`:
/// `m.safetensors` → `m.snapshots`, beside it (as `m.last.safetensors` is).
pub fn snapshot_dir(out: &Path) -> PathBuf {
    let stem = out.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "model".into());
    out.with_file_name(format!("{stem}.snapshots"))
}

/// The file name of the snapshot of `step`: `step-000250.safetensors`.
pub fn snapshot_name(step: usize) -> String {
    format!("step-{step:06}.safetensors")
}

pub fn snapshot_path(dir: &Path, step: usize) -> PathBuf {
    dir.join(snapshot_name(step))
}

/// The step a snapshot's file name stands for; None for any other name. Only
/// the name `snapshot_name` writes counts (`step-250.safetensors` does not), so
/// no two files of a folder can claim one step.
pub fn step_of(name: &str) -> Option<usize> {
    let digits = name.strip_prefix("step-")?.strip_suffix(".safetensors")?;
    if digits.len() < 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let step: usize = digits.parse().ok()?;
    (snapshot_name(step) == name).then_some(step)
}

/// A temporary file that `atomic::write_atomic` left behind when the process
/// was killed mid-write (SIGKILL cannot be caught): never a snapshot, and not
/// a foreign file either.
pub fn is_unfinished_write(name: &str) -> bool {
    name.starts_with(".gatescope-") && name.ends_with(".tmp")
}

/// What a snapshot is a model of, from its header: every tensor's shape and
/// the vocabulary. Two snapshots of one run have equal shapes.
#[derive(Debug, Clone, PartialEq)]
pub struct Shape {
    pub layers: usize,
    pub hidden: usize,
    /// 0: one-hot input.
    pub embed: usize,
    pub vocab: Vocab,
    tensors: BTreeMap<String, Vec<usize>>,
}

impl Shape {
    fn describe(&self) -> String {
        format!("a {}×{} model (embed {}, vocabulary {})", self.layers, self.hidden, self.embed, self.vocab.len())
    }
}

/// One snapshot in a folder.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub step: usize,
    pub path: PathBuf,
    /// The header's metadata, `vocab` left out (`step`, `train_loss`, ...).
    pub metadata: BTreeMap<String, String>,
}

/// The snapshots in `dir`, in step order, after checking from their headers
/// that the folder holds one run's snapshots and nothing else: at least one
/// snapshot, no other file (an unfinished write's temporary file aside), a
/// `step` in the metadata equal to the name's, and one architecture and one
/// vocabulary throughout. Every error names the file and says what is wrong.
pub fn list_snapshots(dir: &Path) -> Result<Vec<Snapshot>> {
    let shown = dir.display();
    let meta = std::fs::metadata(dir).map_err(|e| anyhow!("{shown}: cannot read ({e})"))?;
    if !meta.is_dir() {
        bail!("{shown}: not a folder; expected a folder of snapshots (train --snapshot-every writes NAME.snapshots/)");
    }
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| anyhow!("{shown}: cannot read ({e})"))? {
        let entry = entry.map_err(|e| anyhow!("{shown}: cannot read ({e})"))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_unfinished_write(&name) {
            continue;
        }
        let path = entry.path();
        match step_of(&name) {
            Some(step) if path.is_file() => found.push((step, path)),
            _ => bail!(
                "{}: not a snapshot; a snapshot folder holds only step-NNNNNN.safetensors files of one run",
                path.display()
            ),
        }
    }
    if found.is_empty() {
        bail!("{shown}: no snapshots (step-NNNNNN.safetensors) in this folder; train --snapshot-every N writes them");
    }
    found.sort();
    let mut first: Option<(Shape, PathBuf)> = None;
    let mut out = Vec::with_capacity(found.len());
    for (step, path) in found {
        let (shape, metadata) = read_header(&path).map_err(|e| anyhow!("{}: {e}", path.display()))?;
        if let Some(s) = metadata.get("step").filter(|s| s.parse::<usize>().ok() != Some(step)) {
            bail!(
                "{}: its metadata says step {s}, its name step {step}; a renamed file is not a snapshot",
                path.display()
            );
        }
        match &first {
            None => first = Some((shape, path.clone())),
            Some((want, first_path)) => check_same(want, first_path, &shape, &path)?,
        }
        out.push(Snapshot { step, path, metadata });
    }
    Ok(out)
}

/// One run's snapshots share every tensor's shape and the vocabulary.
fn check_same(want: &Shape, want_path: &Path, got: &Shape, path: &Path) -> Result<()> {
    let (p, w) = (path.display(), want_path.display());
    if got.tensors != want.tensors {
        bail!("{p}: {}, but {w} is {}; a replay reads the snapshots of one run", got.describe(), want.describe());
    }
    if got.vocab != want.vocab {
        let what = if got.vocab.len() == want.vocab.len() {
            format!("its vocabulary has other characters than {w}'s (both {})", got.vocab.len())
        } else {
            format!("its vocabulary has {} characters, {w}'s {}", got.vocab.len(), want.vocab.len())
        };
        bail!("{p}: {what}; a replay reads the snapshots of one run");
    }
    Ok(())
}

/// The shapes and metadata of a safetensors checkpoint, from its header
/// alone (a few KB, whatever the weights weigh).
fn read_header(path: &Path) -> Result<(Shape, BTreeMap<String, String>)> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).map_err(|e| anyhow!("cannot read ({e})"))?;
    let mut len = [0u8; 8];
    f.read_exact(&mut len).map_err(|_| anyhow!("too short to be a safetensors checkpoint"))?;
    let len = u64::from_le_bytes(len);
    let file_len = f.metadata().map(|m| m.len()).unwrap_or(0);
    if len > 100_000_000 || len + 8 > file_len {
        bail!("not a safetensors checkpoint (its header length {len} does not fit the file)");
    }
    let mut header = vec![0u8; len as usize];
    f.read_exact(&mut header).map_err(|e| anyhow!("cannot read ({e})"))?;
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&header).map_err(|e| anyhow!("not a safetensors checkpoint (header: {e})"))?;
    let mut metadata = BTreeMap::new();
    let mut tensors = BTreeMap::new();
    for (name, v) in header {
        if name == "__metadata__" {
            for (k, v) in v.as_object().into_iter().flatten() {
                metadata.insert(k.clone(), v.as_str().unwrap_or_default().to_string());
            }
            continue;
        }
        let shape = v
            .get("shape")
            .and_then(|s| s.as_array())
            .and_then(|s| s.iter().map(|d| d.as_u64().map(|d| d as usize)).collect::<Option<Vec<usize>>>())
            .ok_or_else(|| anyhow!("tensor '{name}' has no shape in the header"))?;
        tensors.insert(name, shape);
    }
    let vocab = Vocab::from_json(&metadata.remove("vocab").ok_or_else(|| anyhow!("metadata key 'vocab' is missing"))?)?;
    let dim = |name: &str, i: usize| tensors.get(name).and_then(|s| s.get(i)).copied();
    let layers = (0..).take_while(|&k| tensors.contains_key(&layer_tensor_names(k)[0])).count();
    let hidden =
        dim(&layer_tensor_names(0)[1], 1).ok_or_else(|| anyhow!("missing tensor '{}'", layer_tensor_names(0)[1]))?;
    let embed = dim(EMBED_WEIGHT, 1).unwrap_or(0);
    if dim(HEAD_WEIGHT, 0) != Some(vocab.len()) {
        bail!("metadata 'vocab' has {} entries but tensor '{HEAD_WEIGHT}' does not have as many rows", vocab.len());
    }
    Ok((Shape { layers, hidden, embed, vocab, tensors }, metadata))
}

/// Copy the weights of the checkpoint at `path` into `model`'s own tensors,
/// in place and without gradients, after checking that it has `model`'s
/// tensors, shapes and vocabulary. The file is read once. Everything that
/// shares the model's storage (its clones) sees the new weights at once;
/// anything derived from the weights (a `Stepper`'s copy of them) must be made
/// again. Returns the file's metadata (`vocab` left out).
pub fn load_into(model: &CharLstm, path: &Path) -> Result<BTreeMap<String, String>> {
    let shown = path.display();
    let bytes = std::fs::read(path).map_err(|e| anyhow!("{shown}: cannot read ({e})"))?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| anyhow!("{shown}: not a valid safetensors file ({e})"))?;
    let (_, header) =
        SafeTensors::read_metadata(&bytes).map_err(|e| anyhow!("{shown}: not a valid safetensors file ({e})"))?;
    let mut metadata: BTreeMap<String, String> = header.metadata().clone().unwrap_or_default().into_iter().collect();
    let vocab = metadata.remove("vocab").ok_or_else(|| anyhow!("{shown}: metadata key 'vocab' is missing"))?;
    if Vocab::from_json(&vocab).map_err(|e| anyhow!("{shown}: {e}"))? != model.vocab {
        bail!("{shown}: its vocabulary differs from the loaded model's");
    }
    let named = model.named_tensors();
    if st.len() != named.len() {
        bail!("{shown}: {} tensors, where the loaded model has {}", st.len(), named.len());
    }
    let _guard = tch::no_grad_guard();
    for (name, dst) in named {
        let src = tensor(&st, &name).map_err(|e| anyhow!("{shown}: {e}"))?;
        if src.size() != dst.size() {
            bail!("{shown}: tensor '{name}' has shape {:?}, the loaded model's {:?}", src.size(), dst.size());
        }
        dst.shallow_clone().f_copy_(&src).map_err(|e| anyhow!("{shown}: tensor '{name}': {e}"))?;
    }
    Ok(metadata)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_only_the_written_form_counts() {
        assert_eq!(snapshot_name(250), "step-000250.safetensors");
        assert_eq!(snapshot_name(1_234_567), "step-1234567.safetensors");
        assert_eq!(step_of("step-000250.safetensors"), Some(250));
        assert_eq!(step_of("step-1234567.safetensors"), Some(1_234_567));
        for bad in ["step-250.safetensors", "step-0000250.safetensors", "step-00025x.safetensors", "m.safetensors"] {
            assert_eq!(step_of(bad), None, "{bad}");
        }
        assert_eq!(snapshot_dir(Path::new("/r/m.safetensors")), Path::new("/r/m.snapshots"));
        assert!(is_unfinished_write(".gatescope-Ab12.tmp") && !is_unfinished_write("gatescope-Ab12.tmp"));
    }
}
