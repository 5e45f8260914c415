//! `gatescope replay DIR --data FILE`: every argument and the whole folder
//! checked first (one line naming the option or file), then each snapshot
//! measured with a progress bar on a terminal, then tables or JSON, and the
//! SVG written atomically.

use crate::analysis::{read_chars, Feature};
use crate::atomic::{check_destination, refuse_same_file, write_atomic};
use crate::cli::ReplayArgs;
use crate::model::refuse_checkpoint;
use crate::model::snapshot::list_snapshots;
use crate::replay::{self, report};
use anyhow::{anyhow, bail, Result};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::path::Path;

pub fn replay(a: ReplayArgs) -> Result<()> {
    let features = a.feature.as_ref().map_or_else(|| Feature::ALL.to_vec(), |l| l.0.clone());
    let snapshots = list_snapshots(&a.dir)?;
    if let Some(out) = &a.svg {
        let mut inputs = vec![("--data", a.data.as_path())];
        inputs.extend(snapshots.iter().map(|s| ("the snapshot", s.path.as_path())));
        refuse_same_file(("--svg", out), &inputs)?;
        if inside(out, &a.dir) {
            bail!(
                "--svg {}: inside the snapshot folder {}, which holds snapshots only; write it elsewhere",
                out.display(),
                a.dir.display()
            );
        }
        refuse_checkpoint("--svg", out)?;
        check_destination(out)?;
    }
    let chars = read_chars(&a.data, a.chars)?;
    let bar =
        if std::io::stderr().is_terminal() { ProgressBar::new(snapshots.len() as u64) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template("replay {bar:30} {pos}/{len} snapshots  {msg}  ETA {eta}")
            .expect("valid template")
            .progress_chars("█▉▊▋▌▍▎▏ "),
    );
    let result = replay::replay(&snapshots, &chars, &a.data, &features, &mut |done, step| {
        bar.set_position(done as u64);
        bar.set_message(format!("step {step}"));
    });
    bar.finish_and_clear();
    let result = result?;
    let text = if a.json {
        result.to_json()
    } else {
        let src = report::Source {
            dir: &a.dir.display().to_string(),
            data: &a.data.display().to_string(),
            chars: chars.len(),
        };
        report::text(&result, &src)
    };
    if let Some(out) = &a.svg {
        let title = format!(
            "{} · {} snapshots · first {} characters of {}",
            name(&a.dir),
            snapshots.len(),
            chars.len(),
            name(&a.data)
        );
        write_atomic(out, replay::svg::plot(&result, &title).as_bytes())?;
        eprintln!("svg: {} features × {} snapshots in {}", features.len(), snapshots.len(), out.display());
    }
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|_| if text.ends_with('\n') { Ok(()) } else { stdout.write_all(b"\n") })
        .and_then(|_| stdout.flush())
        .map_err(|e| anyhow!("stdout: {e}"))
}

fn name(path: &Path) -> String {
    path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}

/// Whether `path` would land in the folder `dir`.
fn inside(path: &Path, dir: &Path) -> bool {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    matches!((std::fs::canonicalize(parent), std::fs::canonicalize(dir)), (Ok(p), Ok(d)) if p == d)
}
