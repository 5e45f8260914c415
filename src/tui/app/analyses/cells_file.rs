//! The cells panel over a file the user names, beside the one over the
//! session's history. Alt-F opens a path box; on Enter the model
//! worker reads the file's first `FILE_CHARS` characters and computes the
//! catalogue with `gatescope cells`'s own code, sending progress and then
//! the plain `Catalogue`. The UI thread never waits for it: the box closes
//! at once and the status says what is being analysed. The panel shows the
//! file's catalogue, with the same rows and keys, until Alt-r goes back to
//! the history.

use super::jobs::JobKind;
use super::TOP;
use crate::analysis::report::thousands;
use crate::analysis::Catalogue;
use crate::tui::app::{save, App, Mode, Panel};
use crate::tui::event::WorkerEvent;
use crate::tui::text::sanitize_line;
use crate::tui::worker::{WorkerCmd, FILE_CHARS};
use std::path::{Path, PathBuf};

/// A finished catalogue over a file.
#[derive(Debug, Clone, PartialEq)]
pub struct FileCells {
    pub path: PathBuf,
    pub value: Catalogue,
}

/// A file analysis under way in the worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileJob {
    pub id: u64,
    pub path: PathBuf,
    pub done: usize,
    pub total: usize,
}

/// The name a title gives a file: its last component, printable.
pub fn file_name(path: &Path) -> String {
    let name = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
    sanitize_line(&name)
}

impl FileCells {
    /// "first 20,000 chars of val.txt", or "all 812 chars of short.txt" when
    /// the file is shorter than what is read.
    pub fn title(&self) -> String {
        let n = self.value.chars;
        let which = if n >= FILE_CHARS { "first" } else { "all" };
        format!("{which} {} chars of {}", thousands(n), file_name(&self.path))
    }
}

impl FileJob {
    /// "analysing val.txt… 40%".
    pub fn status(&self) -> String {
        let pct = (self.done * 100).checked_div(self.total).unwrap_or(0);
        format!("analysing {}… {pct}%", file_name(&self.path))
    }
}

impl App {
    /// Esc in the file box.
    pub(in crate::tui::app) fn cancel_file_box(&mut self) {
        self.mode = self.analyses.file_box_from.take().unwrap_or(Mode::Typing);
        self.info("file analysis cancelled");
    }

    /// Open the file box, prefilled with the last file, remembering where
    /// the keys were (Esc goes back there).
    pub(super) fn open_file_box(&mut self) {
        self.analyses.file_box_from =
            Some(if matches!(self.mode, Mode::Inspect | Mode::Panel) { self.mode } else { Mode::Typing });
        let last = self.analyses.last_file.clone();
        self.open_box(Mode::CellsFile, &last);
    }

    /// Enter in the file box: a path that cannot be a text file keeps the
    /// box open with the reason; otherwise the worker is asked, and the
    /// cells panel opens with the keys, saying what it is analysing.
    pub(in crate::tui::app) fn submit_file_box(&mut self) -> Option<WorkerCmd> {
        let typed = self.box_editor.text().trim().to_string();
        if typed.is_empty() {
            self.error("type the path of a UTF-8 text file (Esc cancels)");
            return None;
        }
        let path = save::expand_home(&typed);
        // The cheap checks here, so the box stays open to correct them; the
        // worker reads the text and finds the rest (UTF-8, vocabulary).
        let problem = match std::fs::metadata(&path) {
            Err(e) => Some(format!("cannot read ({e})")),
            Ok(m) if !m.is_file() => Some("not a regular file".to_string()),
            Ok(_) => None,
        };
        if let Some(p) = problem {
            self.error(format!("{}: {p}", sanitize_line(&typed)));
            return None;
        }
        self.analyses.last_file = typed;
        self.view.panel = Panel::Cells;
        match self.analyses.file_box_from.take() {
            Some(Mode::Panel) => {}
            from => self.analyses.back_to = Some(from.unwrap_or(Mode::Typing)),
        }
        self.mode = Mode::Panel;
        Some(self.ask_file_cells(path))
    }

    /// Ask the worker for the catalogue over the file at `path`, under a new
    /// id: the reports of one asked earlier are dropped from here on.
    pub(in crate::tui::app) fn ask_file_cells(&mut self, path: PathBuf) -> WorkerCmd {
        self.analyses.file_ids += 1;
        let id = self.analyses.file_ids;
        self.analyses.file_job = Some(FileJob { id, path: path.clone(), done: 0, total: FILE_CHARS });
        // A history catalogue still under way would land under the file's.
        self.analyses.jobs.retain(|j| j.kind != JobKind::Catalogue);
        self.info(format!("analysing {}…", file_name(&path)));
        WorkerCmd::FileCells { id, path, top: TOP }
    }

    /// Alt-r in the cells panel: forget the file's catalogue (and any under
    /// way), so the history's shows again.
    pub(in crate::tui::app) fn back_to_history(&mut self) {
        if self.analyses.has_file() {
            self.analyses.file = None;
            self.analyses.file_job = None;
            self.analyses.cells_row = 0;
        }
    }

    /// What the worker reports of a file analysis; reports of one no longer
    /// wanted (Alt-r since, or another file asked for) are dropped.
    pub(in crate::tui::app) fn file_cells_event(&mut self, ev: WorkerEvent) {
        let wanted = |id: u64, app: &App| app.analyses.file_job.as_ref().is_some_and(|j| j.id == id);
        match ev {
            WorkerEvent::CellsProgress { id, done, total } if wanted(id, self) => {
                if let Some(j) = self.analyses.file_job.as_mut() {
                    (j.done, j.total) = (done, total);
                }
            }
            WorkerEvent::Cells { id, path, catalogue } if wanted(id, self) => {
                self.analyses.file_job = None;
                let file = FileCells { path, value: *catalogue };
                let shown = if self.view.panel == Panel::Cells { "" } else { " (Alt-C shows it)" };
                let title = file.title();
                let over = if title.starts_with("all") { title } else { format!("the {title}") };
                self.info(format!("cell catalogue over {over} ready{shown}"));
                self.analyses.file = Some(file);
                self.analyses.cells_row = 0;
            }
            WorkerEvent::CellsFailed { id, message } if wanted(id, self) => {
                self.analyses.file_job = None;
                self.error(format!("cannot analyse the file: {}", sanitize_line(&message)));
            }
            _ => {}
        }
    }
}
