//! Every key binding, once: (where it works, which keys, what it does, how
//! help and the status line describe it). `App` looks a key up here and
//! applies the `Action`; the help overlay and the status hints are rendered
//! from the same table, so they cannot drift from what the keys do.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Where a key is read. A text box is any one-line box (load, cell number,
/// save, pin, intervention, the cells panel's file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    Typing,
    Inspect,
    TextBox,
    Help,
    /// The list of active interventions.
    List,
    /// The cells panel or the saturation view, when it has the keys.
    Panel,
    /// Samples side by side.
    Samples,
}

impl Context {
    /// Every context, for bindings that hold everywhere and for the table's checks.
    pub const ALL: &'static [Context] = &[
        Context::Typing,
        Context::Inspect,
        Context::TextBox,
        Context::Help,
        Context::List,
        Context::Panel,
        Context::Samples,
    ];
}

/// Line editing, the same for whichever text box has focus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditAction {
    Left,
    Right,
    Home,
    End,
    Backspace,
    Delete,
    DeleteWordBack,
    DeleteToStart,
    /// A line break (the prompt only; the boxes hold one line).
    NewLine,
}

/// Everything a key can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Edit(EditAction),
    /// Enter: generate a full continuation, or confirm a box.
    Submit,
    /// Esc: stop generating, close a box, or leave inspect mode.
    Cancel,
    ToggleInspect,
    HistoryPrev,
    HistoryNext,
    ScrollBack,
    ScrollForward,
    CursorBy(i8),
    CursorFirst,
    CursorLast,
    Temperature(i8),
    TopK(i8),
    TopP(i8),
    Seed(i8),
    Length(i8),
    Layer(i8),
    ToggleG,
    ToggleH,
    CycleColour,
    Cell(i8),
    CellMostActive,
    CellByNumber,
    TogglePreview,
    Save,
    Load,
    Help,
    HelpScroll(i8),
    /// `q`: quit, asking first when an unsaved transcript would be lost.
    Quit,
    /// Ctrl-C: quit now.
    ForceQuit,
    /// Open the intervention editor on the colouring cell at the cursor's step.
    Intervene,
    /// Open the list of active interventions.
    InterventionList,
    /// Move the list's selection.
    ListMove(i8),
    /// Remove the selected intervention.
    ListRemove,
    ClearInterventions,
    /// Show or hide the compare view (baseline beside the intervened run).
    ToggleCompare,
    /// A box that pins or unpins a unit by `lK:U`.
    PinBox,
    /// Unpin every unit.
    ClearPins,
    /// The cells panel in place of the heatmaps (and its keys), or back.
    CellsPanel,
    /// The saturation view in place of the heatmaps (and its keys), or back.
    SaturationView,
    /// A box asks for a text file; the cells panel shows the catalogue over it.
    CellsFile,
    /// Recompute the catalogue or saturation over the current history.
    Recompute,
    /// Inspect: the span search starts at the cursor.
    MarkStart,
    /// Inspect: the span ends at the cursor; run the search.
    MarkEnd,
    /// Inspect: the cursor to the next (+1) or previous (−1) match.
    NextMatch(i8),
    /// Saturation view: move the cursor sideways.
    PanelSide(i8),
    /// Saturation view: the next gate's scatter.
    PanelGate,
    /// Saturation view: the next of the points nearest the cursor.
    PanelNext,
    /// Timeline: the previous (−1) or next (+1) training snapshot.
    Snapshot(i8),
    /// Beam search's width: off, 2, 4 … 64, off.
    BeamWidth,
    /// Inspect: the explain panel in place of the heatmaps, or back.
    ExplainPanel,
    /// Inspect: colour the text by the colouring unit's memory writes, or back.
    MemoryColour,
    /// Inspect: colour the text by what the prediction at the cursor rests
    /// on: gradient × input, integrated gradients, or back.
    AttributionColour,
    /// Inspect: the colouring unit becomes the next pinned unit.
    NextPinned,
    /// Inspect: choose the candidate above (−1) or below (+1) in the
    /// next-character panel; Enter branches with it.
    Choose(i8),
    /// Branches: the previous (−1) or next (+1) sibling at the nearest branch point.
    Sibling(i8),
    /// Branches: the parent of the branch on screen.
    ParentBranch,
    /// Three continuations of the prompt side by side.
    Samples,
    /// Samples side by side: pick the column to the left (−1) or right (+1).
    Column(i8),
}

impl Action {
    /// Every action, for the test that each has a binding and a help line.
    pub const ALL: &'static [Action] = &[
        Action::Edit(EditAction::Left),
        Action::Edit(EditAction::Right),
        Action::Edit(EditAction::Home),
        Action::Edit(EditAction::End),
        Action::Edit(EditAction::Backspace),
        Action::Edit(EditAction::Delete),
        Action::Edit(EditAction::DeleteWordBack),
        Action::Edit(EditAction::DeleteToStart),
        Action::Edit(EditAction::NewLine),
        Action::Submit,
        Action::Cancel,
        Action::ToggleInspect,
        Action::HistoryPrev,
        Action::HistoryNext,
        Action::ScrollBack,
        Action::ScrollForward,
        Action::CursorBy(-1),
        Action::CursorBy(1),
        Action::CursorBy(-10),
        Action::CursorBy(10),
        Action::CursorFirst,
        Action::CursorLast,
        Action::Temperature(-1),
        Action::Temperature(1),
        Action::TopK(-1),
        Action::TopK(1),
        Action::TopP(-1),
        Action::TopP(1),
        Action::Seed(-1),
        Action::Seed(1),
        Action::Length(-1),
        Action::Length(1),
        Action::Layer(1),
        Action::Layer(-1),
        Action::ToggleG,
        Action::ToggleH,
        Action::CycleColour,
        Action::Cell(1),
        Action::Cell(-1),
        Action::Cell(10),
        Action::Cell(-10),
        Action::CellMostActive,
        Action::CellByNumber,
        Action::TogglePreview,
        Action::Save,
        Action::Load,
        Action::Help,
        Action::HelpScroll(-1),
        Action::HelpScroll(1),
        Action::Quit,
        Action::ForceQuit,
        Action::Intervene,
        Action::InterventionList,
        Action::ListMove(-1),
        Action::ListMove(1),
        Action::ListRemove,
        Action::ClearInterventions,
        Action::ToggleCompare,
        Action::PinBox,
        Action::ClearPins,
        Action::CellsPanel,
        Action::SaturationView,
        Action::CellsFile,
        Action::Recompute,
        Action::MarkStart,
        Action::MarkEnd,
        Action::NextMatch(1),
        Action::NextMatch(-1),
        Action::ListMove(-10),
        Action::ListMove(10),
        Action::PanelSide(-1),
        Action::PanelSide(1),
        Action::PanelGate,
        Action::PanelNext,
        Action::Snapshot(-1),
        Action::Snapshot(1),
        Action::BeamWidth,
        Action::ExplainPanel,
        Action::MemoryColour,
        Action::AttributionColour,
        Action::NextPinned,
        Action::Choose(-1),
        Action::Choose(1),
        Action::Sibling(-1),
        Action::Sibling(1),
        Action::ParentBranch,
        Action::Samples,
        Action::Column(-1),
        Action::Column(1),
    ];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    pub contexts: &'static [Context],
    pub keys: &'static [Key],
    /// While typing, only on an empty prompt (`q`, `?`): else the letter is typed.
    pub empty_prompt: bool,
    pub action: Action,
    /// The keys as help shows them.
    pub label: &'static str,
    pub help: &'static str,
    /// For the status line: rank (lower shows first) and a short form.
    pub hint: Option<(u8, &'static str)>,
}

mod rows;
mod table;
pub use table::{BINDINGS, HELP_NOTES};

fn matches(key: &Key, ev: &KeyEvent) -> bool {
    if key.code != ev.code {
        return false;
    }
    // Terminals report Shift with an upper-case letter inconsistently.
    let mods = ev.modifiers - KeyModifiers::SHIFT;
    match key.code {
        KeyCode::Char(_) => mods == key.mods,
        _ => ev.modifiers == key.mods,
    }
}

/// The action for `ev` in `context`, if the table has one. A plain
/// character without a binding is for the focused text box to insert.
pub fn lookup(context: Context, ev: &KeyEvent, prompt_empty: bool) -> Option<Action> {
    // Ctrl-C quits whatever else is held: an Esc just before it arrives as Alt.
    if ev.code == KeyCode::Char('c') && ev.modifiers.contains(KeyModifiers::CONTROL) {
        return Some(Action::ForceQuit);
    }
    let find = |ev: &KeyEvent| {
        BINDINGS
            .iter()
            .filter(|b| {
                b.contexts.contains(&context) && (!b.empty_prompt || prompt_empty || context != Context::Typing)
            })
            .find(|b| b.keys.iter().any(|k| matches(k, ev)))
            .map(|b| b.action)
    };
    if let Some(a) = find(ev) {
        return Some(a);
    }
    if context == Context::Inspect && ev.modifiers - KeyModifiers::SHIFT == KeyModifiers::NONE {
        if let KeyCode::Char(c) = ev.code {
            return find(&KeyEvent::new(KeyCode::Char(c), KeyModifiers::ALT));
        }
    }
    None
}

/// The status line's hints for `context`, most useful first.
pub fn hints(context: Context) -> Vec<&'static str> {
    let mut h: Vec<(u8, &str)> =
        BINDINGS.iter().filter(|b| b.contexts.contains(&context)).filter_map(|b| b.hint).collect();
    h.sort_by_key(|x| x.0);
    // Inspect reads the letter controls bare.
    let bare = |s: &'static str| if context == Context::Inspect { s.strip_prefix("Alt-").unwrap_or(s) } else { s };
    h.into_iter().map(|x| bare(x.1)).collect()
}

#[cfg(test)]
mod tests;
