//! The table itself: one row per binding, in the order help lists them.

use super::rows::*;
use super::{Action, Binding, EditAction, Key};
use ratatui::crossterm::event::{KeyCode, KeyModifiers};

use Action as A;
use EditAction as E;
use KeyCode as K;

/// In inspect mode a bare letter means what Alt-letter means while typing
/// (see `lookup`), so the letter controls are listed once, as Alt-x.
pub const BINDINGS: &[Binding] = &[
    hinted(b(EVERYWHERE, &[ctrl('c')], A::ForceQuit, "Ctrl-C", "quit, always"), 5, "Ctrl-C quit"),
    hinted(b(TYPING_OR_INSPECT, &[plain(K::F(1))], A::Help, "F1", "this help"), 0, "F1 help"),
    on_empty(b(TYPING_OR_INSPECT, &[plain(K::Char('?'))], A::Help, "?", "help (on an empty prompt)")),
    on_empty(b(TYPING_OR_INSPECT, &[plain(K::Char('q'))], A::Quit, "q", "quit (on an empty prompt; asks if unsaved)")),
    hinted(
        b(
            TYPING_OR_INSPECT,
            &[plain(K::Enter)],
            A::Submit,
            "Enter",
            "generate a full continuation (inspect, with a candidate chosen: branch there)",
        ),
        1,
        "Enter generate",
    ),
    hinted(b(TEXT_BOX, &[plain(K::Enter)], A::Submit, "Enter (box)", "confirm the box"), 0, "Enter confirm"),
    hinted(b(TYPING, &[plain(K::Esc)], A::Cancel, "Esc", "stop generating / close the compare view"), 2, "Esc stop"),
    hinted(b(TEXT_BOX, &[plain(K::Esc)], A::Cancel, "Esc (box)", "close the box"), 1, "Esc cancel"),
    b(
        TYPING,
        &[Key { code: K::Enter, mods: KeyModifiers::ALT }],
        A::Edit(E::NewLine),
        "Alt-Enter",
        "insert a line break",
    ),
    b(TYPING_OR_BOX, &[plain(K::Left)], A::Edit(E::Left), "←", "move left by a character (grapheme)"),
    b(TYPING_OR_BOX, &[plain(K::Right)], A::Edit(E::Right), "→", "move right by a character"),
    b(TYPING_OR_BOX, &[plain(K::Home), ctrl('a')], A::Edit(E::Home), "Home, Ctrl-A", "to the start of the text"),
    b(TYPING_OR_BOX, &[plain(K::End), ctrl('e')], A::Edit(E::End), "End, Ctrl-E", "to the end of the text"),
    b(TYPING_OR_BOX, &[plain(K::Backspace)], A::Edit(E::Backspace), "Backspace", "delete the character before"),
    b(TYPING_OR_BOX, &[plain(K::Delete)], A::Edit(E::Delete), "Delete", "delete the character under the cursor"),
    b(TYPING_OR_BOX, &[ctrl('w')], A::Edit(E::DeleteWordBack), "Ctrl-W", "delete the word before the cursor"),
    b(TYPING_OR_BOX, &[ctrl('u')], A::Edit(E::DeleteToStart), "Ctrl-U", "delete to the start"),
    b(TYPING, &[plain(K::Up)], A::HistoryPrev, "↑", "previous prompt (history)"),
    b(TYPING, &[plain(K::Down)], A::HistoryNext, "↓", "next prompt (history)"),
    b(TYPING, &[plain(K::PageUp)], A::ScrollBack, "PgUp", "scroll the output back"),
    b(TYPING, &[plain(K::PageDown)], A::ScrollForward, "PgDn", "scroll the output forward"),
    hinted(
        b(TYPING, &[plain(K::Tab)], A::ToggleInspect, "Tab", "inspect: pause, move a cursor over the steps"),
        3,
        "Tab inspect",
    ),
    hinted(
        b(INSPECT, &[plain(K::Tab)], A::ToggleInspect, "Tab (inspect)", "leave inspect mode (resume)"),
        1,
        "Tab back",
    ),
    b(INSPECT, &[plain(K::Esc)], A::Cancel, "Esc (inspect)", "leave inspect mode (resume)"),
    hinted(b(INSPECT, &[plain(K::Left)], A::CursorBy(-1), "← (inspect)", "cursor one step back"), 0, "←→ step"),
    b(INSPECT, &[plain(K::Right)], A::CursorBy(1), "→ (inspect)", "cursor one step on"),
    hinted(
        b(INSPECT, &[plain(K::PageUp)], A::CursorBy(-10), "PgUp (inspect)", "cursor ten steps back"),
        2,
        "PgUp/PgDn ±10",
    ),
    b(INSPECT, &[plain(K::PageDown)], A::CursorBy(10), "PgDn (inspect)", "cursor ten steps on"),
    hinted(
        b(
            INSPECT,
            &[plain(K::Up)],
            A::Choose(-1),
            "↑ (inspect)",
            "next-character panel: choose the candidate above (from the first: none)",
        ),
        1,
        "↑↓ choose, Enter branch",
    ),
    b(
        INSPECT,
        &[plain(K::Down)],
        A::Choose(1),
        "↓ (inspect)",
        "next-character panel: choose the candidate below; Enter makes it the next character and generates on \
         (a new branch; the old text stays as its sibling)",
    ),
    hinted(b(INSPECT, &[plain(K::Home)], A::CursorFirst, "Home (inspect)", "cursor to the first step"), 4, "Home/End"),
    b(INSPECT, &[plain(K::End)], A::CursorLast, "End (inspect)", "cursor to the last step"),
    hinted(b(TYPING_OR_INSPECT, &[alt('t')], A::Temperature(-1), "Alt-t", "temperature − 0.1"), 6, "Alt-t/T temp"),
    b(TYPING_OR_INSPECT, &[alt('T')], A::Temperature(1), "Alt-T", "temperature + 0.1"),
    b(TYPING_OR_INSPECT, &[alt('k')], A::TopK(-1), "Alt-k", "top-k: fewer (all → the vocabulary size − 1)"),
    b(TYPING_OR_INSPECT, &[alt('K')], A::TopK(1), "Alt-K", "top-k: more (past the vocabulary size: all)"),
    b(TYPING_OR_INSPECT, &[alt('p')], A::TopP(-1), "Alt-p", "top-p − 0.05"),
    b(TYPING_OR_INSPECT, &[alt('P')], A::TopP(1), "Alt-P", "top-p + 0.05"),
    b(TYPING_OR_INSPECT, &[alt('s')], A::Seed(-1), "Alt-s", "seed − 1"),
    b(TYPING_OR_INSPECT, &[alt('S')], A::Seed(1), "Alt-S", "seed + 1"),
    b(
        TYPING_OR_INSPECT,
        &[alt('W')],
        A::BeamWidth,
        "Alt-W",
        "beam search instead of sampling: width off → 2 → 4 … → 64 → off",
    ),
    b(TYPING_OR_INSPECT, &[alt('-'), alt('_')], A::Length(-1), "Alt--", "continuation length ÷ 2"),
    b(TYPING_OR_INSPECT, &[alt('+'), alt('=')], A::Length(1), "Alt-+", "continuation length × 2"),
    hinted(b(TYPING_OR_INSPECT, &[alt('l')], A::Layer(1), "Alt-l", "next layer"), 7, "Alt-l layer"),
    b(TYPING_OR_INSPECT, &[alt('L')], A::Layer(-1), "Alt-L", "previous layer"),
    hinted(b(TYPING_OR_INSPECT, &[alt('g')], A::ToggleG, "Alt-g", "show the candidate g too"), 10, "Alt-g g"),
    b(TYPING_OR_INSPECT, &[alt('h')], A::ToggleH, "Alt-h", "show |h| in the norm chart"),
    hinted(
        b(TYPING_OR_INSPECT, &[alt('c')], A::CycleColour, "Alt-c", "colour the text: plain / surprise / cell"),
        9,
        "Alt-c colour",
    ),
    b(TYPING_OR_INSPECT, &[alt('n')], A::Cell(1), "Alt-n", "colouring cell: next unit (+1)"),
    b(TYPING_OR_INSPECT, &[alt('N')], A::Cell(-1), "Alt-N", "colouring cell: previous unit (−1)"),
    b(TYPING_OR_INSPECT, &[alt('.')], A::Cell(10), "Alt-.", "colouring cell: ten units on (+10)"),
    b(TYPING_OR_INSPECT, &[alt(',')], A::Cell(-10), "Alt-,", "colouring cell: ten units back (−10)"),
    b(TYPING_OR_INSPECT, &[alt('m')], A::CellMostActive, "Alt-m", "colouring cell: the most active at the cursor"),
    b(TYPING_OR_INSPECT, &[alt('#')], A::CellByNumber, "Alt-#", "colouring cell by number (a box asks)"),
    b(TYPING_OR_INSPECT, &[alt('v'), ctrl('p')], A::TogglePreview, "Alt-v, Ctrl-P", "live preview on / off"),
    hinted(
        b(
            TYPING_OR_INSPECT,
            &[alt('w'), ctrl('s')],
            A::Save,
            "Alt-w, Ctrl-S",
            "save transcript + trace (a box asks where)",
        ),
        4,
        "Ctrl-S save",
    ),
    hinted(
        b(
            TYPING_OR_INSPECT,
            &[alt('o'), ctrl('o')],
            A::Load,
            "Alt-o, Ctrl-O",
            "load a checkpoint (a box asks which: FILE, or FILE --vocab V for a .pt)",
        ),
        8,
        "Ctrl-O load",
    ),
    hinted(
        b(
            TYPING_OR_INSPECT,
            &[alt('i')],
            A::Intervene,
            "Alt-i",
            "intervene: an editor for the colouring cell from the cursor's step",
        ),
        11,
        "Alt-i intervene",
    ),
    b(
        TYPING_OR_INSPECT,
        &[alt('I')],
        A::InterventionList,
        "Alt-I",
        "list the interventions (↑↓ select, Delete removes)",
    ),
    b(TYPING_OR_INSPECT, &[alt('X')], A::ClearInterventions, "Alt-X", "remove every intervention"),
    b(
        TYPING_OR_INSPECT,
        &[alt('b')],
        A::ToggleCompare,
        "Alt-b",
        "compare view on / off: baseline beside the intervened run",
    ),
    hinted(
        b(
            TYPING_OR_INSPECT,
            &[alt('u')],
            A::PinBox,
            "Alt-u",
            "pin / unpin a unit by lK:U (a box asks); pinned units head the heatmaps",
        ),
        12,
        "Alt-u pin",
    ),
    b(TYPING_OR_INSPECT, &[alt('U')], A::ClearPins, "Alt-U", "unpin every unit"),
    hinted(
        b(
            TYPING_INSPECT_OR_PANEL,
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
        TYPING_INSPECT_OR_PANEL,
        &[alt('G')],
        A::SaturationView,
        "Alt-G",
        "saturation view: per gate i f o, each unit at (right, left) fraction over the history, by layer; \
         arrows move a cursor, Tab the gate, Space the next nearest point, Enter pins it, Alt-G closes",
    ),
    b(
        TYPING_INSPECT_OR_PANEL,
        &[alt('F')],
        A::CellsFile,
        "Alt-F",
        "cells panel over a file: a box asks for a UTF-8 text file (the last one is filled in); \
         the catalogue of its first 20,000 characters, computed by the model worker",
    ),
    b(
        TYPING_INSPECT_OR_PANEL,
        &[alt('r')],
        A::Recompute,
        "Alt-r",
        "recompute the cells panel / saturation view over the current history (from a file's catalogue too)",
    ),
    // Not Alt-[ / Alt-]: ESC [ begins the terminal's own escape sequences.
    // In the panel too: the cells panel is measured again for each snapshot.
    b(
        TYPING_INSPECT_OR_PANEL,
        &[alt('<')],
        A::Snapshot(-1),
        "Alt-<",
        "timeline (play --replay DIR): the previous, younger snapshot; the text on screen is read again",
    ),
    b(
        TYPING_INSPECT_OR_PANEL,
        &[alt('>')],
        A::Snapshot(1),
        "Alt->",
        "timeline: the next, older snapshot; pins, colouring cell and interventions stay",
    ),
    hinted(
        b(
            TYPING_OR_INSPECT,
            &[alt('(')],
            A::Sibling(-1),
            "Alt-(",
            "branches: the previous sibling at the branch point nearest the cursor (or the end)",
        ),
        13,
        "Alt-( ) branch",
    ),
    b(
        TYPING_OR_INSPECT,
        &[alt(')')],
        A::Sibling(1),
        "Alt-)",
        "branches: the next sibling at the branch point nearest the cursor (or the end)",
    ),
    b(TYPING_OR_INSPECT, &[alt('B')], A::ParentBranch, "Alt-B", "branches: the parent of the branch on screen"),
    b(
        TYPING_OR_INSPECT,
        &[alt('3')],
        A::Samples,
        "Alt-3",
        "samples side by side: three continuations of the prompt (seeds s, s+1, s+2) in three columns; \
         ← → pick one, Enter makes it the continuation and the others its siblings",
    ),
    hinted(b(SAMPLES, &[plain(K::Left)], A::Column(-1), "← (samples)", "the column to the left"), 0, "←→ pick"),
    b(SAMPLES, &[plain(K::Right)], A::Column(1), "→ (samples)", "the column to the right"),
    hinted(
        b(
            SAMPLES,
            &[plain(K::Enter)],
            A::Submit,
            "Enter (samples)",
            "make the picked column the continuation (the others become its siblings)",
        ),
        1,
        "Enter choose",
    ),
    hinted(
        b(
            SAMPLES,
            &[plain(K::Esc)],
            A::Cancel,
            "Esc (samples)",
            "stop the samples still generating; when none is, close with the picked one",
        ),
        2,
        "Esc stop",
    ),
    hinted(
        b(
            INSPECT,
            &[alt('a')],
            A::MarkStart,
            "a (inspect)",
            "span search: mark the start at the cursor (then move, e)",
        ),
        5,
        "a/e span",
    ),
    b(
        INSPECT,
        &[alt('e')],
        A::MarkEnd,
        "e (inspect)",
        "span search: mark the end at the cursor and search (shown layer, c, threshold 0.3, pads 1/0); \
         the selected units are pinned, the matches highlighted",
    ),
    hinted(
        b(
            INSPECT,
            &[alt('x')],
            A::ExplainPanel,
            "x (inspect)",
            "explain panel: the colouring unit's cell at the cursor (c′ ×f + i·g → c → tanh ×o → h) and each \
             gate's largest terms, in place of the heatmaps; x closes",
        ),
        7,
        "x explain",
    ),
    b(
        INSPECT,
        &[alt('M')],
        A::MemoryColour,
        "M (inspect)",
        "colour the text by the colouring unit's memory writes w_s at the cursor (what its cell holds came \
         from there), the half-life underlined; M again: by its activation",
    ),
    b(
        INSPECT,
        &[alt('A')],
        A::AttributionColour,
        "A (inspect)",
        "colour the text by what the prediction after the cursor rests on: gradient × input, A again \
         integrated gradients, A again off; ↑↓ choose the character predicted; with the explain panel open, \
         the unit's c",
    ),
    b(
        INSPECT,
        &[alt('y')],
        A::NextPinned,
        "y (inspect)",
        "colouring unit (and the one explained): the next pinned unit; # types any lK:U",
    ),
    hinted(b(INSPECT, &[alt('j')], A::NextMatch(1), "j (inspect)", "cursor to the next search match"), 6, "j match"),
    b(INSPECT, &[alt('J')], A::NextMatch(-1), "J (inspect)", "cursor to the previous search match"),
    hinted(b(PANEL, &[plain(K::Up)], A::ListMove(-1), "↑ (panel)", "select the row above / cursor up"), 0, "↑↓ select"),
    b(PANEL, &[plain(K::Down)], A::ListMove(1), "↓ (panel)", "select the row below / cursor down"),
    b(PANEL, &[plain(K::PageUp)], A::ListMove(-10), "PgUp (panel)", "ten rows up"),
    b(PANEL, &[plain(K::PageDown)], A::ListMove(10), "PgDn (panel)", "ten rows down"),
    b(PANEL, &[plain(K::Left)], A::PanelSide(-1), "← (panel)", "saturation: cursor left"),
    b(PANEL, &[plain(K::Right)], A::PanelSide(1), "→ (panel)", "saturation: cursor right"),
    hinted(b(PANEL, &[plain(K::Tab)], A::PanelGate, "Tab (panel)", "saturation: next gate (i f o)"), 3, "Tab gate"),
    hinted(
        b(
            PANEL,
            &[plain(K::Char(' '))],
            A::PanelNext,
            "Space (panel)",
            "saturation: the next point nearest the cursor",
        ),
        4,
        "Space next",
    ),
    hinted(
        b(PANEL, &[plain(K::Enter)], A::Submit, "Enter (panel)", "pin the selected unit and colour the text by it"),
        1,
        "Enter pin",
    ),
    hinted(
        b(PANEL, &[plain(K::Esc)], A::Cancel, "Esc (panel)", "give the keys back (the panel stays; letters type too)"),
        2,
        "Esc keys back",
    ),
    hinted(b(LIST, &[plain(K::Up)], A::ListMove(-1), "↑ (list)", "select the intervention above"), 0, "↑↓ select"),
    b(LIST, &[plain(K::Down)], A::ListMove(1), "↓ (list)", "select the intervention below"),
    hinted(
        b(
            LIST,
            &[plain(K::Delete), plain(K::Backspace)],
            A::ListRemove,
            "Delete (list)",
            "remove the selected intervention",
        ),
        1,
        "Delete remove",
    ),
    hinted(b(LIST, &[alt('X'), plain(K::Char('X'))], A::ClearInterventions, "X (list)", "remove them all"), 2, "X all"),
    hinted(b(LIST, &[plain(K::Esc), plain(K::Enter)], A::Cancel, "Esc (list)", "close the list"), 3, "Esc close"),
    b(HELP, &[plain(K::Up)], A::HelpScroll(-1), "↑ (help)", "scroll this help"),
    hinted(
        b(
            HELP,
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
