//! The models built into the binary, and the loader that falls back to them.

use super::checkpoint::{load_checkpoint_with, parse, Checkpoint};
use super::pt::LoadOptions;
use anyhow::{anyhow, bail, Result};
use std::path::{Path, PathBuf};

/// Where the shipped model lives in the source tree (and is embedded from).
pub const DEFAULT_CHECKPOINT: &str = "assets/default.safetensors";

#[cfg(default_model)]
const EMBEDDED: Option<&[u8]> =
    Some(include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/default.safetensors")));
#[cfg(not(default_model))]
const EMBEDDED: Option<&[u8]> = None;

/// The checkpoint at `path`, or the model built into the binary.
pub fn load_model(path: Option<&Path>) -> Result<Checkpoint> {
    load_model_with(path, &LoadOptions::default())
}

/// The checkpoint at `path` read with `opts` (`--vocab`, `--map`), or the
/// model built into the binary, which needs neither.
pub fn load_model_with(path: Option<&Path>, opts: &LoadOptions) -> Result<Checkpoint> {
    if let Some(p) = path {
        return load_checkpoint_with(p, opts);
    }
    if !opts.is_empty() {
        bail!("--vocab and --map are for a checkpoint file; give --checkpoint FILE");
    }
    let bytes = EMBEDDED.ok_or_else(|| {
        anyhow!(
            "no default model was built in ({DEFAULT_CHECKPOINT} was missing at build time); pass --checkpoint FILE"
        )
    })?;
    let (model, metadata, warnings) = parse(bytes).map_err(|e| anyhow!("built-in {DEFAULT_CHECKPOINT}: {e}"))?;
    Ok(Checkpoint { path: PathBuf::from(DEFAULT_CHECKPOINT), model, metadata, warnings })
}
