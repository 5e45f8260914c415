//! `gatescope score`: a text (a file or `--text`) checked against the model's
//! vocabulary, read in eval's stateful pass with a progress bar on a
//! terminal, and its score printed as text or JSON.

use super::analysis::with_progress;
use super::{source_name, Stdout};
use crate::cli::ScoreArgs;
use crate::train::guard::catch_torch;
use crate::train::score::{context, score, Score, Text};
use crate::vocab::{quoted_char, Vocab};
use anyhow::{bail, Result};

/// Characters of context shown either side of a surprising character.
const CONTEXT: usize = 12;

pub fn score_command(a: ScoreArgs) -> Result<()> {
    let ck = a.model.load()?;
    let source = source_name(a.model.checkpoint.as_deref());
    for w in &ck.warnings {
        eprintln!("gatescope: warning: {source}: {w}");
    }
    let vocab = &ck.model.vocab;
    let (text, what) = match (&a.data, &a.text) {
        (Some(path), None) => (Text::from_file(path, vocab)?, path.display().to_string()),
        (None, Some(t)) => (Text::from_str(t, vocab, "--text")?, "--text".to_string()),
        _ => bail!("give one of --data FILE and --text TEXT"),
    };
    let n = text.ids.len();
    if n < 2 {
        bail!("{what} has 1 character; score needs at least 2 (the first is read, the rest are scored)");
    }
    let d = ck.model.dims;
    let doing = format!("scoring {n} characters with a {}×{} model", d.layers, d.hidden);
    let s = catch_torch(&doing, || Ok(with_progress(n, "score", |p| score(&ck.model, &text.ids, p))))?;
    let out = if a.json {
        format!("{}\n", serde_json::to_string(&s).expect("a score serializes"))
    } else {
        score_text(&s, vocab, &text.ids)
    };
    let mut stdout = Stdout::new();
    stdout.write(out.as_bytes())?;
    stdout.flush()
}

/// The summary line, then the most surprising characters, one a line.
fn score_text(s: &Score, vocab: &Vocab, ids: &[u32]) -> String {
    let mut out = format!(
        "chars={} scored={} nats_per_char={:.4} bits_per_char={:.4}\nmost surprising (lowest log p):\n",
        s.chars, s.scored, s.nats_per_char, s.bits_per_char
    );
    out.push_str(&format!("{:>10}  {:<8} {:>9}  context\n", "t", "char", "log_p"));
    for x in &s.surprising {
        let ch = quoted_char(vocab.char(ids[x.t] as usize));
        out.push_str(&format!("{:>10}  {:<8} {:>9.4}  {}\n", x.t, ch, x.log_p, context(vocab, ids, x.t, CONTEXT)));
    }
    out
}
