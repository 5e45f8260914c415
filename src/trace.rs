//! The `--trace` JSONL writer: one `Step` per line, written to a temporary
//! file beside the destination and moved into place when complete, so an
//! interrupted run never leaves half a trace. The reader is in `read`.

pub mod read;
pub use read::{read_trace, Trace};

use crate::atomic::{check_kind, TempFile};
use crate::generate::Step;
use anyhow::{anyhow, Result};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A JSONL file written beside its destination and moved into place when
/// complete, so an interrupted run never leaves half a trace.
pub struct TraceWriter {
    path: PathBuf,
    file: std::io::BufWriter<TempFile>,
}

/// A `TraceWriter` fed from another thread, so serialising overlaps generating.
/// Only `finish` moves the file into place: dropped without it (an error, a
/// signal, a closed stdout), the thread stops and the temporary file is removed.
pub struct TraceThread {
    steps: Option<std::sync::mpsc::SyncSender<Step>>,
    keep: Arc<AtomicBool>,
    done: Option<std::thread::JoinHandle<Result<PathBuf>>>,
}

impl TraceThread {
    pub fn start(mut writer: TraceWriter) -> Self {
        let (steps, rx) = std::sync::mpsc::sync_channel::<Step>(256);
        let keep = Arc::new(AtomicBool::new(false));
        let keep_it = keep.clone();
        let done = std::thread::spawn(move || {
            for step in rx {
                writer.write(&step.to_json_line())?;
            }
            if keep_it.load(Ordering::SeqCst) {
                writer.finish()
            } else {
                // Dropping the writer drops its temporary file, which removes it.
                Err(anyhow!("the trace was discarded"))
            }
        });
        Self { steps: Some(steps), keep, done: Some(done) }
    }

    pub fn send(&mut self, step: Step) -> Result<()> {
        if self.steps.as_ref().is_some_and(|s| s.send(step).is_ok()) {
            return Ok(());
        }
        // A closed channel means the writer failed: report its error.
        match self.done.take().map(|h| h.join()) {
            Some(Ok(Err(e))) => Err(e),
            _ => Err(anyhow!("the trace writer stopped")),
        }
    }

    /// Write out what was sent and move the file into place.
    pub fn finish(mut self) -> Result<PathBuf> {
        let done = self.done.take().ok_or_else(|| anyhow!("the trace writer stopped"))?;
        self.keep.store(true, Ordering::SeqCst);
        drop(self.steps.take());
        done.join().map_err(|_| anyhow!("the trace writer panicked"))?
    }
}

impl Drop for TraceThread {
    /// Discard: the writer removes its temporary file, and this waits for
    /// that, so that nothing is left behind when the process exits next.
    fn drop(&mut self) {
        drop(self.steps.take());
        if let Some(done) = self.done.take() {
            let _ = done.join();
        }
    }
}

impl TraceWriter {
    /// The destination is checked (`check_kind`) but not compared with the
    /// inputs: the command does that, knowing which files it reads.
    pub fn create(path: &Path) -> Result<Self> {
        // Creating the temporary file tests the folder; no separate probe.
        check_kind(path)?;
        let tmp = TempFile::beside(path)?;
        Ok(Self { path: path.to_path_buf(), file: std::io::BufWriter::new(tmp) })
    }

    pub fn write(&mut self, line: &str) -> Result<()> {
        writeln!(self.file, "{line}").map_err(|e| anyhow!("{}: write failed ({e})", self.path.display()))
    }

    pub fn finish(self) -> Result<PathBuf> {
        let shown = self.path.display().to_string();
        let tmp = self.file.into_inner().map_err(|e| anyhow!("{shown}: write failed ({})", e.error()))?;
        tmp.file().sync_all().map_err(|e| anyhow!("{shown}: write failed ({e})"))?;
        tmp.persist()?;
        Ok(self.path)
    }
}
