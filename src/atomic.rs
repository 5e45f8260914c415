//! Writing files so that nothing is ever half-written: check the destination
//! up front, write a temporary file beside it, flush it to disk, then rename;
//! never write over an input; on SIGINT, SIGTERM or SIGHUP, remove every
//! temporary file before leaving.
//!
//! Every writer goes through `TempFile`, which keeps a process-wide list of
//! the temporary files being written. `guard_signals` (called once by the
//! command dispatcher) starts the thread that, on a signal, removes them and
//! then ends the process as the signal would have; `StopSignals` turns the
//! first signal into a flag instead, for writers that stop at a step.

use anyhow::{anyhow, bail, Result};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};

/// The signals that end a writer: Ctrl-C, `kill`, and a closed terminal.
pub const STOP_SIGNALS: [i32; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// Refuse a destination that could not be replaced safely, before any long work:
/// a missing or unwritable folder, a directory, or anything that is not a
/// regular file (renaming onto `/dev/full` as root would replace the device).
/// A symbolic link is followed: the file written is its target.
pub fn check_destination(path: &Path) -> Result<()> {
    check_kind(path)?;
    // The only reliable test of "can this process write here" (root ignores mode bits,
    // read-only mounts don't show in them) is to try.
    let target = link_target(path)?;
    let dir = parent_dir(&target);
    tempfile::Builder::new()
        .prefix(".gatescope-probe-")
        .tempfile_in(&dir)
        .map_err(|e| anyhow!("{}: cannot write in folder {} ({e})", path.display(), dir.display()))?;
    Ok(())
}

/// The cheap half of `check_destination`: the path is a file name (or a
/// regular file, or a symbolic link to one) in a folder that exists.
pub fn check_kind(path: &Path) -> Result<()> {
    let shown = path.display();
    if path.as_os_str().is_empty() {
        bail!("output path is empty");
    }
    let target = link_target(path)?;
    let via = if target == path { String::new() } else { format!(" (the target of the link, {})", target.display()) };
    match std::fs::symlink_metadata(&target) {
        Ok(m) if m.is_dir() => bail!("{shown}: is a directory{via}; expected a file name"),
        Ok(m) if !m.is_file() => bail!("{shown}: not a regular file{via}; refusing to replace it"),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => bail!("{shown}: cannot inspect ({e})"),
    }
    let dir = parent_dir(&target);
    match std::fs::metadata(&dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => bail!("{shown}: {} is not a folder", dir.display()),
        Err(_) => bail!("{shown}: folder {} does not exist", dir.display()),
    }
    Ok(())
}

/// Where a write to `path` lands: `path` itself, or, for a symbolic link
/// (a chain of them, or one whose target does not exist yet), its final
/// target, so that the link stays and the file it names is replaced.
pub fn link_target(path: &Path) -> Result<PathBuf> {
    let mut p = path.to_path_buf();
    // The kernel's own limit on a chain of links (ELOOP).
    for _ in 0..40 {
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let to =
                    std::fs::read_link(&p).map_err(|e| anyhow!("{}: cannot read the link ({e})", path.display()))?;
                p = if to.is_absolute() { to } else { parent_dir(&p).join(to) };
            }
            _ => return Ok(p),
        }
    }
    bail!("{}: too many levels of symbolic links", path.display())
}

/// Write `bytes` to `path` atomically: readers see the old file or the new
/// one, never a mixture, even if the process is killed or the disk fills.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    // No write probe: creating the temporary file is the test.
    check_kind(path)?;
    let shown = path.display();
    let mut tmp = TempFile::beside(path)?;
    tmp.write_all(bytes)
        .and_then(|_| tmp.file().sync_all())
        .map_err(|e| anyhow!("{shown}: write failed ({e}); the previous file, if any, is unchanged"))?;
    tmp.persist()?;
    Ok(())
}

/// The temporary files being written, with their destinations: what a
/// signal removes. Held while a file is created, renamed or removed, so that
/// the signal thread never sees one half-way.
static PENDING: Mutex<Vec<(PathBuf, PathBuf)>> = Mutex::new(Vec::new());

fn pending() -> MutexGuard<'static, Vec<(PathBuf, PathBuf)>> {
    // A writer that panicked leaves the list as it was: still right to use.
    PENDING.lock().unwrap_or_else(|e| e.into_inner())
}

/// A temporary file beside its destination, on the list a signal cleans
/// up. `persist` renames it onto the destination; dropped without that, it
/// is removed.
pub struct TempFile {
    file: Option<tempfile::NamedTempFile>,
    dest: PathBuf,
}

impl TempFile {
    /// A temporary file in the folder of `path` (of its target, for a link).
    /// It gets the mode a plainly created file would (0666 less the umask),
    /// not tempfile's private 0600, or the renamed result would be unreadable
    /// to others; `persist` gives it the mode of a file it replaces.
    pub fn beside(path: &Path) -> Result<Self> {
        use std::os::unix::fs::PermissionsExt;
        let dest = link_target(path)?;
        let dir = parent_dir(&dest);
        let mut list = pending();
        let file = tempfile::Builder::new()
            .prefix(".gatescope-")
            .suffix(".tmp")
            .permissions(std::fs::Permissions::from_mode(0o666))
            .tempfile_in(&dir)
            .map_err(|e| anyhow!("{}: cannot create a temporary file in {} ({e})", path.display(), dir.display()))?;
        list.push((file.path().to_path_buf(), dest.clone()));
        Ok(Self { file: Some(file), dest })
    }

    pub fn file(&self) -> &std::fs::File {
        self.file.as_ref().expect("present until persisted or dropped").as_file()
    }

    /// The file this one replaces: the link's target for a symbolic link.
    pub fn destination(&self) -> &Path {
        &self.dest
    }

    /// Move the finished file into place, keeping the permission bits of a
    /// file it replaces (a private checkpoint stays private).
    pub fn persist(mut self) -> Result<PathBuf> {
        use std::os::unix::fs::PermissionsExt;
        let shown = self.dest.display().to_string();
        let file = self.file.take().expect("present until persisted or dropped");
        if let Ok(old) = std::fs::metadata(&self.dest) {
            let mode = std::fs::Permissions::from_mode(old.permissions().mode() & 0o7777);
            file.as_file()
                .set_permissions(mode)
                .map_err(|e| anyhow!("{shown}: cannot keep the file's permissions ({e})"))?;
        }
        let mut list = pending();
        let tmp = file.path().to_path_buf();
        let moved = file.persist(&self.dest);
        list.retain(|(t, _)| *t != tmp);
        // On failure the error holds the file; dropping it here removes it.
        moved.map_err(|e| anyhow!("{shown}: cannot move the finished file into place ({})", e.error))?;
        Ok(self.dest.clone())
    }
}

impl Write for TempFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file.as_mut().expect("present until persisted or dropped").write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.as_mut().expect("present until persisted or dropped").flush()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(file) = self.file.take() {
            let mut list = pending();
            let tmp = file.path().to_path_buf();
            drop(file); // removes it
            list.retain(|(t, _)| *t != tmp);
        }
    }
}

/// Whether a `StopSignals` is watching: the first signal is then only noted.
static WATCHING: AtomicBool = AtomicBool::new(false);
/// The first signal noted while watching (0: none).
static FIRST: AtomicI32 = AtomicI32::new(0);
static GUARD: OnceLock<std::result::Result<(), String>> = OnceLock::new();

/// From now on SIGINT, SIGTERM and SIGHUP remove every temporary file being
/// written, say which outputs were not written, and end the process as the
/// signal would have (status 128 + its number in a shell). Idempotent. The
/// playground does not call it: it turns these signals into events itself,
/// and its saves are short.
pub fn guard_signals() -> Result<()> {
    GUARD
        .get_or_init(|| {
            let mut signals = signal_hook::iterator::Signals::new(STOP_SIGNALS).map_err(|e| e.to_string())?;
            std::thread::Builder::new()
                .name("gatescope-signals".into())
                .spawn(move || {
                    for sig in signals.forever() {
                        let noted = WATCHING.load(Ordering::SeqCst)
                            && FIRST.compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst).is_ok();
                        if !noted {
                            leave(sig);
                        }
                    }
                })
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
        .clone()
        .map_err(|e| anyhow!("cannot watch for signals ({e})"))
}

/// Remove the temporary files, say so, and die of `sig`. The list stays
/// locked, so no writer creates or renames a file after this point.
fn leave(sig: i32) -> ! {
    let list = pending();
    let mut unwritten = Vec::new();
    for (tmp, dest) in list.iter() {
        if std::fs::remove_file(tmp).is_ok() {
            unwritten.push(dest.display().to_string());
        }
    }
    if !unwritten.is_empty() {
        // After SIGHUP the terminal may be gone: a failed message is no reason to stay.
        let name = Interrupted { signal: sig }.name();
        let _ =
            writeln!(std::io::stderr(), "gatescope: interrupted by {name}; {} was not written", unwritten.join(", "));
    }
    let _ = signal_hook::low_level::emulate_default_handler(sig);
    // Only reached if the default action could not be restored.
    unsafe { libc::_exit(128 + sig) }
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Whether two paths name one file (same device and inode, so hard links and
/// `./a` vs `a` count too). A path that does not exist names no file.
pub fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

/// Refuse to write `output` when it is the same file as one of `inputs`
/// (`(option, path)` pairs), so that an output never replaces what the run
/// reads. Both the canonical paths and (device, inode) are compared: the
/// first catches `./` tricks and symbolic links, also for an output that
/// does not exist yet; the second catches hard links.
pub fn refuse_same_file(output: (&str, &Path), inputs: &[(&str, &Path)]) -> Result<()> {
    let (out_flag, out) = output;
    let out_canon = canonical(out);
    for &(flag, input) in inputs {
        let same_inode = same_file(out, input);
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

/// SIGINT, SIGTERM and SIGHUP, noted instead of ending the process, so that
/// a long writer can finish its step and clean up (remove its temporary
/// file, or write its latest state) first.
pub struct StopSignals(());

impl StopSignals {
    /// From now on the first signal only sets a flag, which `received`
    /// reads; a second one removes the temporary files and ends the process
    /// at once, for a user who does not want to wait for the step to end.
    pub fn watch() -> Result<Self> {
        guard_signals()?;
        WATCHING.store(true, Ordering::SeqCst);
        Ok(Self(()))
    }

    /// The first signal seen, if any.
    pub fn received(&self) -> Option<Interrupted> {
        match FIRST.load(Ordering::SeqCst) {
            0 => None,
            signal => Some(Interrupted { signal }),
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
            signal_hook::consts::SIGHUP => "SIGHUP",
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
