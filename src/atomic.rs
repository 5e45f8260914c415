//! Writing files so that nothing is ever half-written: check the destination
//! up front, write a temporary file beside it, flush it to disk, then rename;
//! never write over an input; on SIGINT or SIGTERM, clean up before leaving.

use anyhow::{anyhow, bail, Result};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Refuse a destination that could not be replaced safely, before any long work:
/// a missing or unwritable folder, a directory, or anything that is not a
/// regular file (renaming onto `/dev/full` as root would replace the device).
pub fn check_destination(path: &Path) -> Result<()> {
    check_kind(path)?;
    // The only reliable test of "can this process write here" (root ignores mode bits,
    // read-only mounts don't show in them) is to try.
    let dir = parent_dir(path);
    tempfile::Builder::new()
        .prefix(".gatescope-probe-")
        .tempfile_in(&dir)
        .map_err(|e| anyhow!("{}: cannot write in folder {} ({e})", path.display(), dir.display()))?;
    Ok(())
}

/// The cheap half of `check_destination`: the path is a file name (or a
/// regular file) in a folder that exists.
pub fn check_kind(path: &Path) -> Result<()> {
    let shown = path.display();
    if path.as_os_str().is_empty() {
        bail!("output path is empty");
    }
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => bail!("{shown}: is a directory; expected a file name"),
        Ok(m) if !m.is_file() => bail!("{shown}: not a regular file; refusing to replace it"),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => bail!("{shown}: cannot inspect ({e})"),
    }
    let dir = parent_dir(path);
    match std::fs::metadata(&dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => bail!("{shown}: {} is not a folder", dir.display()),
        Err(_) => bail!("{shown}: folder {} does not exist", dir.display()),
    }
    Ok(())
}

/// Write `bytes` to `path` atomically: readers see the old file or the new
/// one, never a mixture, even if the process is killed or the disk fills.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    // No write probe: creating the temporary file is the test.
    check_kind(path)?;
    let shown = path.display();
    let mut tmp = temp_beside(path)?;
    tmp.write_all(bytes)
        .and_then(|_| tmp.as_file().sync_all())
        .map_err(|e| anyhow!("{shown}: write failed ({e}); the previous file, if any, is unchanged"))?;
    tmp.persist(path).map_err(|e| anyhow!("{shown}: cannot move the finished file into place ({})", e.error))?;
    Ok(())
}

/// A temporary file in `path`'s folder, to be renamed onto `path`. It gets the
/// mode a plainly created file would (0666 less the umask), not tempfile's
/// private 0600, or the renamed result would be unreadable to others.
pub fn temp_beside(path: &Path) -> Result<tempfile::NamedTempFile> {
    use std::os::unix::fs::PermissionsExt;
    let dir = parent_dir(path);
    tempfile::Builder::new()
        .prefix(".gatescope-")
        .suffix(".tmp")
        .permissions(std::fs::Permissions::from_mode(0o666))
        .tempfile_in(&dir)
        .map_err(|e| anyhow!("{}: cannot create a temporary file in {} ({e})", path.display(), dir.display()))
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Refuse to write `output` when it is the same file as one of `inputs`
/// (`(option, path)` pairs), so that an output never replaces what the run
/// reads. Both the canonical paths and (device, inode) are compared: the
/// first catches `./` tricks and symbolic links, also for an output that
/// does not exist yet; the second catches hard links.
pub fn refuse_same_file(output: (&str, &Path), inputs: &[(&str, &Path)]) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let (out_flag, out) = output;
    let out_id = std::fs::metadata(out).ok().map(|m| (m.dev(), m.ino()));
    let out_canon = canonical(out);
    for &(flag, input) in inputs {
        let same_inode = match (out_id, std::fs::metadata(input)) {
            (Some(o), Ok(m)) => o == (m.dev(), m.ino()),
            _ => false,
        };
        let same_path = matches!((&out_canon, canonical(input)), (Some(a), Some(b)) if *a == b);
        if same_inode || same_path {
            bail!(
                "{out_flag} {} is the same file as {flag} {}; refusing to write over an input",
                out.display(),
                input.display()
            );
        }
    }
    Ok(())
}

/// Refuse an output file that is also where stdout goes (`generate --trace
/// t > t`): the shell has already created it, and the text and the trace
/// would each overwrite the other.
pub fn refuse_stdout(flag: &str, out: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let Ok(m) = std::fs::metadata(out) else { return Ok(()) };
    // SAFETY: fstat on descriptor 1 writes only into the zeroed struct it is given.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(1, &mut st) } != 0 {
        return Ok(());
    }
    if (st.st_dev as u64, st.st_ino as u64) == (m.dev(), m.ino()) {
        bail!(
            "{flag} {} is also where stdout is redirected; the text and the trace would overwrite each other",
            out.display()
        );
    }
    Ok(())
}

/// The canonical form of `path`, or of its folder joined with its name when
/// the file does not exist yet (a dangling symbolic link resolves to its target).
fn canonical(path: &Path) -> Option<PathBuf> {
    if let Ok(p) = std::fs::canonicalize(path) {
        return Some(p);
    }
    if let Ok(target) = std::fs::read_link(path) {
        let target = if target.is_absolute() { target } else { parent_dir(path).join(target) };
        return canonical(&target);
    }
    let name = path.file_name()?;
    Some(std::fs::canonicalize(parent_dir(path)).ok()?.join(name))
}

/// SIGINT and SIGTERM, noted instead of ending the process, so that a long
/// writer can finish its step and clean up (remove its temporary file) first.
pub struct StopSignals {
    int: Arc<AtomicBool>,
    term: Arc<AtomicBool>,
}

impl StopSignals {
    /// From now on the first SIGINT or SIGTERM only sets a flag, which
    /// `received` reads; a second one ends the process at once (128 + its
    /// number), for a user who does not want to wait for the step to end.
    pub fn watch() -> Result<Self> {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let (int, term, any) =
            (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
        for (sig, flag) in [(SIGINT, &int), (SIGTERM, &term)] {
            let watch = || -> std::io::Result<()> {
                // The shutdown is registered first, so it sees the flag as the previous signal left it.
                signal_hook::flag::register_conditional_shutdown(sig, 128 + sig, any.clone())?;
                signal_hook::flag::register(sig, any.clone())?;
                signal_hook::flag::register(sig, flag.clone())?;
                Ok(())
            };
            watch().map_err(|e| anyhow!("cannot watch signal {sig} ({e})"))?;
        }
        Ok(Self { int, term })
    }

    /// The first signal seen, if any.
    pub fn received(&self) -> Option<Interrupted> {
        if self.int.load(Ordering::SeqCst) {
            Some(Interrupted { signal: signal_hook::consts::SIGINT })
        } else if self.term.load(Ordering::SeqCst) {
            Some(Interrupted { signal: signal_hook::consts::SIGTERM })
        } else {
            None
        }
    }
}

/// An error meaning "stopped by a signal, cleaned up": `main` exits with
/// 128 + the signal's number, as a shell reports a process the signal ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interrupted {
    pub signal: i32,
}

impl Interrupted {
    pub fn exit_code(&self) -> i32 {
        128 + self.signal
    }
}

impl Interrupted {
    pub fn name(&self) -> &'static str {
        match self.signal {
            signal_hook::consts::SIGINT => "SIGINT",
            signal_hook::consts::SIGTERM => "SIGTERM",
            _ => "a signal",
        }
    }
}

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "interrupted by {}", self.name())
    }
}

impl std::error::Error for Interrupted {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_directories_missing_folders_and_devices() {
        let dir = tempfile::tempdir().unwrap();
        assert!(check_destination(dir.path()).unwrap_err().to_string().contains("is a directory"));
        let missing = dir.path().join("nope/x.safetensors");
        assert!(check_destination(&missing).unwrap_err().to_string().contains("does not exist"));
        assert!(check_destination(Path::new("/dev/full")).unwrap_err().to_string().contains("not a regular file"));
    }

    #[test]
    fn replaces_a_file_whole() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.bin");
        write_atomic(&p, b"first").unwrap();
        write_atomic(&p, b"second").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"second");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary files left behind");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_ne!(mode, 0o600, "a plain file's mode, not tempfile's private one");
    }
}
