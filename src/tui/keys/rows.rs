//! How a row of the key table is written: the keys, the contexts a
//! binding works in, and the constructors that fill in the rest.

use super::{Action, Binding, Context, Key};
use ratatui::crossterm::event::{KeyCode, KeyModifiers};

pub(super) const fn plain(code: KeyCode) -> Key {
    Key { code, mods: KeyModifiers::NONE }
}
pub(super) const fn ctrl(c: char) -> Key {
    Key { code: KeyCode::Char(c), mods: KeyModifiers::CONTROL }
}
pub(super) const fn alt(c: char) -> Key {
    Key { code: KeyCode::Char(c), mods: KeyModifiers::ALT }
}

// Where a binding works: one context, or the few that share it.
pub(super) const TYPING: &[Context] = &[Context::Typing];
pub(super) const INSPECT: &[Context] = &[Context::Inspect];
pub(super) const TEXT_BOX: &[Context] = &[Context::TextBox];
pub(super) const HELP: &[Context] = &[Context::Help];
pub(super) const LIST: &[Context] = &[Context::List];
pub(super) const PANEL: &[Context] = &[Context::Panel];
pub(super) const SAMPLES: &[Context] = &[Context::Samples];
pub(super) const TYPING_OR_INSPECT: &[Context] = &[Context::Typing, Context::Inspect];
/// Wherever text is edited: the prompt and the one-line boxes.
pub(super) const TYPING_OR_BOX: &[Context] = &[Context::Typing, Context::TextBox];
pub(super) const TYPING_INSPECT_OR_PANEL: &[Context] = &[Context::Typing, Context::Inspect, Context::Panel];
pub(super) const EVERYWHERE: &[Context] = Context::ALL;

pub(super) const fn b(
    contexts: &'static [Context],
    keys: &'static [Key],
    action: Action,
    label: &'static str,
    help: &'static str,
) -> Binding {
    Binding { contexts, keys, empty_prompt: false, action, label, help, hint: None }
}

pub(super) const fn hinted(binding: Binding, rank: u8, hint: &'static str) -> Binding {
    Binding { hint: Some((rank, hint)), ..binding }
}

pub(super) const fn on_empty(binding: Binding) -> Binding {
    Binding { empty_prompt: true, ..binding }
}
