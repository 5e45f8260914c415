//! Everything the main loop reacts to arrives as one `Event` on one channel:
//! keys, pastes and resizes from the input thread, and results from the
//! model worker. Only plain data crosses threads.

use crate::generate::Step;
use ratatui::crossterm::event::{self as ct, KeyEvent, KeyEventKind};
use std::sync::mpsc::Sender;
use std::sync::Arc;

/// What the model worker reports.
#[derive(Debug, Clone)]
pub enum WorkerEvent {
    /// A model is ready (at start, or after a `Load`).
    Loaded(ModelInfo),
    /// A `Load` failed; the previous model stays.
    LoadFailed(String),
    /// One consumed character of request `id`. Shared, not copied: the
    /// worker's prompt cache sends the same steps again after every edit.
    Step { id: u64, step: Arc<Step> },
    /// Request `id` finished (reached its length, or was stopped).
    Done { id: u64 },
    /// Request `id` could not run (e.g. the prompt has unknown characters).
    Failed { id: u64, message: String },
    /// Characters of file analysis `id` read so far, of `total`.
    CellsProgress { id: u64, done: usize, total: usize },
    /// The catalogue of file analysis `id`: `path` as asked, its first
    /// `catalogue.chars` characters.
    Cells { id: u64, path: std::path::PathBuf, catalogue: Box<crate::analysis::Catalogue> },
    /// File analysis `id` could not run (a bad file); one line.
    CellsFailed { id: u64, message: String },
    /// The `Load` just answered by `Loaded` was a folder of a training run's
    /// snapshots, in step order; the newest is the one loaded.
    RunOpened(Vec<crate::model::snapshot::Snapshot>),
    /// Snapshot `index` of the timeline is the model's weights now.
    SnapshotLoaded { index: usize },
    /// The answer to explain request `id`: the explanation, or why there
    /// is none (one line).
    Explained { id: u64, result: Result<Box<crate::analysis::explain::Explanation>, String> },
    /// The answer to attribution request `id`: one attribution per step of
    /// its text up to the step, or why there is none (one line).
    Attributed { id: u64, result: Result<Box<crate::analysis::attribution::Attribution>, String> },
    /// Attribution request `id` was dropped unanswered (a new run began).
    AttributionDropped { id: u64 },
    /// The worker panicked; the app must restore the terminal and exit.
    Panicked(String),
}

/// What the status bar says about the model, as plain data.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    pub name: String,
    pub layers: usize,
    pub hidden: usize,
    pub params: usize,
    pub device: String,
    pub vocab: Vec<char>,
    pub warnings: Vec<String>,
    /// The checkpoint's cell catalogue (metadata key `cells`), if it has one;
    /// boxed, so every event does not carry its size.
    pub cells: Option<Box<crate::analysis::SavedCatalogue>>,
}

impl ModelInfo {
    /// What the app learns of a checkpoint, its cell catalogue included (one
    /// that does not parse is a warning, and the playground starts without it).
    pub fn of(ck: &crate::model::Checkpoint) -> Self {
        use crate::analysis::{catalogue::METADATA_KEY, SavedCatalogue};
        let mut warnings = ck.warnings.clone();
        let cells = ck.metadata.get(METADATA_KEY).and_then(|json| match SavedCatalogue::from_json(json) {
            Ok(c) => Some(Box::new(c)),
            Err(e) => {
                warnings.push(e.to_string());
                None
            }
        });
        ModelInfo { cells, ..ModelInfo::new(ck.name(), &ck.model, warnings) }
    }

    /// The status bar's facts about `model`, shown under `name`.
    pub fn new(name: impl Into<String>, model: &crate::model::CharLstm, warnings: Vec<String>) -> Self {
        let d = model.dims;
        Self {
            name: name.into(),
            layers: d.layers,
            hidden: d.hidden,
            params: d.parameter_count(),
            device: "cpu".into(),
            vocab: model.vocab.chars().to_vec(),
            warnings,
            cells: None,
        }
    }
}

#[derive(Debug, Clone)]
pub enum Event {
    Key(KeyEvent),
    Paste(String),
    /// The terminal changed size (the next frame reads the new size).
    Resize,
    Worker(WorkerEvent),
    /// The input thread could not read the terminal any more.
    InputClosed(String),
    /// SIGTERM, SIGHUP or SIGINT from outside: quit cleanly.
    Signal(i32),
}

/// Turn termination signals into events, so the terminal is restored on
/// `kill` too (in raw mode Ctrl-C arrives as a key, not as SIGINT).
pub fn spawn_signal_thread(tx: Sender<Event>) -> std::io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGHUP, SIGINT])?;
    std::thread::Builder::new().name("gatescope-signals".into()).spawn(move || {
        if let Some(sig) = signals.forever().next() {
            let _ = tx.send(Event::Signal(sig));
        }
    })?;
    Ok(())
}

/// Read terminal events forever, forwarding presses (not releases or
/// repeats-as-release: some platforms report every key twice), pastes and
/// resizes. Ends when the receiver is gone.
pub fn spawn_input_thread(tx: Sender<Event>) -> std::io::Result<()> {
    std::thread::Builder::new().name("gatescope-input".into()).spawn(move || loop {
        let ev = match ct::read() {
            Ok(ct::Event::Key(k)) if k.kind == KeyEventKind::Press => Event::Key(k),
            Ok(ct::Event::Key(_)) => continue,
            Ok(ct::Event::Paste(s)) => Event::Paste(s),
            Ok(ct::Event::Resize(..)) => Event::Resize,
            Ok(_) => continue,
            Err(e) => {
                let _ = tx.send(Event::InputClosed(e.to_string()));
                return;
            }
        };
        if tx.send(ev).is_err() {
            return;
        }
    })?;
    Ok(())
}
