//! `gatescope cells`, `search` and `saturation`: check every argument (one
//! line naming the option, before any long work), run the analysis over the
//! text with progress on a terminal, and print a table or JSON.

use crate::analysis::catalogue::MeasuredOn;
use crate::analysis::report::{self, SearchQuery};
use crate::analysis::save::save_catalogue;
use crate::analysis::{self, encode, read_chars, Feature, Pads, SavedCatalogue, State};
use crate::atomic::check_destination;
use crate::cli::{AnalysisInput, CellsArgs, SaturationArgs, SearchArgs};
use crate::model::layout::parse_layer;
use crate::model::{builtin_named, Checkpoint, FileFormat};
use anyhow::{anyhow, bail, Result};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::ops::Range;

/// A whole number of at least `min` given to `option`.
fn count(option: &str, s: &str, min: usize) -> Result<usize> {
    let t = s.trim();
    if t.starts_with('-') && t[1..].chars().all(|c| c.is_ascii_digit()) && t.len() > 1 {
        bail!("{option} {t}: must be at least {min}");
    }
    if t.is_empty() || !t.chars().all(|c| c.is_ascii_digit()) {
        bail!("{option} '{s}': expected a whole number");
    }
    let v: usize = t.parse().map_err(|_| anyhow!("{option} {t}: too large"))?;
    if v < min {
        bail!("{option} {v}: must be at least {min}");
    }
    Ok(v)
}

/// A finite number given to `option`.
fn number(option: &str, s: &str) -> Result<f64> {
    let v: f64 = s.trim().parse().map_err(|_| anyhow!("{option} '{s}': expected a number"))?;
    if !v.is_finite() {
        bail!("{option} {s}: must be a finite number");
    }
    Ok(v)
}

/// `S..E` with 0 <= S < E <= n.
fn span(s: &str, n: usize) -> Result<Range<usize>> {
    let bad = || anyhow!("--span '{s}': expected S..E (start included, end not), e.g. 120..135");
    let (a, b) = s.trim().split_once("..").ok_or_else(bad)?;
    let digits = |x: &str| !x.is_empty() && x.chars().all(|c| c.is_ascii_digit());
    if !digits(a) || !digits(b) {
        return Err(bad());
    }
    let too_large = || anyhow!("--span {s}: outside the text (it has {n} characters)");
    let (a, b): (usize, usize) = (a.parse().map_err(|_| too_large())?, b.parse().map_err(|_| too_large())?);
    if a >= b {
        bail!("--span {a}..{b} is empty; the end must be after the start");
    }
    if b > n {
        bail!("--span {a}..{b} is outside the text: it reads {n} characters (--chars), so the end is at most {n}");
    }
    Ok(a..b)
}

/// The model (with its warnings said) and the encoded first N characters.
struct Input {
    ck: Checkpoint,
    chars: Vec<char>,
    ids: Vec<i64>,
}

/// The analyses keep libtorch's default threads: their pass is the batched
/// prompt path (oneDNN's LSTM over chunks of 1,024 characters), which, unlike
/// generation's batch-1 step, is faster on every core (README, Speed).
fn load(input: &AnalysisInput, n: usize, before_reading: impl FnOnce(&Checkpoint) -> Result<()>) -> Result<Input> {
    let ck = input.model.load()?;
    for w in &ck.warnings {
        eprintln!("gatescope: warning: {}: {w}", ck.path.display());
    }
    before_reading(&ck)?;
    let chars = read_chars(&input.data, n)?;
    let ids = encode(&ck.model.vocab, &chars, &input.data.display().to_string())?;
    Ok(Input { ck, chars, ids })
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
    check_destination(&ck.path)
}

/// Run `work` with a progress bar over `n` characters when stderr is a terminal.
fn with_progress<T>(n: usize, what: &str, work: impl FnOnce(&mut dyn FnMut(usize)) -> T) -> T {
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

fn file_name(path: &std::path::Path) -> String {
    path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}

pub fn cells(a: CellsArgs) -> Result<()> {
    let n = count("--chars", &a.input.chars, 1)?;
    let top = count("--top", &a.top, 1)?;
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
        (Some(list), true) => pin_features(list)?,
    };
    let input = load(&a.input, n, |ck| if save_to.is_some() { check_save_destination(ck) } else { Ok(()) })?;
    let cat = with_progress(n, "cells", |p| analysis::catalogue(&input.ck.model, &input.chars, &input.ids, top, p));
    if a.input.json {
        print(&report::catalogue_json(&cat))?;
    } else {
        print(&report::catalogue_text(&cat, &a.input.data.display().to_string(), top))?;
    }
    if let Some(path) = save_to {
        let measured_on = MeasuredOn { file: file_name(&a.input.data), offset: 0, chars: n };
        if let Some(f) = pin.iter().find(|f| cat.units(**f).is_empty()) {
            bail!(
                "--pin: '{}' is constant over {}, so it has no unit to pin; nothing was saved",
                f.name(),
                measured_on.file
            );
        }
        let mut saved = SavedCatalogue::new(cat, measured_on, top);
        saved.pin = pin.iter().map(|f| f.name().to_string()).collect();
        save_catalogue(&path, &saved)?;
        eprintln!("saved the catalogue in {} (metadata key 'cells')", path.display());
    }
    Ok(())
}

/// `--pin`'s comma-separated feature names: known, none twice, at least one.
fn pin_features(list: &str) -> Result<Vec<Feature>> {
    let mut out: Vec<Feature> = Vec::new();
    for name in list.split(',').map(str::trim) {
        if name.is_empty() {
            bail!(
                "--pin '{list}': an empty feature name; expected names separated by commas, e.g. bracket_depth,indent"
            );
        }
        let f = Feature::from_name(name).ok_or_else(|| {
            let known: Vec<&str> = Feature::ALL.iter().map(|f| f.name()).collect();
            anyhow!("--pin: '{name}' is not a feature; one of {}", known.join(", "))
        })?;
        if out.contains(&f) {
            bail!("--pin: '{name}' is named twice");
        }
        out.push(f);
    }
    Ok(out)
}

pub fn search(a: SearchArgs) -> Result<()> {
    let n = count("--chars", &a.input.chars, 1)?;
    let span = span(&a.span, n)?;
    let state = State::from_letter(a.state.trim())
        .ok_or_else(|| anyhow!("--state '{}': expected c (tanh of the cell state) or h", a.state))?;
    let threshold = number("--threshold", &a.threshold)?;
    if !(-1.0 < threshold && threshold < 1.0) {
        bail!("--threshold {threshold}: must be between -1 and 1 (tanh(c) and h lie in that range)");
    }
    let pads = Pads { left: count("--pad-left", &a.pad_left, 0)?, right: count("--pad-right", &a.pad_right, 0)? };
    let top = count("--top", &a.top, 1)?;
    let layer = parse_layer(&a.layer).map_err(|e| anyhow!("--layer: {e}"))?;
    let input = load(&a.input, n, |ck| {
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
    let bits =
        with_progress(n, "search", |p| analysis::on_bits(&input.ck.model, &input.ids, layer, state, threshold, p));
    let result = analysis::search(&bits, span.clone(), pads, top);
    if a.input.json {
        print(&report::search_json(&input.chars, &result))
    } else {
        let q = SearchQuery { layer, state, threshold, span, pads, top, chars: &input.chars };
        print(&report::search_text(&q, &result))
    }
}

pub fn saturation(a: SaturationArgs) -> Result<()> {
    let n = count("--chars", &a.input.chars, 1)?;
    let (low, high) = (number("--low", &a.low)?, number("--high", &a.high)?);
    for (option, v) in [("--low", low), ("--high", high)] {
        if !(0.0..=1.0).contains(&v) {
            bail!("{option} {v}: must be between 0 and 1 (gates i, f, o lie in that range)");
        }
    }
    if low > high {
        bail!("--low {low} is above --high {high}");
    }
    let input = load(&a.input, n, |_| Ok(()))?;
    let sat = with_progress(n, "saturation", |p| analysis::saturation(&input.ck.model, &input.ids, low, high, p));
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
    fn numbers_and_spans_are_range_checked() {
        assert_eq!(count("--top", "3", 1).unwrap(), 3);
        for (s, needle) in [
            ("0", "at least 1"),
            ("-2", "at least 1"),
            ("x", "whole number"),
            ("", "whole number"),
            ("1.5", "whole number"),
            ("99999999999999999999999", "too large"),
        ] {
            assert!(count("--top", s, 1).unwrap_err().to_string().contains(needle), "{s}");
        }
        assert!(number("--low", "NaN").unwrap_err().to_string().contains("finite"));
        assert!(number("--low", "inf").unwrap_err().to_string().contains("finite"));
        assert_eq!(span("3..7", 10).unwrap(), 3..7);
        for (s, needle) in [
            ("7..7", "empty"),
            ("8..7", "empty"),
            ("3..11", "outside"),
            ("3-7", "expected S..E"),
            ("-1..4", "expected S..E"),
            ("3..99999999999999999999999", "outside"),
        ] {
            assert!(span(s, 10).unwrap_err().to_string().contains(needle), "{s}");
        }
    }
}
