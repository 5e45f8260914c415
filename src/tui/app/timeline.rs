//! The timeline of a training run (`play --replay DIR`): the run's
//! snapshots as the bar shows them (step, losses), which one the worker has
//! in place and which one was last asked for. Stepping asks the worker for
//! another snapshot and for the text on screen to be read again through it;
//! pins, the colouring unit and the interventions are unit ids, and stay.

use super::analyses::JobKind;
use super::{App, Mode, Panel, RunState};
use crate::model::snapshot::Snapshot;
use crate::tui::worker::{Reread, WorkerCmd};
use std::path::PathBuf;

/// One snapshot, as plain data.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotInfo {
    pub step: usize,
    pub path: PathBuf,
    pub train_loss: Option<f32>,
    /// Absent when the step did not evaluate.
    pub val_loss: Option<f32>,
}

impl SnapshotInfo {
    pub fn new(s: &Snapshot) -> Self {
        let loss = |key: &str| s.metadata.get(key).and_then(|v| v.parse::<f32>().ok()).filter(|x| x.is_finite());
        Self { step: s.step, path: s.path.clone(), train_loss: loss("train_loss"), val_loss: loss("val_loss") }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    /// In step order; never empty.
    pub snapshots: Vec<SnapshotInfo>,
    /// The snapshot whose weights the worker has in place.
    pub shown: usize,
    /// The snapshot last asked for (`shown` once the worker answers).
    pub wanted: usize,
    /// The text the live reread reads (its request id, prompt and
    /// continuation). While it streams in, the run holds only part of it: a
    /// step taken meanwhile reads this text, not the part on screen.
    pub reading: Option<(u64, String, String)>,
}

impl Timeline {
    /// A timeline on `shown`, the snapshot the worker loaded first.
    pub fn new(snapshots: Vec<SnapshotInfo>, shown: usize) -> Self {
        assert!(shown < snapshots.len(), "a timeline shows one of its snapshots");
        Self { snapshots, shown, wanted: shown, reading: None }
    }

    /// `snapshot 3/29 · step 750 · val 1.83` for the snapshot in place; the
    /// training loss stands in where the step did not evaluate.
    pub fn label(&self) -> String {
        let s = &self.snapshots[self.shown];
        let loss = match (s.val_loss, s.train_loss) {
            (Some(v), _) => format!(" · val {v:.2}"),
            (None, Some(t)) => format!(" · train {t:.2}"),
            (None, None) => String::new(),
        };
        format!("snapshot {}/{} · step {}{loss}", self.shown + 1, self.snapshots.len(), s.step)
    }

    /// The loss the bar plots for snapshot `i`: validation where measured,
    /// else training.
    pub fn loss(&self, i: usize) -> Option<f32> {
        let s = &self.snapshots[i];
        s.val_loss.or(s.train_loss)
    }
}

impl App {
    /// Open the playground on a training run's snapshots.
    pub fn set_timeline(&mut self, timeline: Timeline) {
        self.timeline = Some(timeline);
    }

    /// A folder of snapshots given to the load box: its newest is in place.
    pub(super) fn run_opened(&mut self, snapshots: &[Snapshot]) {
        let infos: Vec<SnapshotInfo> = snapshots.iter().map(SnapshotInfo::new).collect();
        let newest = infos.len() - 1;
        self.info(format!("loaded {} snapshots; Alt-< and Alt-> step through them", infos.len()));
        self.timeline = Some(Timeline::new(infos, newest));
    }

    /// Step `by` snapshots (−1 younger, +1 older), reading the text on
    /// screen again through the new weights.
    pub(super) fn step_snapshot(&mut self, by: i32) -> Option<WorkerCmd> {
        let Some(t) = self.timeline.as_ref() else {
            self.info("no timeline: gatescope play --replay DIR opens a run's snapshots");
            return None;
        };
        let last = t.snapshots.len() - 1;
        let next = (t.wanted as i64 + by as i64).clamp(0, last as i64) as usize;
        if next == t.wanted {
            self.info(if by < 0 { "the first snapshot: no younger one" } else { "the last snapshot: no older one" });
            return None;
        }
        let path = t.snapshots[next].path.clone();
        if let Some(t) = self.timeline.as_mut() {
            t.wanted = next;
        }
        let reread = self.reread();
        Some(WorkerCmd::Snapshot { index: next, path, reread })
    }

    /// Begin a request for the text on screen (the run's prompt and what it
    /// generated so far), keeping the inspect cursor where it is.
    fn reread(&mut self) -> Option<Reread> {
        let in_flight = self
            .timeline
            .as_ref()
            .and_then(|t| t.reading.clone())
            .filter(|(id, ..)| self.run.active == Some(*id) && self.run.is_running());
        let (prompt, continuation) = match in_flight {
            Some((_, prompt, continuation)) => (prompt, continuation),
            None if self.run.steps.is_empty() => return None,
            None => (self.run.prompt.clone(), self.run.steps.iter().filter(|s| !s.is_prompt).map(|s| s.ch).collect()),
        };
        let id = self.run.begin(self.run.kind, prompt.clone());
        if let Some(t) = self.timeline.as_mut() {
            t.reading = Some((id, prompt.clone(), continuation.clone()));
        }
        self.run_started();
        self.analyses.search.clear();
        if self.mode == Mode::Inspect {
            // Inspecting stays put: the steps come in under the cursor.
            self.run.state = RunState::Paused;
            self.run.resume_to = Some(RunState::Generating);
        }
        Some(Reread { id, prompt, continuation })
    }

    /// The worker's answer to a `Snapshot`. Without a text to read again,
    /// the panel on screen is measured again at once; otherwise once the
    /// reread is done (`reread_done`).
    pub(super) fn snapshot_loaded(&mut self, index: usize) -> Option<WorkerCmd> {
        let t = self.timeline.as_mut()?;
        t.shown = index;
        // The status line names the file whose weights are in place.
        if let Some(name) = t.snapshots[index].path.file_name() {
            self.model.name = name.to_string_lossy().into_owned();
        }
        let reading = t.reading.as_ref().is_some_and(|(id, ..)| self.run.active == Some(*id));
        if reading {
            None
        } else {
            self.measure_panel_again()
        }
    }

    /// Request `id` has ended: when it was a snapshot's reread, the cells
    /// panel or saturation view on screen described the weights before the
    /// step, so it is measured again over the text as read now.
    pub(super) fn reread_done(&mut self, id: u64) -> Option<WorkerCmd> {
        let t = self.timeline.as_mut()?;
        if t.reading.as_ref().is_none_or(|(r, ..)| *r != id) {
            return None;
        }
        t.reading = None;
        self.measure_panel_again()
    }

    /// The cells panel over a file is asked of the worker again (through the
    /// weights now in place); over the history, or the saturation view, it
    /// is recomputed here. A file's catalogue not on screen is dropped: it
    /// described the weights before.
    fn measure_panel_again(&mut self) -> Option<WorkerCmd> {
        let file = self.analyses.file.as_ref().map(|f| f.path.clone());
        let file = file.or_else(|| self.analyses.file_job.as_ref().map(|j| j.path.clone()));
        match (self.view.panel, file) {
            (Panel::Cells, Some(path)) => return Some(self.ask_file_cells(path)),
            (_, Some(_)) => self.back_to_history(),
            _ => {}
        }
        match self.view.panel {
            Panel::Cells if self.run.steps.len() >= 2 => self.start_job(JobKind::Catalogue),
            Panel::Saturation if self.run.steps.len() >= 2 => self.start_job(JobKind::Saturation),
            _ => {}
        }
        None
    }

    /// A snapshot could not be read: the weights are the shown one's.
    pub(super) fn snapshot_failed(&mut self) {
        if let Some(t) = self.timeline.as_mut() {
            t.wanted = t.shown;
        }
    }
}
