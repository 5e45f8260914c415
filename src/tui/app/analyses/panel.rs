//! The keys the cells panel and the saturation view share: pins, opening and
//! closing a panel, moving and pinning its selection, giving the keys back;
//! and taking in what their jobs (`jobs`) finish.

use super::cells::cell_rows;
use super::jobs::{Finished, JobKind};
use crate::model::Unit;
use crate::tui::app::{App, Mode, Panel};
use crate::tui::keys::Action;
use crate::tui::text::sanitize_line;
use crate::tui::worker::WorkerCmd;

impl App {
    /// The keys of the pins, the panels and the span search.
    pub(in crate::tui::app) fn analysis_action(&mut self, action: Action) -> Option<WorkerCmd> {
        match action {
            Action::PinBox => self.open_pin_box(),
            Action::ClearPins => {
                let n = self.view.pins.len();
                self.view.pins.clear();
                self.analyses.search.pins.clear();
                self.info(format!("unpinned {n} unit{}", if n == 1 { "" } else { "s" }));
            }
            Action::CellsPanel => self.toggle_panel(Panel::Cells),
            Action::SaturationView => self.toggle_panel(Panel::Saturation),
            Action::CellsFile => self.open_file_box(),
            Action::Recompute => {
                let kind = if self.view.panel == Panel::Saturation { JobKind::Saturation } else { JobKind::Catalogue };
                if kind == JobKind::Catalogue {
                    self.back_to_history();
                }
                self.start_job(kind);
            }
            Action::MarkStart => self.mark_start(),
            Action::MarkEnd => self.mark_end(),
            Action::NextMatch(dir) => self.next_match(dir),
            Action::ListMove(by) => self.panel_move(0, by),
            Action::PanelSide(by) => self.panel_move(by, 0),
            Action::PanelGate => self.analyses.sat_cursor.next_gate(),
            Action::PanelNext => self.analyses.sat_cursor.nth += 1,
            Action::Submit => self.pin_selected(),
            Action::Cancel => self.leave_panel(),
            _ => {}
        }
        None
    }

    fn open_pin_box(&mut self) {
        self.mode = Mode::Pin;
        self.box_editor.set("");
        self.view.help = false;
    }

    /// Pin or unpin what the pin box holds: `lK:U`, or a unit of the shown
    /// layer by number. A refusal keeps the box open to correct it.
    pub(in crate::tui::app) fn pin_from_box(&mut self) {
        let typed = self.box_editor.text().trim().to_string();
        let unit = match typed.parse::<usize>() {
            Ok(i) => Ok(Unit::new(self.view.layer, i)),
            Err(_) => typed.parse::<Unit>(),
        };
        match unit.and_then(|u| u.check(&self.dims())) {
            Ok(u) => {
                self.mode = Mode::Typing;
                let pinned = self.view.toggle_pin(u);
                let n = self.view.pins.len();
                self.info(format!("{} {} ({n} pinned)", if pinned { "pinned" } else { "unpinned" }, self.view.name(u)));
            }
            Err(e) => self.error(format!("no unit {typed:?}: {}", sanitize_line(&e.to_string()))),
        }
    }

    fn toggle_panel(&mut self, panel: Panel) {
        if self.view.panel == panel {
            self.view.panel = Panel::Gates;
            if self.mode == Mode::Panel {
                self.leave_panel();
            }
            return;
        }
        self.view.panel = panel;
        if self.mode != Mode::Panel {
            self.analyses.back_to = Some(if self.mode == Mode::Inspect { Mode::Inspect } else { Mode::Typing });
            self.mode = Mode::Panel;
        }
        let (len, history) = (self.run.steps.len(), self.run.history);
        let fresh = match panel {
            Panel::Cells => self.analyses.catalogue.as_ref().map(|m| (m.history, m.steps)),
            _ => self.analyses.saturation.as_ref().map(|m| (m.history, m.steps)),
        } == Some((history, len));
        let running = self.analyses.running(panel == Panel::Cells).is_some();
        // A file's catalogue (shown, or under way) stays until Alt-r.
        let fresh = fresh || (panel == Panel::Cells && self.analyses.has_file());
        if !fresh && !running {
            self.start_job(if panel == Panel::Cells { JobKind::Catalogue } else { JobKind::Saturation });
        }
    }

    /// Give the keys back to the prompt or the inspect cursor; the panel stays.
    pub(in crate::tui::app) fn leave_panel(&mut self) {
        if self.mode == Mode::Panel {
            self.mode = self.analyses.back_to.take().unwrap_or(Mode::Typing);
        }
    }

    pub(in crate::tui::app) fn start_job(&mut self, kind: JobKind) {
        if self.run.steps.len() < 2 {
            self.error("nothing to analyse yet: type a prompt (the analyses read the prompt and the generated text)");
            return;
        }
        let r = &self.run;
        self.analyses.start(kind, &r.steps, r.history, r.dropped, self.model.hidden);
    }

    /// One slice of the analysis under way, and what it finished.
    pub(in crate::tui::app) fn advance_analyses(&mut self) {
        let Some(done) = self.analyses.advance(self.run.history, self.run.dropped) else { return };
        match done {
            Finished::Catalogue(m) => {
                if self.analyses.file.is_none() {
                    let rows = cell_rows(&m.value).len();
                    self.analyses.cells_row = self.analyses.cells_row.min(rows.saturating_sub(1));
                }
                let shown = if self.view.panel == Panel::Cells { "" } else { " (Alt-C shows it)" };
                self.info(format!("cell catalogue over {} steps ready{shown}", m.steps));
                self.analyses.catalogue = Some(m);
            }
            Finished::Saturation(m) => {
                let shown = if self.view.panel == Panel::Saturation { "" } else { " (Alt-G shows it)" };
                self.info(format!("saturation over {} steps ready{shown}", m.steps));
                self.analyses.saturation = Some(m);
            }
            Finished::Search(s) => self.search_done(s),
        }
    }

    fn panel_move(&mut self, dx: i8, dy: i8) {
        match self.view.panel {
            Panel::Cells => {
                let rows = self.analyses.shown().map_or(0, |c| cell_rows(c).len());
                let row = self.analyses.cells_row as isize + dy as isize;
                self.analyses.cells_row = row.clamp(0, rows.saturating_sub(1) as isize) as usize;
            }
            Panel::Saturation => self.analyses.sat_cursor.move_by(dx, dy),
            Panel::Gates | Panel::Explain => {}
        }
    }

    fn pin_selected(&mut self) {
        let unit = match self.view.panel {
            Panel::Cells => {
                let rows = self.analyses.shown().map(cell_rows).unwrap_or_default();
                match rows.get(self.analyses.cells_row) {
                    Some((_, Some(c))) => Some(c.unit),
                    Some((_, None)) => {
                        let over = if self.analyses.file.is_some() { "the file" } else { "the history" };
                        self.info(format!("this feature is constant over {over}: it lists no units"));
                        return;
                    }
                    None => None,
                }
            }
            Panel::Saturation => self.analyses.selected_point().map(|p| p.0),
            Panel::Gates | Panel::Explain => None,
        };
        let Some(u) = unit else {
            self.info("nothing to pin yet: the analysis has not finished");
            return;
        };
        self.view.pin(u);
        self.view.colour_by(u);
        self.info(format!("pinned {} and colouring the text by it", self.view.name(u)));
    }
}
