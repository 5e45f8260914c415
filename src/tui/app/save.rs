//! Saving a run: the transcript (`.txt`) and its trace (`.jsonl`, the
//! `generate --trace` format), at a path the user confirms in the save box.

use crate::generate::Step;
use anyhow::{bail, Result};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};

/// The default transcript name in `dir`, named by the local time, with a
/// suffix if a file of that name (or its trace) exists.
pub fn default_path(dir: &Path) -> PathBuf {
    let stamp = timestamp();
    let mut n = 1;
    loop {
        let base = if n == 1 { format!("gatescope-{stamp}") } else { format!("gatescope-{stamp}-{n}") };
        let (t, j) = (dir.join(format!("{base}.txt")), dir.join(format!("{base}.jsonl")));
        if !t.exists() && !j.exists() {
            return t;
        }
        n += 1;
    }
}

/// What the user typed in the save box, as the transcript's path: `~/`
/// expanded, relative to `base`, `.txt` added when there is no extension,
/// and a folder taken to mean "the default name in that folder".
pub fn resolve(typed: &str, base: &Path) -> Result<PathBuf> {
    let typed = typed.trim();
    if typed.is_empty() {
        bail!("type a file name");
    }
    let mut path = base.join(expand_home(typed));
    if path.is_dir() || typed.ends_with('/') {
        path = default_path(&path);
    }
    if path.extension().is_none() {
        path.set_extension("txt");
    }
    if path.extension().is_some_and(|e| e == "jsonl") {
        bail!("{} would be the trace's own name; name the transcript (.txt)", path.display());
    }
    Ok(path)
}

/// `~/rest` to `$HOME/rest`.
pub fn expand_home(typed: &str) -> PathBuf {
    match (typed.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(typed),
    }
}

/// Write the transcript to `txt` and the trace beside it (same name,
/// `.jsonl`). Both go through temporary files; neither overwrites a file.
pub fn save(steps: &VecDeque<Step>, txt: &Path) -> Result<(PathBuf, PathBuf)> {
    if steps.is_empty() {
        bail!("nothing to save yet");
    }
    let jsonl = txt.with_extension("jsonl");
    for p in [txt, jsonl.as_path()] {
        if p.exists() {
            bail!("{} exists; choose another name", p.display());
        }
        crate::atomic::check_destination(p)?;
    }
    let mut trace = crate::trace::TraceWriter::create(&jsonl)?;
    for s in steps {
        trace.write(&s.to_json_line())?;
    }
    let text: String = steps.iter().map(|s| s.ch).collect();
    crate::atomic::write_atomic(txt, text.as_bytes())?;
    trace.finish()?;
    Ok((txt.to_path_buf(), jsonl))
}

/// Local time as YYYYMMDD-HHMMSS.
fn timestamp() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let t = secs as libc::time_t;
    // SAFETY: localtime_r writes into the tm we own and reads only `t`.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::localtime_r(&t, &mut tm).is_null() };
    if !ok {
        return format!("{secs}");
    }
    format!(
        "{:04}{:02}{:02}-{:02}{:02}{:02}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_paths_resolve() {
        let dir = tempfile::tempdir().unwrap();
        let (d, here) = (dir.path(), Path::new("."));
        assert_eq!(resolve("run", d).unwrap(), d.join("run.txt"));
        assert_eq!(resolve(&format!("{}/run.log", d.display()), here).unwrap(), d.join("run.log"));
        let in_dir = resolve(d.to_str().unwrap(), here).unwrap();
        assert_eq!(in_dir.parent(), Some(d));
        assert!(in_dir.file_name().unwrap().to_str().unwrap().starts_with("gatescope-"));
        assert!(resolve("  ", d).is_err());
        assert!(resolve("x.jsonl", d).is_err());
    }
}
