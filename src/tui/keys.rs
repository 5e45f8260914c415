//! Every key binding, once: (where it works, which keys, what it does, how
//! help and the status line describe it). `App` looks a key up here and
//! applies the `Action`; the help overlay and the status hints are rendered
//! from the same table, so they cannot drift from what the keys do.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Where a key is read. A text box is the load, cell-number or save box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    Typing,
    Inspect,
    TextBox,
    Help,
    /// The list of active interventions.
    List,
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
    ];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

const fn plain(code: KeyCode) -> Key {
    Key { code, mods: KeyModifiers::NONE }
}
const fn ctrl(c: char) -> Key {
    Key { code: KeyCode::Char(c), mods: KeyModifiers::CONTROL }
}
const fn alt(c: char) -> Key {
    Key { code: KeyCode::Char(c), mods: KeyModifiers::ALT }
}

const T: &[Context] = &[Context::Typing];
const I: &[Context] = &[Context::Inspect];
const TI: &[Context] = &[Context::Typing, Context::Inspect];
const TB: &[Context] = &[Context::Typing, Context::TextBox];
const B: &[Context] = &[Context::TextBox];
const H: &[Context] = &[Context::Help];
const L: &[Context] = &[Context::List];
const ALL: &[Context] = &[Context::Typing, Context::Inspect, Context::TextBox, Context::Help, Context::List];

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

const fn b(
    contexts: &'static [Context],
    keys: &'static [Key],
    action: Action,
    label: &'static str,
    help: &'static str,
) -> Binding {
    Binding { contexts, keys, empty_prompt: false, action, label, help, hint: None }
}

const fn hinted(binding: Binding, rank: u8, hint: &'static str) -> Binding {
    Binding { hint: Some((rank, hint)), ..binding }
}

const fn on_empty(binding: Binding) -> Binding {
    Binding { empty_prompt: true, ..binding }
}

use Action as A;
use EditAction as E;
use KeyCode as K;

/// In inspect mode a bare letter means what Alt-letter means while typing
/// (see `lookup`), so the letter controls are listed once, as Alt-x.
pub const BINDINGS: &[Binding] = &[
    hinted(b(ALL, &[ctrl('c')], A::ForceQuit, "Ctrl-C", "quit, always"), 5, "Ctrl-C quit"),
    hinted(b(TI, &[plain(K::F(1))], A::Help, "F1", "this help"), 0, "F1 help"),
    on_empty(b(TI, &[plain(K::Char('?'))], A::Help, "?", "help (on an empty prompt)")),
    on_empty(b(TI, &[plain(K::Char('q'))], A::Quit, "q", "quit (on an empty prompt; asks if unsaved)")),
    hinted(b(TI, &[plain(K::Enter)], A::Submit, "Enter", "generate a full continuation"), 1, "Enter generate"),
    hinted(b(B, &[plain(K::Enter)], A::Submit, "Enter (box)", "confirm the box"), 0, "Enter confirm"),
    hinted(b(T, &[plain(K::Esc)], A::Cancel, "Esc", "stop generating / close the compare view"), 2, "Esc stop"),
    hinted(b(B, &[plain(K::Esc)], A::Cancel, "Esc (box)", "close the box"), 1, "Esc cancel"),
    b(T, &[Key { code: K::Enter, mods: KeyModifiers::ALT }], A::Edit(E::NewLine), "Alt-Enter", "insert a line break"),
    b(TB, &[plain(K::Left)], A::Edit(E::Left), "←", "move left by a character (grapheme)"),
    b(TB, &[plain(K::Right)], A::Edit(E::Right), "→", "move right by a character"),
    b(TB, &[plain(K::Home), ctrl('a')], A::Edit(E::Home), "Home, Ctrl-A", "to the start of the text"),
    b(TB, &[plain(K::End), ctrl('e')], A::Edit(E::End), "End, Ctrl-E", "to the end of the text"),
    b(TB, &[plain(K::Backspace)], A::Edit(E::Backspace), "Backspace", "delete the character before"),
    b(TB, &[plain(K::Delete)], A::Edit(E::Delete), "Delete", "delete the character under the cursor"),
    b(TB, &[ctrl('w')], A::Edit(E::DeleteWordBack), "Ctrl-W", "delete the word before the cursor"),
    b(TB, &[ctrl('u')], A::Edit(E::DeleteToStart), "Ctrl-U", "delete to the start"),
    b(T, &[plain(K::Up)], A::HistoryPrev, "↑", "previous prompt (history)"),
    b(T, &[plain(K::Down)], A::HistoryNext, "↓", "next prompt (history)"),
    b(T, &[plain(K::PageUp)], A::ScrollBack, "PgUp", "scroll the output back"),
    b(T, &[plain(K::PageDown)], A::ScrollForward, "PgDn", "scroll the output forward"),
    hinted(
        b(T, &[plain(K::Tab)], A::ToggleInspect, "Tab", "inspect: pause, move a cursor over the steps"),
        3,
        "Tab inspect",
    ),
    hinted(b(I, &[plain(K::Tab)], A::ToggleInspect, "Tab (inspect)", "leave inspect mode (resume)"), 1, "Tab back"),
    b(I, &[plain(K::Esc)], A::Cancel, "Esc (inspect)", "leave inspect mode (resume)"),
    hinted(b(I, &[plain(K::Left)], A::CursorBy(-1), "← (inspect)", "cursor one step back"), 0, "←→ step"),
    b(I, &[plain(K::Right)], A::CursorBy(1), "→ (inspect)", "cursor one step on"),
    hinted(
        b(I, &[plain(K::PageUp), plain(K::Up)], A::CursorBy(-10), "PgUp, ↑ (inspect)", "cursor ten steps back"),
        2,
        "PgUp/PgDn ±10",
    ),
    b(I, &[plain(K::PageDown), plain(K::Down)], A::CursorBy(10), "PgDn, ↓ (inspect)", "cursor ten steps on"),
    hinted(b(I, &[plain(K::Home)], A::CursorFirst, "Home (inspect)", "cursor to the first step"), 4, "Home/End"),
    b(I, &[plain(K::End)], A::CursorLast, "End (inspect)", "cursor to the last step"),
    hinted(b(TI, &[alt('t')], A::Temperature(-1), "Alt-t", "temperature − 0.1"), 6, "Alt-t/T temp"),
    b(TI, &[alt('T')], A::Temperature(1), "Alt-T", "temperature + 0.1"),
    b(TI, &[alt('k')], A::TopK(-1), "Alt-k", "top-k: fewer (all → the vocabulary size − 1)"),
    b(TI, &[alt('K')], A::TopK(1), "Alt-K", "top-k: more (past the vocabulary size: all)"),
    b(TI, &[alt('p')], A::TopP(-1), "Alt-p", "top-p − 0.05"),
    b(TI, &[alt('P')], A::TopP(1), "Alt-P", "top-p + 0.05"),
    b(TI, &[alt('s')], A::Seed(-1), "Alt-s", "seed − 1"),
    b(TI, &[alt('S')], A::Seed(1), "Alt-S", "seed + 1"),
    b(TI, &[alt('-'), alt('_')], A::Length(-1), "Alt--", "continuation length ÷ 2"),
    b(TI, &[alt('+'), alt('=')], A::Length(1), "Alt-+", "continuation length × 2"),
    hinted(b(TI, &[alt('l')], A::Layer(1), "Alt-l", "next layer"), 7, "Alt-l layer"),
    b(TI, &[alt('L')], A::Layer(-1), "Alt-L", "previous layer"),
    hinted(b(TI, &[alt('g')], A::ToggleG, "Alt-g", "show the candidate g too"), 10, "Alt-g g"),
    b(TI, &[alt('h')], A::ToggleH, "Alt-h", "show |h| in the norm chart"),
    hinted(b(TI, &[alt('c')], A::CycleColour, "Alt-c", "colour the text: plain / surprise / cell"), 9, "Alt-c colour"),
    b(TI, &[alt('n')], A::Cell(1), "Alt-n", "colouring cell: next unit (+1)"),
    b(TI, &[alt('N')], A::Cell(-1), "Alt-N", "colouring cell: previous unit (−1)"),
    b(TI, &[alt('.')], A::Cell(10), "Alt-.", "colouring cell: ten units on (+10)"),
    b(TI, &[alt(',')], A::Cell(-10), "Alt-,", "colouring cell: ten units back (−10)"),
    b(TI, &[alt('m')], A::CellMostActive, "Alt-m", "colouring cell: the most active at the cursor"),
    b(TI, &[alt('#')], A::CellByNumber, "Alt-#", "colouring cell by number (a box asks)"),
    b(TI, &[alt('v'), ctrl('p')], A::TogglePreview, "Alt-v, Ctrl-P", "live preview on / off"),
    hinted(
        b(TI, &[alt('w'), ctrl('s')], A::Save, "Alt-w, Ctrl-S", "save transcript + trace (a box asks where)"),
        4,
        "Ctrl-S save",
    ),
    hinted(
        b(TI, &[alt('o'), ctrl('o')], A::Load, "Alt-o, Ctrl-O", "load a checkpoint (a box asks which)"),
        8,
        "Ctrl-O load",
    ),
    hinted(
        b(TI, &[alt('i')], A::Intervene, "Alt-i", "intervene: an editor for the colouring cell from the cursor's step"),
        11,
        "Alt-i intervene",
    ),
    b(TI, &[alt('I')], A::InterventionList, "Alt-I", "list the interventions (↑↓ select, Delete removes)"),
    b(TI, &[alt('X')], A::ClearInterventions, "Alt-X", "remove every intervention"),
    b(TI, &[alt('b')], A::ToggleCompare, "Alt-b", "compare view on / off: baseline beside the intervened run"),
    hinted(b(L, &[plain(K::Up)], A::ListMove(-1), "↑ (list)", "select the intervention above"), 0, "↑↓ select"),
    b(L, &[plain(K::Down)], A::ListMove(1), "↓ (list)", "select the intervention below"),
    hinted(
        b(
            L,
            &[plain(K::Delete), plain(K::Backspace)],
            A::ListRemove,
            "Delete (list)",
            "remove the selected intervention",
        ),
        1,
        "Delete remove",
    ),
    hinted(b(L, &[alt('X'), plain(K::Char('X'))], A::ClearInterventions, "X (list)", "remove them all"), 2, "X all"),
    hinted(b(L, &[plain(K::Esc), plain(K::Enter)], A::Cancel, "Esc (list)", "close the list"), 3, "Esc close"),
    b(H, &[plain(K::Up)], A::HelpScroll(-1), "↑ (help)", "scroll this help"),
    hinted(
        b(
            H,
            &[plain(K::Down), plain(K::PageDown), plain(K::Char(' '))],
            A::HelpScroll(1),
            "↓ (help)",
            "scroll this help on",
        ),
        0,
        "↑↓ scroll",
    ),
];

/// Lines of help that are not a binding: typing itself, and how the letter
/// keys work in inspect mode.
pub const HELP_NOTES: &[(&str, &str)] = &[
    ("type / paste", "edit the prompt (unknown characters are marked)"),
    ("Alt-x", "while typing = the bare letter x in inspect mode"),
];

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
mod tests {
    use super::*;

    #[test]
    fn every_action_has_a_binding_and_a_help_line() {
        for a in Action::ALL {
            let b = BINDINGS.iter().find(|b| b.action == *a);
            let b = b.unwrap_or_else(|| panic!("{a:?} has no binding"));
            assert!(!b.keys.is_empty() && !b.help.is_empty() && !b.label.is_empty(), "{a:?}");
        }
        for b in BINDINGS {
            assert!(Action::ALL.contains(&b.action), "{:?} is missing from Action::ALL", b.action);
        }
    }

    #[test]
    fn no_key_means_two_things_in_one_context() {
        for ctx in [Context::Typing, Context::Inspect, Context::TextBox, Context::Help, Context::List] {
            for empty in [false, true] {
                let live: Vec<&Binding> = BINDINGS
                    .iter()
                    .filter(|b| b.contexts.contains(&ctx) && (!b.empty_prompt || empty || ctx != Context::Typing))
                    .collect();
                for (i, x) in live.iter().enumerate() {
                    for y in &live[i + 1..] {
                        for k in x.keys {
                            assert!(
                                !y.keys.contains(k),
                                "{k:?} is bound to {:?} and {:?} in {ctx:?}",
                                x.action,
                                y.action
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn letters_in_inspect_mean_their_alt_form() {
        let t = KeyEvent::new(KeyCode::Char('t'), KeyModifiers::NONE);
        assert_eq!(lookup(Context::Inspect, &t, false), Some(Action::Temperature(-1)));
        assert_eq!(lookup(Context::Typing, &t, false), None, "typed");
        let q = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(lookup(Context::Typing, &q, false), None, "q types into a prompt");
        assert_eq!(lookup(Context::Typing, &q, true), Some(Action::Quit));
        let s = KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL);
        assert_eq!(lookup(Context::Typing, &s, false), Some(Action::Save));
    }
}
