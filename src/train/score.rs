//! The score of a text: how well a model predicts it, read from a zero state
//! with the state carried (eval's stateful pass), character by character.
//!
//! For a text x_0 .. x_{N-1}, log_p[i-1] = ln p(x_i | x_<i) at temperature 1
//! for i = 1 .. N-1 (x_0 is read but not predicted); nats_per_char is the
//! mean of −log_p, bits_per_char that divided by ln 2. The most surprising
//! characters are the ten with the lowest log p, ties to the earlier offset.

use super::eval::stateful_log_probs;
use crate::data::for_each_chunk;
use crate::model::CharLstm;
use crate::vocab::{escape_char, Vocab};
use anyhow::{anyhow, bail, Result};
use serde::Serialize;
use std::path::Path;
use tch::Device;

/// How many of the most surprising characters a score lists.
pub const SURPRISING: usize = 10;

/// A character's offset, the character and its log p.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Surprise {
    pub t: usize,
    pub char: String,
    pub log_p: f64,
}

/// A text's score, in the order `score --json` prints its fields.
#[derive(Debug, Clone, Serialize)]
pub struct Score {
    pub chars: usize,
    pub scored: usize,
    pub nats_per_char: f64,
    pub bits_per_char: f64,
    pub log_p: Vec<f64>,
    pub surprising: Vec<Surprise>,
}

/// A text's characters as ids, each checked against the vocabulary.
pub struct Text {
    pub ids: Vec<u32>,
}

impl Text {
    /// `text` given on the command line as `what` (e.g. "--text").
    pub fn from_str(text: &str, vocab: &Vocab, what: &str) -> Result<Self> {
        if text.is_empty() {
            bail!("{what} is empty; give at least 2 characters (the first is read, the rest are scored)");
        }
        let mut ids = Vec::new();
        push_ids(&mut ids, text, vocab, what)?;
        Ok(Self { ids })
    }

    /// The UTF-8 file at `path`, read in bounded chunks (never whole): its
    /// ids are kept, four bytes a character.
    pub fn from_file(path: &Path, vocab: &Vocab) -> Result<Self> {
        let shown = path.display().to_string();
        let mut ids = Vec::new();
        for_each_chunk(path, 1 << 16, |s| push_ids(&mut ids, s, vocab, &shown))?;
        Ok(Self { ids })
    }
}

/// Append the ids of `s` to `ids`, or fail naming the first unknown
/// character and its offset (in characters from the start of the text).
fn push_ids(ids: &mut Vec<u32>, s: &str, vocab: &Vocab, what: &str) -> Result<()> {
    ids.try_reserve(s.len()).map_err(|_| anyhow!("{what}: not enough memory for the text's characters"))?;
    for c in s.chars() {
        let at = ids.len();
        let id = vocab.id(c).ok_or_else(|| {
            anyhow!("{what}: character {} at offset {at} is not in the model's vocabulary", escape_char(c))
        })?;
        ids.push(u32::try_from(id).map_err(|_| anyhow!("character id {id} does not fit"))?);
    }
    Ok(())
}

/// Score `ids` (at least 2) through `model`; `progress(characters read)`
/// after every chunk of the pass.
pub fn score(model: &CharLstm, ids: &[u32], progress: &mut dyn FnMut(usize)) -> Score {
    let n = ids.len();
    let mut log_p = Vec::with_capacity(n.saturating_sub(1));
    stateful_log_probs(model, ids, Device::Cpu, &mut |first, lp| {
        log_p.extend_from_slice(lp);
        progress(first + lp.len() + 1);
    });
    let nats = -log_p.iter().sum::<f64>() / log_p.len() as f64;
    let surprising = most_surprising(&log_p, SURPRISING)
        .into_iter()
        .map(|i| Surprise { t: i + 1, char: model.vocab.char(ids[i + 1] as usize).to_string(), log_p: log_p[i] })
        .collect();
    Score {
        chars: n,
        scored: log_p.len(),
        nats_per_char: nats,
        bits_per_char: nats / std::f64::consts::LN_2,
        log_p,
        surprising,
    }
}

/// Indices of the `k` lowest values, lowest first, ties to the lower index
/// (a NaN counts as the lowest: it is the most suspicious).
pub fn most_surprising(log_p: &[f64], k: usize) -> Vec<usize> {
    let key = |v: f64| if v.is_nan() { f64::NEG_INFINITY } else { v };
    let mut order: Vec<usize> = (0..log_p.len()).collect();
    // A stable sort keeps equal values in offset order.
    order.sort_by(|&a, &b| key(log_p[a]).total_cmp(&key(log_p[b])));
    order.truncate(k);
    order
}

/// Up to `width` characters either side of offset `t` of `ids`, with the
/// character at `t` in brackets: `ere I co[m]e, MEN`. Newlines, tabs,
/// carriage returns and backslashes are escaped (`\n`, `\t`, `\r`, `\\`,
/// other control characters `\u{..}`), so the context stays on one line.
pub fn context(vocab: &Vocab, ids: &[u32], t: usize, width: usize) -> String {
    let part = |range: std::ops::Range<usize>| -> String {
        ids[range].iter().map(|&id| escaped(vocab.char(id as usize))).collect()
    };
    let (a, b) = (t.saturating_sub(width), (t + 1 + width).min(ids.len()));
    format!("{}[{}]{}", part(a..t), part(t..t + 1), part(t + 1..b))
}

/// One character as it reads on a single line of text.
pub fn escaped(c: char) -> String {
    match c {
        '\n' => "\\n".into(),
        '\t' => "\\t".into(),
        '\r' => "\\r".into(),
        '\\' => "\\\\".into(),
        c if c.is_control() => format!("\\u{{{:x}}}", c as u32),
        c => c.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lowest_come_first_and_ties_go_to_the_earlier_offset() {
        let lp = [-1.0, -3.0, -0.5, -3.0, f64::NAN, -2.0];
        assert_eq!(most_surprising(&lp, 4), vec![4, 1, 3, 5]);
        assert_eq!(most_surprising(&lp[..2], 10), vec![1, 0]);
    }

    #[test]
    fn escapes_keep_the_context_on_one_line() {
        assert_eq!(escaped('\n'), "\\n");
        assert_eq!(escaped('\u{1b}'), "\\u{1b}");
        assert_eq!(escaped('\\'), "\\\\");
        assert_eq!(escaped('é'), "é");
    }
}
