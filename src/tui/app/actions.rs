//! What each `Action` does to the app: the mode machine (typing, inspect,
//! the boxes); the settings and view controls are in `controls`.

use super::{save, App, Mode, RunKind, RunState};
use crate::model::Unit;
use crate::tui::editor::Editor;
use crate::tui::keys::{Action, EditAction};
use crate::tui::text::sanitize_line;
use crate::tui::worker::WorkerCmd;

impl App {
    pub(super) fn apply(&mut self, action: Action) -> Option<WorkerCmd> {
        let before = self.sampling;
        let cmd = match action {
            Action::ListMove(_) | Action::Submit | Action::Cancel if self.mode == Mode::Panel => {
                return self.analysis_action(action)
            }
            Action::Submit | Action::Cancel | Action::Column(_) | Action::Samples => {
                if self.mode == Mode::Samples || action == Action::Samples || matches!(action, Action::Column(_)) {
                    return self.samples_action(action);
                }
                match action {
                    Action::Submit => return self.submit(),
                    _ => return self.cancel(),
                }
            }
            Action::Choose(_) | Action::Sibling(_) | Action::ParentBranch => return self.branch_action(action),
            Action::PinBox
            | Action::ClearPins
            | Action::CellsPanel
            | Action::SaturationView
            | Action::CellsFile
            | Action::Recompute
            | Action::MarkStart
            | Action::MarkEnd
            | Action::NextMatch(_)
            | Action::PanelSide(_)
            | Action::PanelGate
            | Action::PanelNext => return self.analysis_action(action),
            Action::Snapshot(by) => return self.step_snapshot(by as i32),
            Action::ExplainPanel | Action::MemoryColour | Action::NextPinned => return self.explain_action(action),
            Action::AttributionColour => return self.attribution_action(action),
            Action::CellByNumber => {
                self.explain.cell_box_from_inspect = self.mode == Mode::Inspect;
                self.control(action)
            }
            Action::Edit(e) => return self.edit(e),
            Action::ToggleInspect if self.mode == Mode::Inspect => return self.leave_inspect(),
            Action::ToggleInspect => return self.enter_inspect(),
            Action::HistoryPrev | Action::HistoryNext => return self.browse(action == Action::HistoryPrev),
            Action::ForceQuit => {
                self.quit = true;
                return Some(WorkerCmd::Shutdown);
            }
            Action::Quit => return self.ask_to_quit(),
            Action::ScrollBack | Action::ScrollForward if self.interventions.shown().is_some() => {
                return self.intervene_action(action)
            }
            Action::Intervene
            | Action::InterventionList
            | Action::ListMove(_)
            | Action::ListRemove
            | Action::ClearInterventions
            | Action::ToggleCompare => return self.intervene_action(action),
            Action::ScrollBack
            | Action::ScrollForward
            | Action::CursorBy(_)
            | Action::CursorFirst
            | Action::CursorLast
            | Action::Temperature(_)
            | Action::TopK(_)
            | Action::TopP(_)
            | Action::Seed(_)
            | Action::BeamWidth
            | Action::Length(_)
            | Action::Layer(_)
            | Action::ToggleG
            | Action::ToggleH
            | Action::CycleColour
            | Action::Cell(_)
            | Action::CellMostActive
            | Action::TogglePreview
            | Action::Load
            | Action::Save
            | Action::Help
            | Action::HelpScroll(_) => self.control(action),
        };
        if self.sampling != before {
            return Some(WorkerCmd::SetSampling(self.sampling));
        }
        cmd
    }

    fn edit(&mut self, e: EditAction) -> Option<WorkerCmd> {
        if self.mode.is_box() {
            edit_text(&mut self.box_editor, e);
            return None;
        }
        if e == EditAction::NewLine {
            self.prompt.editor.insert_char('\n');
            return self.edited();
        }
        if edit_text(&mut self.prompt.editor, e) {
            self.edited()
        } else {
            None
        }
    }

    fn submit(&mut self) -> Option<WorkerCmd> {
        match self.mode {
            Mode::Inspect if self.view.choice.is_some() => {
                let rank = self.view.choice.unwrap_or(0);
                self.branch_with_choice(rank)
            }
            Mode::Typing | Mode::Inspect => {
                self.mode = Mode::Typing;
                self.prompt.remember();
                self.start(RunKind::Full)
            }
            Mode::Cell => {
                let typed = self.box_editor.text().trim().to_string();
                self.choose_cell(&typed);
                None
            }
            Mode::Load => {
                let typed = self.box_editor.text().trim().to_string();
                self.mode = Mode::Typing;
                if typed.is_empty() {
                    self.info("load cancelled");
                    return None;
                }
                // `FILE [--vocab V] [--map M]`: a PyTorch .pt file needs its vocabulary.
                match crate::model::parse_load_request(&typed) {
                    Ok((path, opts)) => {
                        self.info(format!("loading {}…", sanitize_line(&typed)));
                        Some(WorkerCmd::Load(save::expand_home(&path.to_string_lossy()), opts))
                    }
                    Err(e) => {
                        self.error(format!("{e}"));
                        None
                    }
                }
            }
            Mode::Save => {
                self.save_to_box_path();
                None
            }
            Mode::Pin => {
                self.pin_from_box();
                None
            }
            Mode::CellsFile => self.submit_file_box(),
            Mode::Panel => self.analysis_action(Action::Submit),
            Mode::Intervene => self.apply_intervention(),
            Mode::Interventions => {
                self.close_intervention_box();
                None
            }
            Mode::Samples => self.samples_action(Action::Submit),
        }
    }

    fn cancel(&mut self) -> Option<WorkerCmd> {
        match self.mode {
            Mode::Typing if !self.run.is_running() && self.interventions.shown().is_some() => {
                self.interventions.compare_shown = false;
                None
            }
            Mode::Typing => {
                self.prompt.edit_at = None;
                self.stop()
            }
            Mode::Inspect => self.leave_inspect(),
            Mode::Intervene | Mode::Interventions => {
                self.close_intervention_box();
                None
            }
            Mode::Panel => {
                self.leave_panel();
                None
            }
            Mode::CellsFile => {
                self.cancel_file_box();
                None
            }
            Mode::Samples => self.samples_action(Action::Cancel),
            Mode::Load | Mode::Cell | Mode::Save | Mode::Pin => {
                let what = match self.mode {
                    Mode::Cell => "cell choice cancelled",
                    Mode::Pin => "pin cancelled",
                    Mode::Save => "save cancelled",
                    _ => "load cancelled",
                };
                self.mode = if self.mode == Mode::Cell { self.after_cell_box() } else { Mode::Typing };
                self.info(what);
                None
            }
        }
    }

    pub(super) fn open_box(&mut self, mode: Mode, text: &str) {
        self.mode = mode;
        self.box_editor.set(text);
        self.view.help = false;
    }

    fn browse(&mut self, back: bool) -> Option<WorkerCmd> {
        if !self.prompt.browse(back) {
            return None;
        }
        let pos = self.prompt.hist_pos;
        let cmd = self.edited();
        self.prompt.hist_pos = pos;
        cmd
    }

    fn ask_to_quit(&mut self) -> Option<WorkerCmd> {
        if !self.prompt.editor.is_empty() {
            self.info("q quits on an empty prompt; Ctrl-C always quits");
            return None;
        }
        if self.run.unsaved() {
            self.quit_armed = true;
            self.info("the transcript is not saved: q again quits, Ctrl-S saves it");
            return None;
        }
        self.quit = true;
        Some(WorkerCmd::Shutdown)
    }

    fn enter_inspect(&mut self) -> Option<WorkerCmd> {
        if self.run.steps.is_empty() {
            self.info("nothing to inspect yet: type a prompt");
            return None;
        }
        self.mode = Mode::Inspect;
        self.view.choice = None;
        self.prompt.edit_at = None;
        self.view.cursor = self.run.steps.len() - 1;
        if self.run.state == RunState::Generating {
            self.run.resume_to = Some(RunState::Generating);
            self.run.state = RunState::Paused;
            return Some(WorkerCmd::Pause);
        }
        self.run.resume_to = None;
        None
    }

    fn leave_inspect(&mut self) -> Option<WorkerCmd> {
        self.mode = Mode::Typing;
        self.view.choice = None;
        match self.run.resume_to.take() {
            Some(RunState::Generating) => {
                self.run.state = RunState::Generating;
                Some(WorkerCmd::Resume)
            }
            Some(s) => {
                self.run.state = s;
                None
            }
            None => None,
        }
    }

    /// Colour by what the cell box holds: a unit index in the current layer,
    /// or a unit named `lK:U`. A refusal keeps the box open to correct it.
    fn choose_cell(&mut self, typed: &str) {
        let unit = match typed.parse::<usize>() {
            Ok(i) => Ok(Unit::new(self.view.layer, i)),
            Err(_) => typed.parse::<Unit>(),
        };
        let dims = crate::model::Dims {
            vocab: self.model.vocab.len(),
            embed: 0,
            hidden: self.model.hidden,
            layers: self.model.layers,
        };
        match unit.and_then(|u| u.check(&dims)) {
            Ok(u) => {
                let memory = self.view.color == super::ColorMode::Memory;
                self.view.layer = u.layer;
                self.view.set_cell(u.index);
                if memory {
                    self.view.color = super::ColorMode::Memory;
                }
                self.mode = self.after_cell_box();
                self.info(format!("colouring by {u}"));
            }
            Err(e) => {
                let hint =
                    format!("type a unit from 0 to {} (layer l{}), or lK:U", self.model.hidden - 1, self.view.layer);
                self.error(format!("no unit {typed:?}: {}; {hint}", sanitize_line(&e.to_string())));
            }
        }
    }

    fn save_to_box_path(&mut self) {
        let typed = self.box_editor.text().to_string();
        if self.run.tree.is_some() {
            self.commit_branch();
        }
        let base = if self.save_dir.as_os_str().is_empty() { std::path::Path::new(".") } else { &self.save_dir };
        let tree = self.run.tree.as_ref().map(|t| t.to_json());
        let meta = save::SaveMeta {
            interventions: &self.interventions.ran_with,
            colouring: self.page_colouring(),
            model: self.model.name.clone(),
            tree,
        };
        let steps = self.run.steps.make_contiguous();
        match save::resolve(&typed, base).and_then(|txt| save::save(steps, &txt, &meta)) {
            Ok(written) => {
                self.mode = Mode::Typing;
                self.run.saved = true;
                let names: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
                self.info(format!("saved {}", save::and_list(&names)));
            }
            Err(e) => {
                let parts: Vec<String> = e.chain().map(|c| c.to_string()).collect();
                self.error(format!("save failed: {}", sanitize_line(&parts.join(": "))));
            }
        }
    }

    /// The unit with the largest |c| at the focused step, in the selected layer.
    pub fn most_active_cell(&self) -> Option<usize> {
        let step = self.run.steps.get(self.focus()?)?;
        let layer = step.layers.get(self.view.layer)?;
        layer
            .gates
            .c
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
            .map(|(i, _)| i)
    }
}

/// Apply `e` to a one-box editor. Returns whether the text changed.
fn edit_text(ed: &mut Editor, e: EditAction) -> bool {
    match e {
        EditAction::Left => ed.left(),
        EditAction::Right => ed.right(),
        EditAction::Home => ed.home(),
        EditAction::End => ed.end(),
        EditAction::Backspace => return ed.backspace(),
        EditAction::Delete => return ed.delete(),
        EditAction::DeleteWordBack => return ed.delete_word_back(),
        EditAction::DeleteToStart => return ed.delete_to_start(),
        // The boxes hold one line.
        EditAction::NewLine => {}
    }
    false
}
