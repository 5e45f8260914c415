//! What a user adds to a checkpoint PyTorch wrote: the vocabulary (`--vocab
//! FILE`) and module names (`--map`), and the one-line form the playground's
//! load box takes (`FILE [--vocab V] [--map M]`).

use super::find::NameMap;
use crate::vocab::Vocab;
use anyhow::{anyhow, bail, Result};
use std::path::{Path, PathBuf};

/// How to read a checkpoint beyond its path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// A JSON array of one-character strings, or text whose sorted distinct
    /// characters are the vocabulary.
    pub vocab: Option<PathBuf>,
    pub map: NameMap,
}

impl LoadOptions {
    pub fn is_empty(&self) -> bool {
        self.vocab.is_none() && self.map.is_empty()
    }
}

/// The vocabulary in `path`: a JSON array of one-character strings in index
/// order, or else any UTF-8 text, whose sorted distinct characters (Python's
/// `sorted(set(text))`) are the vocabulary, as a PyTorch script builds it.
pub fn read_vocab_file(path: &Path) -> Result<Vocab> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| anyhow!("--vocab {shown}: cannot read ({e})"))?;
    if !meta.is_file() {
        bail!("--vocab {shown}: not a regular file");
    }
    let bytes = std::fs::read(path).map_err(|e| anyhow!("--vocab {shown}: cannot read ({e})"))?;
    let text =
        std::str::from_utf8(&bytes).map_err(|e| anyhow!("--vocab {shown}: not UTF-8 (at byte {})", e.valid_up_to()))?;
    if text.is_empty() {
        bail!("--vocab {shown}: file is empty; give the training text or a JSON array of its characters");
    }
    if let Ok(entries) = serde_json::from_str::<Vec<String>>(text) {
        let mut chars = Vec::with_capacity(entries.len());
        for (i, s) in entries.iter().enumerate() {
            let mut it = s.chars();
            match (it.next(), it.next()) {
                (Some(c), None) => chars.push(c),
                _ => bail!("--vocab {shown}: JSON entry {i} ({s:?}) is not exactly one character"),
            }
        }
        return Vocab::new(chars).map_err(|e| anyhow!("--vocab {shown}: {e}"));
    }
    Vocab::from_text(text).map_err(|e| anyhow!("--vocab {shown}: {e}"))
}

/// Parse the playground's load line: `FILE [--vocab V] [--map M]`. Words are
/// split at spaces; a path with spaces goes in single or double quotes.
pub fn parse_load_request(line: &str) -> Result<(PathBuf, LoadOptions)> {
    let words = split_words(line)?;
    let mut it = words.into_iter();
    let mut file = None;
    let mut opts = LoadOptions::default();
    while let Some(w) = it.next() {
        let mut value = |flag: &str| it.next().ok_or_else(|| anyhow!("{flag} needs a value"));
        match w.as_str() {
            "--vocab" => {
                if opts.vocab.replace(PathBuf::from(value("--vocab")?)).is_some() {
                    bail!("--vocab is given twice");
                }
            }
            "--map" => {
                if !opts.map.is_empty() {
                    bail!("--map is given twice");
                }
                opts.map = value("--map")?.parse()?;
            }
            flag if flag.starts_with("--") => {
                bail!("unknown option '{flag}'; expected FILE [--vocab FILE] [--map ...]")
            }
            _ if file.is_some() => bail!("'{w}': one checkpoint at a time (quote a path with spaces)"),
            _ => file = Some(PathBuf::from(w)),
        }
    }
    let file = file.ok_or_else(|| anyhow!("no checkpoint given; expected FILE [--vocab FILE] [--map ...]"))?;
    Ok((file, opts))
}

fn split_words(line: &str) -> Result<Vec<String>> {
    let mut words = Vec::new();
    let mut cur: Option<String> = None;
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.get_or_insert_with(String::new).push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                cur.get_or_insert_with(String::new);
            }
            (None, c) if c.is_whitespace() => words.extend(cur.take()),
            (None, c) => cur.get_or_insert_with(String::new).push(c),
        }
    }
    if let Some(q) = quote {
        bail!("unclosed {q} quote");
    }
    words.extend(cur);
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_lines_split_into_file_and_options() {
        let (f, o) = parse_load_request("  'my runs/m.pt' --vocab corpus.txt --map lstm=rnn,head=decoder ").unwrap();
        assert_eq!(f, PathBuf::from("my runs/m.pt"));
        assert_eq!(o.vocab, Some(PathBuf::from("corpus.txt")));
        assert_eq!(o.map.head.as_deref(), Some("decoder"));
        let (f, o) = parse_load_request("m.safetensors").unwrap();
        assert_eq!((f, o.is_empty()), (PathBuf::from("m.safetensors"), true));
        for bad in ["", "--vocab", "a.pt b.pt", "a.pt --vocab", "a.pt --bogus x", "'a.pt", "a.pt --map x=y"] {
            assert!(parse_load_request(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn vocab_files_are_json_arrays_or_text() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("v");
        std::fs::write(&p, r#"["b", "a", "\n"]"#).unwrap();
        assert_eq!(read_vocab_file(&p).unwrap().chars(), &['b', 'a', '\n']);
        std::fs::write(&p, "hello\n").unwrap();
        assert_eq!(read_vocab_file(&p).unwrap().chars(), &['\n', 'e', 'h', 'l', 'o']);
        std::fs::write(&p, r#"["a", "a"]"#).unwrap();
        assert!(read_vocab_file(&p).unwrap_err().to_string().contains("twice"));
        std::fs::write(&p, r#"["ab"]"#).unwrap();
        assert!(read_vocab_file(&p).unwrap_err().to_string().contains("entry 0"));
        std::fs::write(&p, b"ab\xff").unwrap();
        assert!(read_vocab_file(&p).unwrap_err().to_string().contains("byte 2"));
        std::fs::write(&p, "").unwrap();
        assert!(read_vocab_file(&p).unwrap_err().to_string().contains("empty"));
    }
}
