//! What the model worker reports, taken into the app's state: steps and the
//! ends of requests, a model loaded (what of the state still applies), file
//! catalogues, snapshots, explanations, and a crash.

use super::{App, Mode, RunState};
use crate::tui::event::{ModelInfo, WorkerEvent};
use crate::tui::text::sanitize_line;
use crate::tui::worker::WorkerCmd;

impl App {
    pub(super) fn on_worker(&mut self, ev: WorkerEvent) -> Option<WorkerCmd> {
        match ev {
            WorkerEvent::Loaded(info) => self.loaded(info),
            WorkerEvent::LoadFailed(e) => {
                self.snapshot_failed();
                self.error(format!("load failed, keeping the current model: {}", sanitize_line(&e)));
                None
            }
            WorkerEvent::Step { id, step } => {
                if let Some(shifted) = self.run.accept(id, step, self.now) {
                    self.view.cursor = self.view.cursor.saturating_sub(shifted);
                    self.analyses.search.shift_steps(shifted);
                }
                None
            }
            WorkerEvent::Done { id } => {
                let next = self.sample_done(id);
                self.run.done(id);
                // A request is a sample or a snapshot's reread, not both.
                let reread = self.reread_done(id);
                next.or(reread)
            }
            WorkerEvent::Failed { id, message } => {
                if self.run.active == Some(id) {
                    self.sample_failed();
                    self.run.state = RunState::Idle;
                    self.error(sanitize_line(&message));
                }
                None
            }
            ev @ (WorkerEvent::Cells { .. } | WorkerEvent::CellsProgress { .. } | WorkerEvent::CellsFailed { .. }) => {
                self.file_cells_event(ev);
                None
            }
            WorkerEvent::SnapshotLoaded { index } => self.snapshot_loaded(index),
            WorkerEvent::RunOpened(snapshots) => {
                self.run_opened(&snapshots);
                None
            }
            WorkerEvent::Explained { id, result } => {
                self.explained(id, result);
                None
            }
            WorkerEvent::Attributed { id, result } => {
                self.attributed(id, result);
                None
            }
            WorkerEvent::AttributionDropped { id } => {
                self.attribution_dropped(id);
                None
            }
            WorkerEvent::Panicked(msg) => {
                self.fatal = Some(format!("the model worker crashed: {msg}"));
                self.quit = true;
                None
            }
        }
    }

    /// Another model is in place: keep what still applies, clear the run.
    fn loaded(&mut self, info: ModelInfo) -> Option<WorkerCmd> {
        self.prompt.set_vocab(&info.vocab);
        self.view.resize_model(info.layers, info.hidden);
        self.info(format!("loaded {}", sanitize_line(&info.name)));
        if let Some(w) = info.warnings.first() {
            self.error(format!("warning: {}", sanitize_line(w)));
        }
        self.model = info;
        // Another model is not one of the run's snapshots.
        self.timeline = None;
        self.name_cells();
        // A file's catalogue described the old model; one still under way
        // was asked after the load (commands and events keep their order).
        self.analyses.file = None;
        self.run.clear();
        self.analyses.search.clear();
        self.view.cursor = 0;
        self.view.scroll = 0;
        if matches!(
            self.mode,
            Mode::Load | Mode::Inspect | Mode::Intervene | Mode::Interventions | Mode::Panel | Mode::Samples
        ) {
            self.mode = Mode::Typing;
        }
        self.samples = None;
        if !self.prompt.editor.is_empty() && self.preview {
            self.prompt.edit_at = Some(self.now);
        }
        self.interventions_for_new_model()
    }
}
