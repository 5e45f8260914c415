//! Writing a catalogue into a checkpoint's metadata without touching its
//! tensors: the file is re-serialised from views of its own tensor bytes
//! (whatever their dtype), with one metadata key set, and replaced atomically.

use super::catalogue::{MeasuredOn, SavedCatalogue, METADATA_KEY};
use crate::atomic::write_atomic;
use crate::model::load_checkpoint;
use anyhow::{anyhow, bail, Result};
use safetensors::SafeTensors;
use std::collections::HashMap;
use std::path::Path;

/// Set metadata `key` to `value` in the safetensors file at `path`; every
/// other key and every tensor's dtype, shape and bytes stay as they were.
pub fn set_metadata(path: &Path, key: &str, value: &str) -> Result<()> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| anyhow!("{shown}: cannot read ({e})"))?;
    if !meta.is_file() {
        bail!("{shown}: not a regular file; expected a .safetensors checkpoint");
    }
    let bytes = std::fs::read(path).map_err(|e| anyhow!("{shown}: cannot read ({e})"))?;
    let invalid = |e: safetensors::SafeTensorError| anyhow!("{shown}: not a valid safetensors file ({e})");
    let st = SafeTensors::deserialize(&bytes).map_err(invalid)?;
    let (_, header) = SafeTensors::read_metadata(&bytes).map_err(invalid)?;
    let mut metadata: HashMap<String, String> = header.metadata().clone().unwrap_or_default();
    metadata.insert(key.to_string(), value.to_string());
    let out = safetensors::serialize(st.tensors(), Some(metadata))
        .map_err(|e| anyhow!("{shown}: cannot serialise the new metadata ({e})"))?;
    write_atomic(path, &out)
}

/// Store `catalogue` under the checkpoint's `cells` key.
pub fn save_catalogue(path: &Path, catalogue: &SavedCatalogue) -> Result<()> {
    set_metadata(path, METADATA_KEY, &catalogue.to_json())
}

/// Load the checkpoint at `path`, measure its catalogue over `chars` (encoded
/// as `ids`) and store it in the file. `train` calls this at the end of a run.
pub fn measure_and_save(
    path: &Path,
    chars: &[char],
    ids: &[i64],
    on: MeasuredOn,
    top: usize,
) -> Result<SavedCatalogue> {
    let ck = load_checkpoint(path)?;
    let catalogue = super::catalogue(&ck.model, chars, ids, top, &mut |_| {});
    let saved = SavedCatalogue::new(catalogue, on, top);
    save_catalogue(path, &saved)?;
    Ok(saved)
}
