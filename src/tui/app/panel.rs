//! The keys of issue 9: pins, the cells panel, the saturation view and the
//! span search, and taking in what their jobs (`insight.rs`) finish.

use super::insight::{cell_rows, named_cells, Finished, JobKind, SAT_GRID};
use super::{App, Mode, Panel};
use crate::model::Unit;
use crate::tui::keys::Action;
use crate::tui::text::sanitize_line;
use crate::tui::worker::WorkerCmd;

impl App {
    pub(super) fn insight_action(&mut self, action: Action) -> Option<WorkerCmd> {
        match action {
            Action::PinBox => self.open_pin_box(),
            Action::ClearPins => {
                let n = self.view.pins.len();
                self.view.pins.clear();
                self.insight.search_pins.clear();
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
            Action::MarkStart => {
                if let Some(f) = self.focus() {
                    self.view.clear_search();
                    self.view.span_start = Some(f);
                    self.info(format!("span starts at t={}; move the cursor, then e marks the end and searches", f));
                }
            }
            Action::MarkEnd => self.mark_end(),
            Action::NextMatch(dir) => self.next_match(dir),
            Action::ListMove(by) => self.panel_move(0, by),
            Action::PanelSide(by) => self.panel_move(by, 0),
            Action::PanelGate => {
                self.insight.sat.gate = (self.insight.sat.gate + 1) % 3;
                self.insight.sat.nth = 0;
            }
            Action::PanelNext => self.insight.sat.nth += 1,
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
    pub(super) fn pin_from_box(&mut self) {
        let typed = self.box_editor.text().trim().to_string();
        let unit = match typed.parse::<usize>() {
            Ok(i) => Ok(Unit::new(self.view.layer, i)),
            Err(_) => typed.parse::<Unit>(),
        };
        match unit.and_then(|u| u.check(&self.dims())) {
            Ok(u) => {
                self.mode = Mode::Typing;
                let now = self.view.toggle_pin(u);
                let n = self.view.pins.len();
                self.info(format!("{} {} ({n} pinned)", if now { "pinned" } else { "unpinned" }, self.view.name(u)));
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
            self.insight.back_to = Some(if self.mode == Mode::Inspect { Mode::Inspect } else { Mode::Typing });
            self.mode = Mode::Panel;
        }
        let (len, history) = (self.run.steps.len(), self.run.history);
        let fresh = match panel {
            Panel::Cells => self.insight.catalogue.as_ref().map(|m| (m.history, m.steps)),
            _ => self.insight.saturation.as_ref().map(|m| (m.history, m.steps)),
        } == Some((history, len));
        let running = self.insight.running(panel == Panel::Cells).is_some();
        // A file's catalogue (shown, or under way) stays until Alt-r.
        let fresh = fresh || (panel == Panel::Cells && self.insight.has_file());
        if !fresh && !running {
            self.start_job(if panel == Panel::Cells { JobKind::Catalogue } else { JobKind::Saturation });
        }
    }

    /// Give the keys back to the prompt or the inspect cursor; the panel stays.
    pub(super) fn leave_panel(&mut self) {
        if self.mode == Mode::Panel {
            self.mode = self.insight.back_to.take().unwrap_or(Mode::Typing);
        }
    }

    pub(super) fn start_job(&mut self, kind: JobKind) {
        if self.run.steps.len() < 2 {
            self.error("nothing to analyse yet: type a prompt (the analyses read the prompt and the generated text)");
            return;
        }
        let r = &self.run;
        self.insight.start(kind, &r.steps, r.history, r.dropped, self.model.hidden);
    }

    /// One slice of the analysis under way, and what it finished.
    pub(super) fn advance_insight(&mut self) {
        let Some(done) = self.insight.advance(self.run.history, self.run.dropped) else { return };
        match done {
            Finished::Catalogue(m) => {
                if self.insight.file.is_none() {
                    let rows = cell_rows(&m.value).len();
                    self.insight.row = self.insight.row.min(rows.saturating_sub(1));
                }
                let shown = if self.view.panel == Panel::Cells { "" } else { " (Alt-C shows it)" };
                self.info(format!("cell catalogue over {} steps ready{shown}", m.steps));
                self.insight.catalogue = Some(m);
            }
            Finished::Saturation(m) => {
                let shown = if self.view.panel == Panel::Saturation { "" } else { " (Alt-G shows it)" };
                self.info(format!("saturation over {} steps ready{shown}", m.steps));
                self.insight.saturation = Some(m);
            }
            Finished::Search(s) => self.search_done(s),
        }
    }

    fn mark_end(&mut self) {
        let (Some(start), Some(end)) = (self.view.span_start, self.focus()) else {
            self.error("mark the span's start first: a at the first character, then e at the last");
            return;
        };
        let span = start.min(end)..start.max(end) + 1;
        if span.len() >= self.run.steps.len() {
            self.error("the span covers the whole history: there is nothing left to match");
            return;
        }
        self.view.span_start = None;
        self.view.span = Some(span.clone());
        self.info(format!("searching l{} for t={}..{} …", self.view.layer, span.start, span.end));
        self.start_job(JobKind::Search { layer: self.view.layer, span });
    }

    fn search_done(&mut self, s: super::insight::SearchDone) {
        for u in std::mem::take(&mut self.insight.search_pins) {
            self.view.pins.retain(|&p| p != u);
        }
        let units: Vec<Unit> = s.result.selected.iter().map(|&i| Unit::new(s.layer, i)).collect();
        for &u in &units {
            if self.view.pin(u) {
                self.insight.search_pins.push(u);
            }
        }
        let mut ranges: Vec<_> = s.result.matches.iter().map(|m| m.start..m.end).collect();
        ranges.sort_by_key(|r| r.start);
        self.view.span = s.span.clone();
        self.view.matches = ranges;
        self.view.current_match = None;
        if units.is_empty() {
            self.info(format!(
                "no unit of l{} is on (tanh c ≥ 0.3) throughout the span and off just before it; try another span",
                s.layer
            ));
        } else {
            let names: Vec<String> = units.iter().take(6).map(|u| u.to_string()).collect();
            let more = if units.len() > 6 { format!(" +{}", units.len() - 6) } else { String::new() };
            let gone = if s.span.is_none() { " (the history changed: matches not shown)" } else { "" };
            self.info(format!(
                "{} unit{} pinned: {}{more}; {} match{} highlighted (j jumps){gone}",
                units.len(),
                if units.len() == 1 { "" } else { "s" },
                names.join(" "),
                s.result.matches.len(),
                if s.result.matches.len() == 1 { "" } else { "es" }
            ));
        }
        self.insight.search = Some(s);
    }

    fn next_match(&mut self, dir: i8) {
        let n = self.view.matches.len();
        if n == 0 {
            self.info("no matches: mark a span with a and e first");
            return;
        }
        let at = self.focus().unwrap_or(0);
        let m = &self.view.matches;
        let i = if dir > 0 {
            m.iter().position(|r| r.start > at).unwrap_or(0)
        } else {
            m.iter().rposition(|r| r.start < at).unwrap_or(n - 1)
        };
        let r = m[i].clone();
        self.view.current_match = Some(i);
        self.view.cursor = r.start;
        let rank = self.insight.search.as_ref().and_then(|s| {
            s.result.matches.iter().position(|x| x.start == r.start).map(|k| (k + 1, s.result.matches[k].shared))
        });
        let rank = rank
            .map(|(k, sh)| format!(" (rank {k}, {sh} unit{} shared)", if sh == 1 { "" } else { "s" }))
            .unwrap_or_default();
        self.info(format!("match {}/{n}: t={}..{}{rank}", i + 1, r.start, r.end));
    }

    fn panel_move(&mut self, dx: i8, dy: i8) {
        match self.view.panel {
            Panel::Cells => {
                let rows = self.insight.shown().map_or(0, |c| cell_rows(c).len());
                let row = self.insight.row as isize + dy as isize;
                self.insight.row = row.clamp(0, rows.saturating_sub(1) as isize) as usize;
            }
            Panel::Saturation => {
                let c = &mut self.insight.sat;
                let step = |v: u8, by: i8| (v as i16 + by as i16).clamp(0, SAT_GRID as i16) as u8;
                c.x = step(c.x, dx);
                // ↑ (−1) goes up the plot: more left-saturated.
                c.y = step(c.y, -dy);
                c.nth = 0;
            }
            Panel::Gates => {}
        }
    }

    fn pin_selected(&mut self) {
        let unit = match self.view.panel {
            Panel::Cells => {
                let rows = self.insight.shown().map(cell_rows).unwrap_or_default();
                match rows.get(self.insight.row) {
                    Some((_, Some(c))) => Some(c.unit),
                    Some((_, None)) => {
                        let over = if self.insight.file.is_some() { "the file" } else { "the history" };
                        self.info(format!("this feature is constant over {over}: it lists no units"));
                        return;
                    }
                    None => None,
                }
            }
            Panel::Saturation => self.insight.selected_point().map(|p| p.0),
            Panel::Gates => None,
        };
        let Some(u) = unit else {
            self.info("nothing to pin yet: the analysis has not finished");
            return;
        };
        self.view.pin(u);
        self.view.colour_by(u);
        self.info(format!("pinned {} and colouring the text by it", self.view.name(u)));
    }

    /// Label and pin the catalogued cells of the model just loaded.
    pub(super) fn name_cells(&mut self) {
        let Some(cat) = self.model.cells.clone() else { return };
        let (named, pins) = named_cells(&cat, self.model.layers, self.model.hidden);
        for (k, (u, label)) in named.into_iter().enumerate() {
            if k < pins {
                self.view.pin(u);
            }
            self.view.labels.insert(u, label);
        }
    }
}
