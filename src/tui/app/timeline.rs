//! The timeline of a training run (`play --replay DIR`): the run's
//! snapshots as the bar shows them (step, losses), which one the worker has
//! in place and which one was last asked for. Stepping asks the worker for
//! another snapshot and for the text on screen to be read again through it;
//! pins, the colouring unit and the interventions are unit ids, and stay.

use super::{App, Mode, RunState};
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

    /// The worker's answer to a `Snapshot`.
    pub(super) fn snapshot_loaded(&mut self, index: usize) {
        if let Some(t) = self.timeline.as_mut() {
            t.shown = index;
            // The status line names the file whose weights are in place.
            if let Some(name) = t.snapshots[index].path.file_name() {
                self.model.name = name.to_string_lossy().into_owned();
            }
        }
    }

    /// A snapshot could not be read: the weights are the shown one's.
    pub(super) fn snapshot_failed(&mut self) {
        if let Some(t) = self.timeline.as_mut() {
            t.wanted = t.shown;
        }
    }
}
