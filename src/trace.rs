//! The `--trace` JSONL writer: one `Step` per line, written to a temporary
//! file beside the destination and moved into place when complete, so an
//! interrupted run never leaves half a trace. The reader is in `read`.

pub mod read;
pub use read::{read_trace, Trace};

use crate::atomic::{check_kind, temp_beside};
use crate::generate::Step;
use anyhow::{anyhow, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// A JSONL file written beside its destination and moved into place when
/// complete, so an interrupted run never leaves half a trace.
pub struct TraceWriter {
    path: PathBuf,
    file: std::io::BufWriter<tempfile::NamedTempFile>,
}

/// A `TraceWriter` fed from another thread, so serialising overlaps generating.
pub struct TraceThread {
    steps: std::sync::mpsc::SyncSender<Step>,
    done: Option<std::thread::JoinHandle<Result<PathBuf>>>,
}

impl TraceThread {
    pub fn start(mut writer: TraceWriter) -> Self {
        let (steps, rx) = std::sync::mpsc::sync_channel::<Step>(256);
        let done = std::thread::spawn(move || {
            for step in rx {
                writer.write(&step.to_json_line())?;
            }
            writer.finish()
        });
        Self { steps, done: Some(done) }
    }

    pub fn send(&mut self, step: Step) -> Result<()> {
        if self.steps.send(step).is_ok() {
            return Ok(());
        }
        // A closed channel means the writer failed: report its error.
        match self.done.take().map(|h| h.join()) {
            Some(Ok(Err(e))) => Err(e),
            _ => Err(anyhow!("the trace writer stopped")),
        }
    }

    pub fn finish(mut self) -> Result<PathBuf> {
        let done = self.done.take().ok_or_else(|| anyhow!("the trace writer stopped"))?;
        drop(self.steps);
        done.join().map_err(|_| anyhow!("the trace writer panicked"))?
    }
}

impl TraceWriter {
    pub fn create(path: &Path) -> Result<Self> {
        // Creating the temporary file tests the folder; no separate probe.
        check_kind(path)?;
        let tmp = temp_beside(path)?;
        Ok(Self { path: path.to_path_buf(), file: std::io::BufWriter::new(tmp) })
    }

    pub fn write(&mut self, line: &str) -> Result<()> {
        writeln!(self.file, "{line}").map_err(|e| anyhow!("{}: write failed ({e})", self.path.display()))
    }

    pub fn finish(self) -> Result<PathBuf> {
        let shown = self.path.display().to_string();
        let tmp = self.file.into_inner().map_err(|e| anyhow!("{shown}: write failed ({})", e.error()))?;
        tmp.as_file().sync_all().map_err(|e| anyhow!("{shown}: write failed ({e})"))?;
        tmp.persist(&self.path).map_err(|e| anyhow!("{shown}: cannot move into place ({})", e.error))?;
        Ok(self.path)
    }
}
