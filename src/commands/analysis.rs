//! `gatescope cells`, `search` and `saturation`: check every argument (one
//! line naming the option, before any long work), run the analysis over the
//! text with progress on a terminal, and print a table or JSON.

use crate::analysis::catalogue::{FileChars, MeasuredOn};
use crate::analysis::report::{self, SearchQuery};
use crate::analysis::save::save_catalogue;
use crate::analysis::{self, encode, read_chars, read_prefix, Pads, SavedCatalogue, CATALOGUE_CHARS};
use crate::atomic::{check_destination, same_file};
use crate::cli::{AnalysisInput, CellsArgs, SaturationArgs, SearchArgs};
use crate::model::{builtin_named, Checkpoint, FileFormat};
use anyhow::{anyhow, bail, Result};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

/// `--span`'s end against the characters read (its form is checked by the parser).
fn check_span(span: &Range<usize>, n: usize) -> Result<()> {
    let (a, b) = (span.start, span.end);
    if b > n {
        bail!("--span {a}..{b} is outside the text: it reads {n} characters (--chars), so the end is at most {n}");
    }
    Ok(())
}

/// The model (with its warnings said) and each --data file's text.
struct Input {
    ck: Checkpoint,
    texts: Vec<Text>,
}

/// One file's characters read (its first N) and their ids.
struct Text {
    path: PathBuf,
    chars: Vec<char>,
    ids: Vec<i64>,
}

impl Input {
    /// The one text of `search` and `saturation` (`one_file` checked it).
    fn only(&self) -> &Text {
        &self.texts[0]
    }
}

/// `search` and `saturation` read one file: their results are positions
/// in a text, or counts that a user reads as one text's.
fn one_file(input: &AnalysisInput, command: &str) -> Result<()> {
    if input.data.len() > 1 {
        bail!(
            "--data: {command} reads one file, and {} were given (`gatescope cells` pools several)",
            input.data.len()
        );
    }
    Ok(())
}

/// The analyses keep libtorch's default threads: their pass is the batched
/// prompt path (oneDNN's LSTM over chunks of 1,024 characters), which, unlike
/// generation's batch-1 step, is faster on every core (README, Speed).
fn load(input: &AnalysisInput, before_reading: impl FnOnce(&Checkpoint) -> Result<()>) -> Result<Input> {
    let ck = input.model.load()?;
    for w in &ck.warnings {
        eprintln!("gatescope: warning: {}: {w}", ck.path.display());
    }
    before_reading(&ck)?;
    let mut texts: Vec<Text> = Vec::new();
    for path in &input.data {
        if let Some(earlier) = texts.iter().find(|t| same_file(&t.path, path)) {
            bail!(
                "--data: {} is the same file as {}, given earlier; each file is read once",
                path.display(),
                earlier.path.display()
            );
        }
        let chars = read_input(path, input.chars)?;
        let ids = encode(&ck.model.vocab, &chars, &path.display().to_string())?;
        texts.push(Text { path: path.clone(), chars, ids });
    }
    Ok(Input { ck, texts })
}

/// The characters the analysis reads of `path`: exactly --chars of them
/// (more than the file has is an error), or without it the whole file up
/// to `CATALOGUE_CHARS`, as the playground's Alt-F and `train`'s catalogue read.
fn read_input(path: &Path, chars: Option<usize>) -> Result<Vec<char>> {
    match chars {
        Some(n) => read_chars(path, n),
        None => read_prefix(path, CATALOGUE_CHARS),
    }
}

/// `--save` writes into a .safetensors checkpoint: not into a PyTorch file
/// (which the analyses read with --vocab), and only where a file can be written.
fn check_save_destination(ck: &Checkpoint) -> Result<()> {
    if ck.format == FileFormat::PyTorch {
        bail!(
            "--save: {} is a PyTorch file; the catalogue is written into a .safetensors checkpoint, \
             so convert it first (gatescope convert FILE --vocab V --out NEW.safetensors)",
            ck.path.display()
        );
    }
    check_destination(&ck.path)?;
    // The catalogue is written to a new file renamed over this name; other
    // hard links would keep the old file, so "this checkpoint" would split in two.
    use std::os::unix::fs::MetadataExt;
    let links = std::fs::metadata(&ck.path).map(|m| m.nlink()).unwrap_or(1);
    if links > 1 {
        bail!(
            "--save: {} has {links} hard links; the catalogue would reach this name only, so nothing is saved \
             (save into a copy: cp {0} NEW.safetensors)",
            ck.path.display()
        );
    }
    Ok(())
}

/// Run `work` with a progress bar over `n` characters when stderr is a terminal.
pub(super) fn with_progress<T>(n: usize, what: &str, work: impl FnOnce(&mut dyn FnMut(usize)) -> T) -> T {
    let bar = if std::io::stderr().is_terminal() { ProgressBar::new(n as u64) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template("{msg} {bar:30} {pos}/{len} characters  ETA {eta}")
            .expect("valid template")
            .progress_chars("█▉▊▋▌▍▎▏ "),
    );
    bar.set_message(what.to_string());
    let out = work(&mut |done| bar.set_position(done as u64));
    bar.finish_and_clear();
    out
}

fn print(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|_| if text.ends_with('\n') { Ok(()) } else { out.write_all(b"\n") })
        .and_then(|_| out.flush())
        .map_err(|e| anyhow!("stdout: {e}"))
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}

pub fn cells(a: CellsArgs) -> Result<()> {
    let top = a.top;
    let save_to = match (a.save, &a.input.model.checkpoint) {
        (false, _) => None,
        (true, None) => bail!(
            "--save: the built-in model has no file to write the catalogue into; \
             pass --checkpoint FILE (for example a copy of assets/default.safetensors)"
        ),
        (true, Some(p)) if builtin_named(p).is_some() => bail!(
            "--save: the built-in model '{}' has no file to write the catalogue into; \
             pass --checkpoint FILE (for example a copy of {})",
            p.display(),
            builtin_named(p).map_or("", |b| b.file)
        ),
        (true, Some(p)) => Some(p.clone()),
    };
    let pin = match (&a.pin, a.save) {
        (None, _) => Vec::new(),
        (Some(_), false) => bail!("--pin needs --save: the features to pin are stored with the catalogue"),
        (Some(list), true) => list.0.clone(),
    };
    let input = load(&a.input, |ck| if save_to.is_some() { check_save_destination(ck) } else { Ok(()) })?;
    let texts: Vec<(&[char], &[i64])> = input.texts.iter().map(|t| (&t.chars[..], &t.ids[..])).collect();
    let n = input.texts.iter().map(|t| t.chars.len()).sum();
    let cat = with_progress(n, "cells", |p| analysis::pooled_catalogue(&input.ck.model, &texts, top, p));
    if a.input.json {
        print(&report::catalogue_json(&cat))?;
    } else {
        let sources: Vec<(String, usize)> =
            input.texts.iter().map(|t| (t.path.display().to_string(), t.chars.len())).collect();
        print(&report::catalogue_text(&cat, &sources, top))?;
    }
    if let Some(path) = save_to {
        let (first, rest) = input.texts.split_first().expect("--data gives at least one file");
        let measured_on = MeasuredOn {
            file: file_name(&first.path),
            offset: 0,
            chars: first.chars.len(),
            also: rest.iter().map(|t| FileChars { file: file_name(&t.path), chars: t.chars.len() }).collect(),
        };
        if let Some(f) = pin.iter().find(|f| cat.units(**f).is_empty()) {
            let over =
                if rest.is_empty() { measured_on.file.clone() } else { format!("the {} files", input.texts.len()) };
            bail!("--pin: '{}' is constant over {over}, so it has no unit to pin; nothing was saved", f.name());
        }
        let mut saved = SavedCatalogue::new(cat, measured_on, top);
        saved.pin = pin.iter().map(|f| f.name().to_string()).collect();
        save_catalogue(&path, &saved)?;
        eprintln!("saved the catalogue in {} (metadata key 'cells')", path.display());
    }
    Ok(())
}

pub fn search(a: SearchArgs) -> Result<()> {
    let (span, state, threshold, top, layer) = (a.span, a.state, a.threshold, a.top, a.layer);
    let pads = Pads { left: a.pad_left, right: a.pad_right };
    one_file(&a.input, "search")?;
    if let Some(n) = a.input.chars {
        check_span(&span, n)?;
    }
    let input = load(&a.input, |ck| {
        let layers = ck.model.dims.layers;
        if layer >= layers {
            bail!(
                "--layer l{layer}: the model has {layers} layer{} (l0..l{})",
                if layers == 1 { "" } else { "s" },
                layers - 1
            );
        }
        Ok(())
    })?;
    let text = input.only();
    let n = text.chars.len();
    check_span(&span, n)?;
    let bits =
        with_progress(n, "search", |p| analysis::on_bits(&input.ck.model, &text.ids, layer, state, threshold, p));
    let result = analysis::search(&bits, span.clone(), pads, top);
    if a.input.json {
        print(&report::search_json(&text.chars, &result))
    } else {
        let q = SearchQuery { layer, state, threshold, span, pads, top, chars: &text.chars };
        print(&report::search_text(&q, &result))
    }
}

pub fn saturation(a: SaturationArgs) -> Result<()> {
    let (low, high) = (a.low, a.high);
    if low > high {
        bail!("--low {low} is above --high {high}");
    }
    one_file(&a.input, "saturation")?;
    let input = load(&a.input, |_| Ok(()))?;
    let text = input.only();
    let sat = with_progress(text.chars.len(), "saturation", |p| {
        analysis::saturation(&input.ck.model, &text.ids, low, high, p)
    });
    if a.input.json {
        print(&report::saturation_json(&sat))
    } else {
        print(&report::saturation_text(&sat, low, high))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_span_must_end_within_the_text() {
        assert!(check_span(&(3..10), 10).is_ok());
        assert!(check_span(&(3..11), 10).unwrap_err().to_string().contains("outside"));
    }
}
