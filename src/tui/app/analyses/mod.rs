//! The playground's analyses: the cells panel (the cell catalogue, over the
//! session's history or over a file), the saturation view and the span
//! search, with their state, their keys and the jobs that compute them.
//!
//! Over the history they run on the UI side, over the plain `Step`s the ring
//! already holds, as jobs the app advances `SLICE` steps per `tick` (`jobs`):
//! every step carries each layer's gates and states, so the model is not
//! needed, the worker stays free to generate, and nothing crosses a thread.
//! A keystroke waits at most one slice (a few milliseconds on the shipped
//! model). The accumulators are `crate::analysis`'s own, fed the same rows as
//! `gatescope cells`, so the numbers are the same computation. A file's
//! catalogue is computed by the model worker instead (`cells_file`).
//!
//! - `cells`: the cells panel's rows and labels, and the checkpoint's named cells;
//! - `cells_file`: the cells panel over a file (its box and the worker's reports);
//! - `saturation`: the saturation view's cursor and the points nearest it;
//! - `search`: the span search's marks, matches and keys;
//! - `panel`: the keys the panels share (open, pin, move, give the keys back).

mod cells;
mod cells_file;
mod jobs;
mod panel;
mod saturation;
mod search;

pub use cells::{cell_rows, named_cells};
pub use cells_file::{FileCells, FileJob};
pub use jobs::{Finished, Job, JobKind, Measured, SearchDone, SLICE};
pub use saturation::{SatCursor, SAT_GRID};
pub use search::SpanSearch;

use super::Mode;
use crate::analysis::{Catalogue, Pads, Saturation};

/// Units per feature in the cells panel (the CLI's default `--top`).
pub const TOP: usize = 3;
/// The span search's settings in the playground (the CLI's defaults).
pub const SEARCH_THRESHOLD: f64 = 0.3;
pub const SEARCH_PADS: Pads = Pads { left: 1, right: 0 };
pub const SEARCH_TOP: usize = 50;
/// Saturation bounds (the CLI's defaults).
pub const SAT_LOW: f64 = 0.1;
pub const SAT_HIGH: f64 = 0.9;
/// How many catalogued cells are pinned at start.
pub const NAMED_PINS: usize = 3;

/// What the analyses hold between keys: the jobs under way, their results,
/// the panels' selections, the span search and the file catalogue.
#[derive(Default)]
pub struct Analyses {
    /// The jobs under way over the history, first one first.
    pub jobs: Vec<Job>,
    pub catalogue: Option<Measured<Catalogue>>,
    pub saturation: Option<Measured<Saturation>>,
    pub search: SpanSearch,
    /// The cells panel's selected row.
    pub cells_row: usize,
    pub sat_cursor: SatCursor,
    /// Where the keys go back to when the panel gives them up.
    pub back_to: Option<Mode>,
    /// The catalogue over a file the user named: the cells panel shows it
    /// instead of the history's until Alt-r.
    pub file: Option<FileCells>,
    /// The file analysis the worker is running.
    pub file_job: Option<FileJob>,
    /// Where the keys were when the file box opened.
    pub file_box_from: Option<Mode>,
    /// What the file box held last (its next prefill).
    pub last_file: String,
    pub file_ids: u64,
}

impl Analyses {
    /// The catalogue the cells panel shows: the file's, else the history's.
    pub fn shown(&self) -> Option<&Catalogue> {
        self.file.as_ref().map(|f| &f.value).or(self.catalogue.as_ref().map(|m| &m.value))
    }

    /// Whether a file's catalogue is shown or under way.
    pub fn has_file(&self) -> bool {
        self.file.is_some() || self.file_job.is_some()
    }
}
