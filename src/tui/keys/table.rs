//! The table itself: one row per binding, in the order help lists them.

use super::{Action, Binding, Context, EditAction, Key};
use ratatui::crossterm::event::{KeyCode, KeyModifiers};

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
const P: &[Context] = &[Context::Panel];
const TIP: &[Context] = &[Context::Typing, Context::Inspect, Context::Panel];
const ALL: &[Context] =
    &[Context::Typing, Context::Inspect, Context::TextBox, Context::Help, Context::List, Context::Panel];

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
        b(
            TI,
            &[alt('o'), ctrl('o')],
            A::Load,
            "Alt-o, Ctrl-O",
            "load a checkpoint (a box asks which: FILE, or FILE --vocab V for a .pt)",
        ),
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
    hinted(
        b(
            TI,
            &[alt('u')],
            A::PinBox,
            "Alt-u",
            "pin / unpin a unit by lK:U (a box asks); pinned units head the heatmaps",
        ),
        12,
        "Alt-u pin",
    ),
    b(TI, &[alt('U')], A::ClearPins, "Alt-U", "unpin every unit"),
    hinted(
        b(
            TIP,
            &[alt('C')],
            A::CellsPanel,
            "Alt-C",
            "cells panel: the catalogue (features, units, state, r) over the history, in place of the heatmaps; \
             ↑↓ select, Enter pins the unit and colours by it, Esc gives the keys back, Alt-C closes",
        ),
        5,
        "Alt-C cells",
    ),
    b(
        TIP,
        &[alt('G')],
        A::SaturationView,
        "Alt-G",
        "saturation view: per gate i f o, each unit at (right, left) fraction over the history, by layer; \
         arrows move a cursor, Tab the gate, Space the next nearest point, Enter pins it, Alt-G closes",
    ),
    b(
        TIP,
        &[alt('F')],
        A::CellsFile,
        "Alt-F",
        "cells panel over a file: a box asks for a UTF-8 text file (the last one is filled in); \
         the catalogue of its first 20,000 characters, computed by the model worker",
    ),
    b(
        TIP,
        &[alt('r')],
        A::Recompute,
        "Alt-r",
        "recompute the cells panel / saturation view over the current history (from a file's catalogue too)",
    ),
    hinted(
        b(I, &[alt('a')], A::MarkStart, "a (inspect)", "span search: mark the start at the cursor (then move, e)"),
        5,
        "a/e span",
    ),
    b(
        I,
        &[alt('e')],
        A::MarkEnd,
        "e (inspect)",
        "span search: mark the end at the cursor and search (shown layer, c, threshold 0.3, pads 1/0); \
         the selected units are pinned, the matches highlighted",
    ),
    hinted(b(I, &[alt('j')], A::NextMatch(1), "j (inspect)", "cursor to the next search match"), 6, "j match"),
    b(I, &[alt('J')], A::NextMatch(-1), "J (inspect)", "cursor to the previous search match"),
    hinted(b(P, &[plain(K::Up)], A::ListMove(-1), "↑ (panel)", "select the row above / cursor up"), 0, "↑↓ select"),
    b(P, &[plain(K::Down)], A::ListMove(1), "↓ (panel)", "select the row below / cursor down"),
    b(P, &[plain(K::PageUp)], A::ListMove(-10), "PgUp (panel)", "ten rows up"),
    b(P, &[plain(K::PageDown)], A::ListMove(10), "PgDn (panel)", "ten rows down"),
    b(P, &[plain(K::Left)], A::PanelSide(-1), "← (panel)", "saturation: cursor left"),
    b(P, &[plain(K::Right)], A::PanelSide(1), "→ (panel)", "saturation: cursor right"),
    hinted(b(P, &[plain(K::Tab)], A::PanelGate, "Tab (panel)", "saturation: next gate (i f o)"), 3, "Tab gate"),
    hinted(
        b(P, &[plain(K::Char(' '))], A::PanelNext, "Space (panel)", "saturation: the next point nearest the cursor"),
        4,
        "Space next",
    ),
    hinted(
        b(P, &[plain(K::Enter)], A::Submit, "Enter (panel)", "pin the selected unit and colour the text by it"),
        1,
        "Enter pin",
    ),
    hinted(
        b(P, &[plain(K::Esc)], A::Cancel, "Esc (panel)", "give the keys back (the panel stays; letters type too)"),
        2,
        "Esc keys back",
    ),
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
