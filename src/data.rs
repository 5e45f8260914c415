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

/// Call `f` on the UTF-8 text of the file at `path`, in order, at most
/// `max_chars` characters at a time, holding no more than that in memory:
/// for texts far larger than what a run keeps of them. Errors name the file
/// as `read_text`'s do, at the same byte offsets.
pub fn for_each_chunk(path: &Path, max_chars: usize, mut f: impl FnMut(&str) -> Result<()>) -> Result<()> {
    use std::io::Read;
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| anyhow!("{shown}: cannot read ({e})"))?;
    if !meta.is_file() {
        bail!("{shown}: not a regular file");
    }
    let mut file = std::fs::File::open(path).map_err(|e| anyhow!("{shown}: cannot read ({e})"))?;
    // At most 4 bytes per character; `pending` holds a character cut in two by a read.
    let block = 4 * max_chars.max(1);
    let (mut buf, mut pending, mut offset) = (vec![0u8; block], Vec::with_capacity(block + 4), 0usize);
    loop {
        let read = file.read(&mut buf).map_err(|e| anyhow!("{shown}: cannot read ({e})"))?;
        if read == 0 {
            break;
        }
        pending.extend_from_slice(&buf[..read]);
        let valid = match std::str::from_utf8(&pending) {
            Ok(_) => pending.len(),
            // A character cut by the read's end: complete it with the next read.
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(e) => {
                let at = offset + e.valid_up_to();
                bail!("{shown}: not UTF-8 text (invalid byte 0x{:02X} at byte offset {at})", pending[e.valid_up_to()]);
            }
        };
        let text = std::str::from_utf8(&pending[..valid]).expect("checked just above");
        let mut rest = text;
        while !rest.is_empty() {
            let cut = rest.char_indices().nth(max_chars).map_or(rest.len(), |(i, _)| i);
            f(&rest[..cut])?;
            rest = &rest[cut..];
        }
        offset += valid;
        pending.drain(..valid);
    }
    if offset == 0 && pending.is_empty() {
        bail!("{shown}: file is empty");
    }
    if let Some(&b) = pending.first() {
        bail!("{shown}: not UTF-8 text (invalid byte 0x{b:02X} at byte offset {offset})");
    }
    Ok(())
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
