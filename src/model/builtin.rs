//! The models built into the binary, chosen by name, and the loader that
//! tells a built-in name from a checkpoint file.

use super::checkpoint::{load_checkpoint_with, parse, Checkpoint, FileFormat};
use super::pt::LoadOptions;
use anyhow::{anyhow, bail, Result};
use std::path::{Path, PathBuf};

/// A model shipped in the binary: `--checkpoint NAME` picks it.
pub struct Builtin {
    /// What `--checkpoint` and the playground's load box accept.
    pub name: &'static str,
    /// Where it lives in the source tree (and is embedded from).
    pub file: &'static str,
    /// One line for `info`.
    pub about: &'static str,
    /// None when the file was missing at build time (build.rs decides).
    bytes: Option<&'static [u8]>,
}

// include_bytes! needs a literal path, so each model has its own pair of
// consts; build.rs sets the cfg only when the file exists, so a source tree
// without the assets still builds (and says so when the model is asked for).
#[cfg(default_model)]
const DEFAULT_BYTES: Option<&[u8]> =
    Some(include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/default.safetensors")));
#[cfg(not(default_model))]
const DEFAULT_BYTES: Option<&[u8]> = None;
#[cfg(python_model)]
const PYTHON_BYTES: Option<&[u8]> =
    Some(include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/python.safetensors")));
#[cfg(not(python_model))]
const PYTHON_BYTES: Option<&[u8]> = None;

/// Every built-in model; the first is the one used when no checkpoint is given.
pub const BUILTINS: [Builtin; 2] = [
    Builtin {
        name: "default",
        file: "assets/default.safetensors",
        about: "Shakespeare's plays (data/tinyshakespeare.txt); used when no checkpoint is given",
        bytes: DEFAULT_BYTES,
    },
    Builtin {
        name: "python",
        file: "assets/python.safetensors",
        about: "Python source (CPython's standard library, then twelve PyPI packages: data/python-varied.txt)",
        bytes: PYTHON_BYTES,
    },
];

/// Where the shipped default model lives in the source tree.
pub const DEFAULT_CHECKPOINT: &str = BUILTINS[0].file;

/// The built-in model a `--checkpoint` argument names, if it does. Only a
/// bare name matches (the names have no `/` or `.`), so `./python` is always
/// the file called python.
pub fn builtin_named(arg: &Path) -> Option<&'static Builtin> {
    let s = arg.to_str()?;
    BUILTINS.iter().find(|b| b.name == s)
}

/// The names, for messages: "default, python".
pub fn builtin_names() -> String {
    BUILTINS.iter().map(|b| b.name).collect::<Vec<_>>().join(", ")
}

impl Builtin {
    /// The embedded file, or why there is none.
    pub fn bytes(&self) -> Result<&'static [u8]> {
        self.bytes.ok_or_else(|| {
            anyhow!(
                "built-in model '{}' was not built in ({} was missing at build time); pass --checkpoint FILE",
                self.name,
                self.file
            )
        })
    }

    pub fn load(&self) -> Result<Checkpoint> {
        let (model, metadata, warnings) =
            parse(self.bytes()?).map_err(|e| anyhow!("built-in model '{}' ({}): {e}", self.name, self.file))?;
        Ok(Checkpoint { path: PathBuf::from(self.file), model, metadata, warnings, format: FileFormat::Safetensors })
    }
}

/// The checkpoint at `path`, the built-in model it names, or (None) the default.
pub fn load_model(path: Option<&Path>) -> Result<Checkpoint> {
    load_model_with(path, &LoadOptions::default())
}

/// As `load_model`, a file read with `opts` (`--vocab`, `--map`); a built-in
/// model needs neither and refuses them.
pub fn load_model_with(path: Option<&Path>, opts: &LoadOptions) -> Result<Checkpoint> {
    let builtin = match path {
        None => &BUILTINS[0],
        Some(p) => match builtin_named(p) {
            Some(b) => b,
            None => return load_checkpoint_with(p, opts),
        },
    };
    if !opts.is_empty() {
        bail!(
            "--vocab and --map are for a checkpoint file, not the built-in model '{}'; give --checkpoint FILE",
            builtin.name
        );
    }
    builtin.load()
}
