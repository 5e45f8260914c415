//! `gatescope explain`: check every argument against the model (one line
//! naming the option), explain the unit at the step, print text or JSON, and
//! write the memory page with `--html`.

use super::source_name;
use crate::analysis::encode;
use crate::analysis::explain::explain as explain_unit;
use crate::analysis::explain_text::explanation_text;
use crate::atomic::{check_destination, refuse_same_file, refuse_stdout, write_atomic};
use crate::cli::ExplainArgs;
use crate::export::{writes_page, WritesMeta};
use crate::model::refuse_checkpoint;
use anyhow::{anyhow, bail, Result};
use std::io::Write;

pub fn explain(a: ExplainArgs) -> Result<()> {
    if let Some(out) = &a.html {
        let mut inputs = Vec::new();
        if let Some(c) = &a.model.checkpoint {
            inputs.push(("--checkpoint", c.as_path()));
        }
        if let Some(v) = &a.model.source.vocab {
            inputs.push(("--vocab", v.as_path()));
        }
        refuse_same_file(("--html", out), &inputs)?;
        refuse_stdout("--html", out)?;
        refuse_checkpoint("--html", out)?;
        check_destination(out)?;
    }
    if a.prompt.is_empty() {
        bail!("--prompt is empty; give the text the model reads");
    }
    let ck = a.model.load()?;
    let source = source_name(a.model.checkpoint.as_deref());
    for w in &ck.warnings {
        eprintln!("gatescope: warning: {source}: {w}");
    }
    let model = &ck.model;
    let d = model.dims;
    let unit = a.unit.check(&d).map_err(|e| anyhow!("--unit: {e}"))?;
    let chars: Vec<char> = a.prompt.chars().collect();
    let ids = encode(&model.vocab, &chars, "--prompt")?;
    let last = chars.len() - 1;
    let step = a.step.unwrap_or(last);
    if step > last {
        bail!(
            "--step {step} is past the prompt's last character: it has {} characters, so steps 0..{last}",
            chars.len()
        );
    }
    let e = explain_unit(model, &ids, step, unit, a.top)?;
    let text = if a.json { e.to_json() + "\n" } else { explanation_text(&e, &chars, a.top) };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).and_then(|_| out.flush()).map_err(|e| anyhow!("stdout: {e}"))?;
    if let Some(path) = &a.html {
        let meta = WritesMeta { checkpoint: source, unit, step, half_life: e.memory.half_life };
        write_atomic(path, writes_page(&chars, &e.memory.writes, &meta).as_bytes())?;
        eprintln!("html: the writes into {unit} at step {step} over {} characters in {}", chars.len(), path.display());
    }
    Ok(())
}
