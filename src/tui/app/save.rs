//! Saving a run: the transcript (`.txt`), its trace (`.jsonl`, the
//! `generate --trace` format) and an HTML page of it coloured as the
//! playground colours it (`gatescope export`'s page), at a path the user
//! confirms in the save box.

use crate::export::{Colouring, PageMeta};
use crate::generate::Step;
use crate::model::Intervention;
use anyhow::{bail, Result};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The default transcript name in `dir`, named by the local time, with a
/// suffix if a file of that name (or its trace) exists.
pub fn default_path(dir: &Path) -> PathBuf {
    let stamp = timestamp();
    let mut n = 1;
    loop {
        let base = if n == 1 { format!("gatescope-{stamp}") } else { format!("gatescope-{stamp}-{n}") };
        let t = dir.join(format!("{base}.txt"));
        if outputs(&t).iter().chain([&tree_path(&t)]).all(|p| !p.exists()) {
            return t;
        }
        n += 1;
    }
}

/// What the user typed in the save box, as the transcript's path: `~/`
/// expanded, relative to `base`, `.txt` added when there is no extension.
/// A folder, or anything else that is not a regular file (`/dev/full`), is
/// refused as typed: a save writes three files of its own name, never into a
/// folder under a name the user did not see.
pub fn resolve(typed: &str, base: &Path) -> Result<PathBuf> {
    let typed = typed.trim();
    if typed.is_empty() {
        bail!("type a file name");
    }
    let mut path = base.join(expand_home(typed));
    let target = crate::atomic::link_target(&path)?;
    match std::fs::metadata(&target) {
        Ok(m) if m.is_dir() => bail!("{}: is a folder; type a file name in it", path.display()),
        Ok(m) if !m.is_file() => bail!("{}: not a regular file; type a file name", path.display()),
        _ if typed.ends_with('/') => bail!("{}: names a folder; type a file name", path.display()),
        _ => {}
    }
    if path.extension().is_none() {
        path.set_extension("txt");
    }
    if path.extension().is_some_and(|e| e == "jsonl" || e == "html") {
        bail!("{} would be the trace's or the page's own name; name the transcript (.txt)", path.display());
    }
    Ok(path)
}

/// The save box's title: the files Enter would write (the tree file too
/// when the run has branches), or why it would not.
pub fn box_title(typed: &str, base: &Path, tree: bool) -> String {
    match resolve(typed, base) {
        Ok(txt) => {
            let mut names: Vec<String> = outputs(&txt).iter().map(|p| p.display().to_string()).collect();
            if tree {
                names.push(tree_path(&txt).display().to_string());
            }
            format!(" save transcript: writes {} · Enter saves, Esc cancels ", and_list(&names))
        }
        Err(e) => format!(" save transcript: {e} · Esc cancels "),
    }
}

/// The files of a save as a message says them: `a, b and c`.
pub fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// `~/rest` to `$HOME/rest`.
pub fn expand_home(typed: &str) -> PathBuf {
    match (typed.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(typed),
    }
}

/// The files a save of `txt` writes: the transcript, the trace, the page.
pub fn outputs(txt: &Path) -> [PathBuf; 3] {
    [txt.to_path_buf(), txt.with_extension("jsonl"), txt.with_extension("html")]
}

/// The branch tree's file beside the transcript `NAME.txt`: `NAME.tree.json`.
pub fn tree_path(txt: &Path) -> PathBuf {
    txt.with_extension("tree.json")
}

/// What a save records beside the steps.
#[derive(Debug, Clone)]
pub struct SaveMeta<'a> {
    /// What the run ran with: a header line of the transcript, and the
    /// trace's first line (`generate::trace_header`). None: no such lines.
    pub interventions: &'a [Intervention],
    /// How the page colours the text.
    pub colouring: Colouring,
    /// The model's name, for the page's legend.
    pub model: String,
    /// The branch tree's file (`Tree::to_json`), when the run has branches.
    pub tree: Option<String>,
}

/// The transcript's header line for a run with `interventions` (none: no line).
pub fn transcript_header(interventions: &[Intervention]) -> Option<String> {
    if interventions.is_empty() {
        return None;
    }
    let specs: Vec<String> = interventions.iter().map(|iv| iv.to_string()).collect();
    Some(format!("# gatescope interventions: {}", specs.join(" ")))
}

/// Write the transcript to `txt`, the trace and the page beside it (same
/// name, `.jsonl` and `.html`), and the branch tree (`.tree.json`) when
/// there is one. Each goes through a temporary file; none overwrites a
/// file, and a failure removes what this save had written. Returns the
/// paths written.
pub fn save(steps: &[Arc<Step>], txt: &Path, meta: &SaveMeta) -> Result<Vec<PathBuf>> {
    if steps.is_empty() {
        bail!("nothing to save yet");
    }
    let paths = outputs(txt);
    let tree = meta.tree.as_ref().map(|json| (tree_path(txt), json));
    for p in paths.iter().chain(tree.as_ref().map(|t| &t.0)) {
        if p.exists() {
            bail!("{} exists; choose another name", p.display());
        }
        crate::atomic::check_destination(p)?;
    }
    let [_, jsonl, html] = &paths;
    let mut trace = crate::trace::TraceWriter::create(jsonl)?;
    if !meta.interventions.is_empty() {
        trace.write(&crate::generate::trace_header(meta.interventions))?;
    }
    for s in steps {
        trace.write(&s.to_json_line())?;
    }
    let mut text: String = transcript_header(meta.interventions).map(|h| h + "\n").unwrap_or_default();
    text.extend(steps.iter().map(|s| s.ch));
    let mut name = meta.model.clone();
    if !meta.interventions.is_empty() {
        let specs: Vec<String> = meta.interventions.iter().map(|iv| iv.to_string()).collect();
        name.push_str(&format!(" with interventions {}", specs.join(" ")));
    }
    let page = crate::export::page(steps, meta.colouring, &PageMeta { checkpoint: name, top: false });
    let written = crate::atomic::write_atomic(html, page.as_bytes())
        .and_then(|_| crate::atomic::write_atomic(txt, text.as_bytes()))
        .and_then(|_| match &tree {
            Some((path, json)) => crate::atomic::write_atomic(path, json.as_bytes()),
            None => Ok(()),
        })
        .and_then(|_| trace.finish().map(|_| ()));
    if let Err(e) = written {
        for p in [html.as_path(), txt].into_iter().chain(tree.as_ref().map(|t| t.0.as_path())) {
            let _ = std::fs::remove_file(p);
        }
        return Err(e);
    }
    let mut written = paths.to_vec();
    written.extend(tree.map(|t| t.0));
    Ok(written)
}

/// Local time as YYYYMMDD-HHMMSS.
fn timestamp() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let t = secs as libc::time_t;
    // SAFETY: localtime_r writes into the tm this function owns and reads only `t`.
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
        assert!(resolve(d.to_str().unwrap(), here).unwrap_err().to_string().contains("is a folder"));
        assert!(resolve("/dev/full", here).unwrap_err().to_string().contains("not a regular file"));
        assert!(resolve("  ", d).is_err());
        assert!(resolve("x.jsonl", d).is_err());
    }
}
