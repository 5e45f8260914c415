//! Training text: read as UTF-8, turned into ids, split train / validation the
//! nanoGPT way (the last `val_frac` of the characters is validation).

use crate::vocab::Vocab;
use anyhow::{anyhow, bail, Result};
use std::path::Path;

pub fn read_text(path: &Path) -> Result<String> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| anyhow!("{shown}: cannot read ({e})"))?;
    if !meta.is_file() {
        bail!("{shown}: not a regular file");
    }
    let bytes = std::fs::read(path).map_err(|e| anyhow!("{shown}: cannot read ({e})"))?;
    if bytes.is_empty() {
        bail!("{shown}: file is empty");
    }
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        anyhow!("{shown}: not UTF-8 text (invalid byte 0x{:02X} at byte offset {at})", e.as_bytes()[at])
    })
}

/// Index where validation starts: `int(n * (1 - val_frac))`, as Python computes it.
pub fn split_point(n: usize, val_frac: f64) -> usize {
    (n as f64 * (1.0 - val_frac)) as usize
}

pub struct Corpus {
    pub vocab: Vocab,
    pub train: Vec<i64>,
    pub val: Vec<i64>,
}

impl Corpus {
    /// Encode `text` with `vocab` (or its own sorted characters) and split it.
    pub fn new(text: &str, vocab: Option<Vocab>, val_frac: f64) -> Result<Self> {
        let vocab = match vocab {
            Some(v) => v,
            None => Vocab::from_text(text)?,
        };
        let ids = vocab.encode(text).map_err(|e| anyhow!("the text has {e}"))?;
        let cut = split_point(ids.len(), val_frac);
        let val = ids[cut..].to_vec();
        let mut train = ids;
        train.truncate(cut);
        Ok(Self { vocab, train, val })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_matches_nanogpt_on_tinyshakespeare_size() {
        assert_eq!(split_point(1_115_394, 0.1), 1_003_854);
    }
}
