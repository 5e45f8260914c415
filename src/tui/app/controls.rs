//! The actions that change a setting or the view, and never a run: the
//! sampling settings, beam search's width, the length, the layer and
//! colouring shown, scrolling and the inspect cursor, and the boxes they open.

use super::{save, App, Mode, MAX_LEN, MIN_LEN};
use crate::tui::keys::Action;
use crate::tui::worker::WorkerCmd;

/// Output lines per PgUp / PgDn.
const SCROLL_LINES: usize = 5;
/// Top-k's ladder; only the values below the vocabulary's size are used
/// (a larger k keeps every character, the same as "all").
const TOP_KS: [usize; 10] = [1, 2, 3, 5, 10, 20, 40, 80, 160, 320];

impl App {
    /// The actions that change a setting or the view, and never a run.
    pub(super) fn control(&mut self, action: Action) -> Option<WorkerCmd> {
        let last = self.run.steps.len().saturating_sub(1);
        let s = &mut self.sampling;
        match action {
            Action::ScrollBack => self.view.scroll = self.view.scroll.saturating_add(SCROLL_LINES),
            Action::ScrollForward => self.view.scroll = self.view.scroll.saturating_sub(SCROLL_LINES),
            Action::CursorBy(by) => self.view.cursor = self.view.cursor.saturating_add_signed(by as isize).min(last),
            Action::CursorFirst => self.view.cursor = 0,
            Action::CursorLast => self.view.cursor = last,
            Action::Temperature(by) => s.temperature = round2((s.temperature + 0.1 * by as f32).clamp(0.0, 5.0)),
            Action::TopK(by) => s.top_k = step_top_k(s.top_k, by > 0, self.model.vocab.len()),
            Action::TopP(by) => s.top_p = round2((s.top_p + 0.05 * by as f32).clamp(0.05, 1.0)),
            // The seed's range is 0 to 2^64 - 1, as on the command line: its ends stop, not wrap.
            Action::Seed(by) => s.seed = s.seed.saturating_add_signed(by as i64),
            Action::BeamWidth => {
                // Doubling from 2 up to the widest, then back to sampling.
                self.beam = match self.beam {
                    None => Some(2),
                    Some(w) if w * 2 <= crate::generate::beam::MAX_WIDTH => Some(w * 2),
                    Some(_) => None,
                };
                self.info(match self.beam {
                    Some(w) => format!("beam search of {w} beams: Enter finds the likeliest continuation"),
                    None => "sampling again".to_string(),
                });
            }
            Action::Length(by) if by < 0 => self.length = (self.length / 2).max(MIN_LEN),
            Action::Length(_) => self.length = (self.length * 2).min(MAX_LEN),
            Action::Layer(by) => self.view.step_layer(by),
            Action::ToggleG => self.view.show_g = !self.view.show_g,
            Action::ToggleH => self.view.show_h = !self.view.show_h,
            Action::CycleColour => self.view.cycle_colour(),
            Action::Cell(by) => self.view.step_cell(by),
            Action::CellMostActive => match self.most_active_cell() {
                Some(u) => {
                    self.view.set_cell(u);
                    self.info(format!("colouring by {}, the most active unit at the cursor", self.view.unit()));
                }
                None => self.info("no step to pick a unit from yet"),
            },
            Action::TogglePreview => {
                self.preview = !self.preview;
                self.info(if self.preview { "live preview on" } else { "live preview off" });
                if !self.preview {
                    self.prompt.edit_at = None;
                }
            }
            Action::CellByNumber => self.open_box(Mode::Cell, ""),
            Action::Load => self.open_box(Mode::Load, ""),
            Action::Save if self.run.steps.is_empty() => self.error("nothing to save yet"),
            Action::Save => {
                let name = save::default_path(&self.save_dir);
                let name = name.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                self.open_box(Mode::Save, &name);
            }
            Action::Help => {
                self.view.help = true;
                self.view.help_scroll = 0;
            }
            // HelpScroll acts only while help is open (its own context); the
            // rest are routed to their handlers by `apply`, whose match lists
            // every action, so a new one cannot be left without a place.
            _ => {}
        }
        None
    }
}

fn round2(x: f32) -> f32 {
    (x * 100.0).round() / 100.0
}

/// The next top-k on the ladder, within a vocabulary of `vocab` characters.
/// 0 (all) sits above every useful limit: down from "all" goes to the
/// largest k below the vocabulary's size, up from that goes back to "all".
pub fn step_top_k(k: usize, up: bool, vocab: usize) -> usize {
    let ladder: Vec<usize> = TOP_KS.iter().copied().filter(|&x| x < vocab.max(2)).collect();
    let top = *ladder.last().unwrap_or(&1);
    match (k, up) {
        (0, true) => 0,
        (0, false) => top,
        (k, true) => ladder.iter().copied().find(|&x| x > k).unwrap_or(0),
        (k, false) => ladder.iter().copied().rev().find(|&x| x < k).unwrap_or(1),
    }
}

#[cfg(test)]
mod tests {
    use super::step_top_k;

    #[test]
    fn top_k_steps_within_the_vocabulary() {
        // 65 characters (tinyshakespeare): the first press from "all" already limits.
        assert_eq!(step_top_k(0, false, 65), 40);
        assert_eq!(step_top_k(40, false, 65), 20);
        assert_eq!(step_top_k(40, true, 65), 0);
        assert_eq!(step_top_k(0, true, 65), 0);
        assert_eq!(step_top_k(1, false, 65), 1);
        assert_eq!(step_top_k(3, true, 65), 5);
        // A k set elsewhere (say 7) steps to its neighbours on the ladder.
        assert_eq!(step_top_k(7, false, 65), 5);
        assert_eq!(step_top_k(7, true, 65), 10);
    }
}
