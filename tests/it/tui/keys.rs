//! Keys and messages through the real App: every binding of the key table
//! does something in each of its contexts, each control does what help
//! says, boxes keep their errors, messages expire by the injected clock,
//! `q` asks before losing an unsaved run, and the status line and help fit
//! small screens without cutting words.

use gatescope::tui::app::branches::Tree;
use gatescope::tui::app::{App, ColorMode, Mode, ERROR_TTL, INFO_TTL};
use gatescope::tui::event::{Event, WorkerEvent};
use gatescope::tui::keys::{self, Action, Context, BINDINGS};
use gatescope::tui::ui;
use gatescope::tui::worker::WorkerCmd;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::time::{Duration, Instant};

use crate::common::app::*;
use crate::common::{assert_snapshot, screen};

#[test]
fn every_key_in_help_does_something() {
    let mut app = app_with_run("ROMEO:\n", 40);
    let s0 = app.sampling;
    assert!(matches!(app.update(alt('t')), Some(WorkerCmd::SetSampling(s)) if s.temperature < s0.temperature));
    assert!(
        matches!(app.update(alt('T')), Some(WorkerCmd::SetSampling(s)) if (s.temperature - s0.temperature).abs() < 1e-6)
    );
    // Top-k steps within the vocabulary (28 characters): from "all" to 20, not to 160.
    assert_eq!(app.model.vocab.len(), 28);
    assert!(matches!(app.update(alt('k')), Some(WorkerCmd::SetSampling(s)) if s.top_k == 20));
    assert!(matches!(app.update(alt('k')), Some(WorkerCmd::SetSampling(s)) if s.top_k == 10));
    assert!(matches!(app.update(alt('K')), Some(WorkerCmd::SetSampling(s)) if s.top_k == 20));
    assert!(matches!(app.update(alt('K')), Some(WorkerCmd::SetSampling(s)) if s.top_k == 0));
    assert!(matches!(app.update(alt('p')), Some(WorkerCmd::SetSampling(s)) if s.top_p < 1.0));
    assert!(matches!(app.update(alt('P')), Some(WorkerCmd::SetSampling(s)) if s.top_p == 1.0));
    assert!(matches!(app.update(alt('S')), Some(WorkerCmd::SetSampling(s)) if s.seed == 1));
    assert!(matches!(app.update(alt('s')), Some(WorkerCmd::SetSampling(s)) if s.seed == 0));
    let len = app.length;
    app.update(alt('+'));
    assert_eq!(app.length, len * 2);
    app.update(alt('-'));
    assert_eq!(app.length, len);
    app.update(alt('l'));
    assert_eq!(app.view.layer, 1);
    app.update(alt('L'));
    assert_eq!(app.view.layer, 0);
    app.update(alt('g'));
    assert!(app.view.show_g);
    app.update(alt('h'));
    assert!(app.view.show_h);
    app.update(alt('n'));
    assert_eq!((app.view.cell, app.view.color), (1, ColorMode::Cell));
    app.update(alt('N'));
    assert_eq!(app.view.cell, 0);
    app.update(alt('.'));
    assert_eq!(app.view.cell, 10);
    app.update(alt(','));
    app.update(alt(','));
    assert_eq!(app.view.cell, 6, "wraps around the 16 units");
    app.update(alt('.'));
    assert_eq!(app.view.cell, 0);
    app.update(alt('m'));
    assert_eq!(Some(app.view.cell), app.most_active_cell());
    // Alt-# asks for a unit number; a bad one is refused and named.
    app.update(alt('#'));
    type_str(&mut app, "12");
    app.update(key(KeyCode::Enter));
    assert_eq!((app.view.cell, app.view.color), (12, ColorMode::Cell));
    app.update(alt('#'));
    type_str(&mut app, "99");
    app.update(key(KeyCode::Enter));
    assert_eq!(app.view.cell, 12);
    assert!(app.message.clone().unwrap().text.contains("no unit \"99\""), "{:?}", app.message);
    assert_eq!(app.mode, Mode::Cell, "a refused number keeps the box open");
    type_str(&mut app, "x");
    assert_eq!(app.box_editor.text(), "99x", "typing goes on into the box, not the prompt");
    assert_eq!(app.prompt.editor.text(), "ROMEO:\n");
    app.update(key(KeyCode::Backspace));
    app.update(key(KeyCode::Home));
    app.update(Event::Key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL)));
    app.update(key(KeyCode::End));
    app.update(Event::Key(KeyEvent::new(KeyCode::Char('w'), KeyModifiers::CONTROL)));
    type_str(&mut app, "l1:3");
    app.update(key(KeyCode::Enter));
    assert_eq!((app.view.layer, app.view.cell, app.mode), (1, 3, Mode::Typing), "a unit named lK:U");
    app.update(alt('L'));
    app.update(alt('v'));
    assert!(!app.preview);
    app.update(Event::Key(KeyEvent::new(KeyCode::Char('p'), KeyModifiers::CONTROL)));
    assert!(app.preview);
    // Save writes both files where it says.
    let dir = tempfile::tempdir().unwrap();
    app.save_dir = dir.path().to_path_buf();
    app.update(Event::Key(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL)));
    assert_eq!(app.mode, Mode::Save);
    assert!(app.box_editor.text().starts_with("gatescope-") && app.box_editor.text().ends_with(".txt"));
    app.update(key(KeyCode::Enter));
    let msg = app.message.clone().unwrap().text;
    assert!(msg.starts_with("saved "), "{msg}");
    let names: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    let txt = names.iter().find(|n| n.ends_with(".txt")).expect("a transcript");
    let jsonl = names.iter().find(|n| n.ends_with(".jsonl")).expect("a trace");
    assert!(msg.contains(txt.as_str()));
    let transcript = std::fs::read_to_string(dir.path().join(txt)).unwrap();
    assert!(transcript.starts_with("ROMEO:\n"));
    assert_eq!(transcript.chars().count(), app.run.steps.len());
    let trace = std::fs::read_to_string(dir.path().join(jsonl)).unwrap();
    assert_eq!(trace.lines().count(), app.run.steps.len());
    assert_eq!(trace.lines().next().unwrap(), app.run.steps[0].to_json_line());
    // A failing destination is reported, not fatal.
    app.save_dir = dir.path().join("missing");
    app.update(alt('w'));
    app.update(key(KeyCode::Enter));
    assert!(app.message.clone().unwrap().text.starts_with("save failed"));
    assert_eq!(app.mode, Mode::Save, "the box stays open to choose another path");
    app.update(key(KeyCode::Esc));
    // Load opens a path prompt; Enter sends the path; failure keeps the model.
    app.update(alt('o'));
    assert_eq!(app.mode, Mode::Load);
    type_str(&mut app, "/nope.safetensors");
    assert_eq!(app.update(key(KeyCode::Enter)), Some(WorkerCmd::Load("/nope.safetensors".into(), Default::default())));
    app.update(Event::Worker(WorkerEvent::LoadFailed("/nope.safetensors: cannot read".into())));
    assert!(app.message.clone().unwrap().text.contains("keeping the current model"));
    app.update(Event::Key(KeyEvent::new(KeyCode::Char('o'), KeyModifiers::CONTROL)));
    assert_eq!(app.mode, Mode::Load);
    app.update(key(KeyCode::Esc));
    assert_eq!(app.mode, Mode::Typing);
    // Help: F1, or ? on an empty prompt; any key closes it.
    app.update(key(KeyCode::F(1)));
    assert!(app.view.help);
    app.update(key(KeyCode::Char('x')));
    assert!(!app.view.help);
    // Inspect: Tab pauses, arrows move, Tab resumes.
    app.update(key(KeyCode::Tab));
    assert_eq!(app.mode, Mode::Inspect);
    let last = app.run.steps.len() - 1;
    app.update(key(KeyCode::Home));
    assert_eq!(app.focus(), Some(0));
    app.update(key(KeyCode::Right));
    app.update(key(KeyCode::PageDown));
    assert_eq!(app.focus(), Some(11));
    app.update(key(KeyCode::End));
    assert_eq!(app.focus(), Some(last));
    app.update(key(KeyCode::Char('q')));
    assert!(!app.quit, "q does not quit with a prompt");
    app.update(key(KeyCode::Esc));
    assert_eq!(app.mode, Mode::Typing);
    // History.
    app.update(Event::Key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL)));
    assert!(app.prompt.editor.is_empty());
    app.update(key(KeyCode::Up));
    assert_eq!(app.prompt.editor.text(), "ROMEO:\n");
    app.update(key(KeyCode::Down));
    assert_eq!(app.prompt.editor.text(), "");
    // ? on an empty prompt is help, q quits.
    app.update(key(KeyCode::Char('?')));
    assert!(app.view.help);
    app.update(key(KeyCode::Esc));
    assert_eq!(app.update(key(KeyCode::Char('q'))), Some(WorkerCmd::Shutdown));
    assert!(app.quit);
    let mut app = App::new(info(&model()));
    type_str(&mut app, "abc");
    app.update(Event::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)));
    assert!(app.quit, "Ctrl-C always quits");
}

#[test]
fn messages_expire_by_the_clock_or_on_the_next_key() {
    let mut app = app_with_run("ROMEO:\n", 20);
    let t0 = Instant::now();
    app.update_at(alt('m'), t0);
    assert!(app.message.as_ref().unwrap().text.contains("colouring by l0:"), "{:?}", app.message);
    assert!(app.deadline().is_some_and(|d| d <= t0 + INFO_TTL), "the loop wakes to take it down");
    app.tick(t0 + INFO_TTL - Duration::from_millis(1));
    assert!(app.message.is_some(), "still up just before it expires");
    app.tick(t0 + INFO_TTL);
    assert!(app.message.is_none(), "expired");
    assert!(screen(&draw(&app, 100, 30))[29].contains("F1 help"), "the hints are back");
    // An error stays longer, and the next key takes it down at once.
    app.update_at(alt('#'), t0);
    type_str(&mut app, "x");
    app.update_at(key(KeyCode::Enter), t0);
    assert!(app.message.as_ref().unwrap().until >= t0 + ERROR_TTL);
    app.update_at(key(KeyCode::Esc), t0);
    assert_eq!(app.message.as_ref().unwrap().text, "cell choice cancelled");
    app.update_at(key(KeyCode::Left), t0);
    assert!(app.message.is_none());
}

#[test]
fn q_asks_once_before_losing_an_unsaved_run() {
    let mut app = app_with_run("RO", 30);
    app.update(Event::Key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL)));
    assert!(app.prompt.editor.is_empty());
    assert_eq!(app.update(key(KeyCode::Char('q'))), None, "not at once: the run is unsaved");
    assert!(!app.quit && app.message.as_ref().unwrap().text.contains("q again quits"));
    assert_eq!(app.update(key(KeyCode::Char('q'))), Some(WorkerCmd::Shutdown));
    assert!(app.quit);
    // Another key in between disarms it.
    let mut app = app_with_run("RO", 30);
    app.update(Event::Key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL)));
    app.update(key(KeyCode::Char('q')));
    app.update(key(KeyCode::PageUp));
    assert_eq!(app.update(key(KeyCode::Char('q'))), None);
    // Saved: q quits at once.
    let dir = tempfile::tempdir().unwrap();
    app.save_dir = dir.path().to_path_buf();
    app.update(alt('w'));
    app.update(key(KeyCode::Enter));
    assert!(app.message.as_ref().unwrap().text.starts_with("saved"), "{:?}", app.message);
    assert_eq!(app.update(key(KeyCode::Char('q'))), Some(WorkerCmd::Shutdown));
}

#[test]
fn the_save_box_takes_a_path() {
    let mut app = app_with_run("RO", 30);
    let dir = tempfile::tempdir().unwrap();
    app.update(Event::Key(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL)));
    assert_eq!(app.mode, Mode::Save);
    app.update(Event::Key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL)));
    app.update(Event::Paste(format!("{}/sub/run1", dir.path().display())));
    app.update(key(KeyCode::Enter));
    assert!(app.message.as_ref().unwrap().text.starts_with("save failed"), "a missing folder: {:?}", app.message);
    assert_eq!(app.mode, Mode::Save, "the box stays open to fix the path");
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    app.update(key(KeyCode::Enter));
    assert_eq!(app.mode, Mode::Typing);
    let txt = std::fs::read_to_string(dir.path().join("sub/run1.txt")).unwrap();
    assert_eq!(txt.chars().count(), app.run.steps.len());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("sub/run1.jsonl")).unwrap().lines().count(),
        txt.chars().count()
    );
    // The same name again is refused, not overwritten.
    app.update(alt('w'));
    app.update(Event::Key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL)));
    app.update(Event::Paste(format!("{}/sub/run1.txt", dir.path().display())));
    app.update(key(KeyCode::Enter));
    assert!(app.message.as_ref().unwrap().text.contains("exists"), "{:?}", app.message);
}

/// The status and hint lines, at every width from 80 up, hold whole parts:
/// what does not fit is left out, never cut mid-word.
#[test]
fn status_and_hints_fit_the_width_without_cutting_words() {
    let mut app = app_with_run("ROMEO:\n", 40);
    for inspect in [false, true] {
        if inspect {
            app.update(key(KeyCode::Tab));
        }
        let wide = screen(&draw(&app, 300, 36));
        let parts: Vec<&str> = wide[34].trim().split(" │ ").collect();
        let hints = wide[35].trim_end();
        for w in 80u16..=160 {
            let rows = screen(&draw(&app, w, 36));
            let (status, hint) = (rows[34].trim_end(), rows[35].trim_end());
            for part in status.trim().split(" │ ") {
                assert!(parts.contains(&part), "{w} cols: {part:?} is not a whole part of {parts:?}");
            }
            assert!(hints.starts_with(hint), "{w} cols: {hint:?}");
            let next = hints[hint.len()..].chars().next();
            assert!(next.is_none() || next == Some(' '), "{w} cols: a hint cut short: {hint:?}");
            if !inspect && w >= 120 {
                assert!(hint.contains("Ctrl-S save"), "{w} cols: {hint:?}");
            }
        }
    }
}

#[test]
fn help_is_readable_at_80x24_and_scrolls() {
    let mut app = app_with_run("ROMEO:\n", 10);
    app.update(key(KeyCode::F(1)));
    let first = screen(&draw(&app, 80, 24));
    assert_snapshot("help_first_page_80x24", first.join("\n"));
    let joined = first.join("\n");
    assert!(joined.contains("delete the word before the cursor") && joined.contains("↓ more"), "{joined}");
    for _ in 0..37 {
        app.update(key(KeyCode::Down));
    }
    let middle = screen(&draw(&app, 80, 24)).join("\n");
    assert!(middle.contains("next unit (+1)") && middle.contains("ten units on (+10)"), "±1 and ±10 differ: {middle}");
    for _ in 0..100 {
        app.update(key(KeyCode::Down));
    }
    assert!(app.view.help, "scrolling keeps help open");
    let last = screen(&draw(&app, 80, 24)).join("\n");
    assert!(last.contains("Ctrl-C") || last.contains("scroll this help"), "{last}");
    assert!(!last.contains("↓ more"));
    app.update(key(KeyCode::Char('x')));
    assert!(!app.view.help);
}

/// With the screen known (the event loop sets the furthest scroll before
/// each frame), ↓ past the end stops there, so the first ↑ moves the view.
#[test]
fn help_scrolled_past_its_end_comes_back_at_the_first_up() {
    let mut app = app_with_run("ROMEO:\n", 10);
    app.update(key(KeyCode::F(1)));
    let max = ui::help::max_scroll(ratatui::layout::Rect::new(0, 0, 80, 24));
    assert!(max > 10, "at 80x24 the help is taller than the screen: {max}");
    app.view.help_max_scroll = Some(max);
    for _ in 0..max + 50 {
        app.update(key(KeyCode::Down));
    }
    assert_eq!(app.view.help_scroll, max);
    let end = screen(&draw(&app, 80, 24));
    assert!(!end.join("\n").contains("↓ more"), "the last line is on screen");
    app.update(key(KeyCode::Up));
    assert_eq!(app.view.help_scroll, max - 1);
    let up = screen(&draw(&app, 80, 24));
    assert_ne!(up, end, "one ↑ shows the line before");
    assert!(up.join("\n").contains("↓ more"));
}

/// What a key can change: the screen (at 120x40) and the state behind it
/// that the screen may not show at once.
fn observable(app: &App) -> String {
    let v = &app.view;
    format!(
        "{:?} quit={} len={} preview={} {:?} layer={} cell={} cursor={} scroll={} help={}/{} g={} h={} pins={:?} \
         panel={:?} span={:?}/{:?} match={:?} prompt={:?}@{} box={:?}@{} ivs={}/{} row={} sat={}/{}/{}/{} \
         choice={:?} samples={:?}\n{}",
        app.mode,
        app.quit,
        app.length,
        app.preview,
        app.sampling,
        v.layer,
        v.cell,
        v.cursor,
        v.scroll,
        v.help,
        v.help_scroll,
        v.show_g,
        v.show_h,
        v.pins,
        v.panel,
        app.analyses.search.start,
        app.analyses.search.span,
        app.analyses.search.current,
        app.prompt.editor.text(),
        app.prompt.editor.cursor(),
        app.box_editor.text(),
        app.box_editor.cursor(),
        app.interventions.active.len(),
        app.interventions.selected,
        app.analyses.cells_row,
        app.analyses.sat_cursor.gate,
        app.analyses.sat_cursor.x,
        app.analyses.sat_cursor.y,
        app.analyses.sat_cursor.nth,
        v.choice,
        app.samples.as_ref().map(|s| (s.selected, s.live, s.done.len())),
        screen(&draw(app, 120, 40)).join("\n")
    )
}

/// Let the analyses finish, a slice per tick, as the main loop does.
fn finish(app: &mut App) {
    while app.analyses.busy() {
        app.tick(Instant::now());
    }
}

/// An app in `context`, set up so that `action` has something to act on
/// there: a cursor inside the text, a scrolled help, a list of three
/// interventions with the middle one selected, a cells panel with rows on
/// both sides of the selection, search matches around the cursor.
fn app_for(context: Context, action: Action, empty_prompt: bool) -> App {
    let mut app = app_with_run("ROMEO:\n", 300);
    // Top-k and top-p start at their largest: a step down first.
    match action {
        Action::TopK(1) => {
            app.update(alt('k'));
        }
        Action::TopP(1) => {
            app.update(alt('p'));
        }
        // The seed stops at 0: a step up first.
        Action::Seed(-1) => {
            app.update(alt('S'));
        }
        // Sibling and parent keys move in a tree: a branch after t=100 on
        // screen (the run's own steps, cut at t=200), the run as its parent.
        Action::Sibling(_) | Action::ParentBranch => {
            let steps: Vec<_> = app.run.steps.iter().cloned().collect();
            let mut tree = Tree::new(app.run.prompt.clone(), steps.clone());
            let id = tree.add(100);
            tree.set_steps(id, steps[..=200].to_vec());
            app.run.steps = steps[..=200].to_vec().into();
            app.run.tree = Some(tree);
        }
        // Alt-r recomputes a panel that is shown: open one, give the keys back.
        Action::Recompute if context != Context::Panel => {
            app.update(alt('C'));
            finish(&mut app);
            app.update(key(KeyCode::Esc));
        }
        _ => {}
    }
    match context {
        Context::Typing => {
            type_str(&mut app, "But soft");
            app.update(key(KeyCode::Left));
            app.update(key(KeyCode::Left));
            if empty_prompt {
                app.prompt.editor.clear();
            }
            match action {
                // Esc stops a generation: start one (no worker answers).
                Action::Cancel => assert!(app.update(key(KeyCode::Enter)).is_some()),
                Action::HistoryNext => {
                    app.update(key(KeyCode::Up));
                }
                Action::ScrollForward => {
                    app.update(key(KeyCode::PageUp));
                }
                Action::ClearPins => {
                    app.view.pin(gatescope::model::Unit::new(1, 3));
                }
                _ => {}
            }
        }
        Context::Inspect => {
            app.update(key(KeyCode::Tab));
            app.update(key(KeyCode::Home));
            for _ in 0..150 {
                app.update(key(KeyCode::Right));
            }
            assert_eq!(app.view.cursor, 150);
            match action {
                Action::MarkEnd => {
                    app.update(key(KeyCode::Char('a')));
                    app.update(key(KeyCode::Right));
                }
                Action::NextMatch(_) => app.analyses.search.matches = vec![20..22, 100..103, 200..202],
                // ↑ from no choice is no choice: choose one first.
                Action::Choose(-1) => {
                    app.update(key(KeyCode::Down));
                }
                Action::ClearPins => {
                    app.view.pin(gatescope::model::Unit::new(1, 3));
                }
                _ => {}
            }
        }
        Context::TextBox => {
            app.update(alt('#'));
            type_str(&mut app, "12");
            app.update(key(KeyCode::Left));
        }
        Context::Help => {
            app.update(key(KeyCode::F(1)));
            app.update(key(KeyCode::Down));
            app.update(key(KeyCode::Down));
        }
        Context::List => {
            for spec in ["l0:1:c=0@10..", "l1:2:h*=2", "l0:3:f=1@5..9"] {
                app.interventions.active.push(spec.parse().unwrap());
            }
            app.update(alt('I'));
            app.update(key(KeyCode::Down));
            assert_eq!(app.interventions.selected, 1);
        }
        Context::Samples => {
            assert!(matches!(app.update(alt('3')), Some(WorkerCmd::Start { .. })));
            if action == Action::Column(-1) {
                app.update(key(KeyCode::Right));
            }
        }
        Context::Panel => {
            let saturation = matches!(action, Action::PanelSide(_) | Action::PanelGate | Action::PanelNext);
            app.update(alt(if saturation { 'G' } else { 'C' }));
            finish(&mut app);
            for _ in 0..12 {
                app.update(key(KeyCode::Down));
            }
            if saturation {
                app.update(key(KeyCode::Right));
                app.update(key(KeyCode::Right));
            }
        }
    }
    assert_eq!(app.context(), context, "set up for {action:?}");
    app
}

/// Every row of the key table (src/tui/keys/table.rs), every key it lists,
/// in every context it names: the key reaches that binding there, and
/// pressing it in the real App does something (asks the worker, or changes
/// the screen or the state behind it). A row added to the table is tested
/// here without a line of this test changing.
#[test]
fn every_binding_in_the_key_table_does_something_in_each_of_its_contexts() {
    let mut checked = 0;
    for b in BINDINGS {
        for &context in b.contexts {
            for k in b.keys {
                let empty = b.empty_prompt && context == Context::Typing;
                let mut app = app_for(context, b.action, empty);
                let ev = KeyEvent::new(k.code, k.mods);
                let prompt_empty = app.prompt.editor.is_empty();
                assert_eq!(
                    keys::lookup(context, &ev, prompt_empty),
                    Some(b.action),
                    "{} in {context:?} reaches {:?}",
                    b.label,
                    b.action
                );
                let before = observable(&app);
                let cmd = app.update(Event::Key(ev));
                assert!(
                    cmd.is_some() || observable(&app) != before,
                    "{} ({k:?}) in {context:?} did nothing: {:?}",
                    b.label,
                    b.action
                );
                checked += 1;
            }
        }
    }
    let listed: usize = BINDINGS.iter().map(|b| b.contexts.len() * b.keys.len()).sum();
    assert_eq!(checked, listed);
    assert!(checked > 100, "{checked} key presses");
}

/// Alt-U unpins every unit, while typing and (as bare U) in inspect mode.
#[test]
fn alt_u_unpins_every_unit() {
    for inspect in [false, true] {
        let mut app = app_with_run("ROMEO:\n", 40);
        for u in ["l1:3", "l0:7"] {
            app.update(alt('u'));
            type_str(&mut app, u);
            app.update(key(KeyCode::Enter));
        }
        assert_eq!(app.view.pins.len(), 2, "two pinned");
        if inspect {
            app.update(key(KeyCode::Tab));
            assert_eq!(app.mode, Mode::Inspect);
        }
        let unpin = if inspect { key(KeyCode::Char('U')) } else { alt('U') };
        app.update(unpin);
        assert!(app.view.pins.is_empty(), "inspect {inspect}: {:?}", app.view.pins);
    }
}

/// j and J in inspect mode: the cursor to the next and the previous search
/// match, from wherever it is; past the last (first) it stays.
#[test]
fn j_and_shift_j_move_between_search_matches() {
    let mut app = app_with_run("ROMEO:\n", 300);
    app.update(key(KeyCode::Tab));
    app.update(key(KeyCode::Home));
    for _ in 0..150 {
        app.update(key(KeyCode::Right));
    }
    app.analyses.search.matches = vec![20..22, 100..103, 200..202];
    app.update(key(KeyCode::Char('J')));
    assert_eq!((app.view.cursor, app.analyses.search.current), (100, Some(1)), "J: the match before t=150");
    app.update(key(KeyCode::Char('J')));
    assert_eq!((app.view.cursor, app.analyses.search.current), (20, Some(0)));
    app.update(key(KeyCode::Char('j')));
    assert_eq!((app.view.cursor, app.analyses.search.current), (100, Some(1)), "j: the next one");
    app.update(key(KeyCode::Char('j')));
    assert_eq!(app.view.cursor, 200);
}

/// PgUp and PgDn move the cells panel's selection ten rows; ↑ and ↓ one.
#[test]
fn the_panel_moves_its_selection_by_ten_rows_on_pgup_and_pgdn() {
    let mut app = app_with_run("ROMEO:\n", 300);
    app.update(alt('C'));
    finish(&mut app);
    let rows = gatescope::tui::app::analyses::cell_rows(&app.analyses.catalogue.as_ref().unwrap().value).len();
    assert!(rows > 21, "rows to move over: {rows}");
    assert_eq!(app.analyses.cells_row, 0);
    app.update(key(KeyCode::PageDown));
    assert_eq!(app.analyses.cells_row, 10);
    app.update(key(KeyCode::Down));
    assert_eq!(app.analyses.cells_row, 11);
    app.update(key(KeyCode::PageDown));
    assert_eq!(app.analyses.cells_row, 21);
    app.update(key(KeyCode::PageUp));
    assert_eq!(app.analyses.cells_row, 11);
    app.update(key(KeyCode::Up));
    app.update(key(KeyCode::PageUp));
    assert_eq!(app.analyses.cells_row, 0);
    app.update(key(KeyCode::PageUp));
    assert_eq!(app.analyses.cells_row, 0, "stays on the first row");
}
