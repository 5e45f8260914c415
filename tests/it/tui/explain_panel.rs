//! The explain panel and the memory colouring: the real App and a real
//! Worker (driven here, without its thread) over a tiny random model. The
//! panel's numbers are `analysis::explain`'s for the same text, step and
//! unit; its rows add up to each gate's z; a newer cursor position replaces
//! a request the worker has not answered; the screens are snapshots.

use gatescope::analysis::encode;
use gatescope::analysis::explain::{explain, Explanation};
use gatescope::model::{CharLstm, Gate, Unit};
use gatescope::tui::app::explain::PANEL_TOP;
use gatescope::tui::app::{App, ColorMode, Mode, Panel};
use gatescope::tui::event::{Event, WorkerEvent};
use gatescope::tui::ui::{self, theme};
use gatescope::tui::worker::{Worker, WorkerCmd};
use ratatui::crossterm::event::KeyCode;
use std::sync::mpsc::{channel, Receiver};
use std::time::Instant;

use crate::common::app::*;
use crate::common::{assert_close, assert_snapshot, screen};

/// A run of the tiny model, in inspect mode, colouring by `unit` (typed in
/// the unit box), the cursor `back` steps before the last.
fn inspecting(m: &CharLstm, prompt: &str, generated: usize, unit: &str, back: usize) -> App {
    let mut app = run(App::new(info(m)), m, prompt, generated);
    app.update(key(KeyCode::Tab));
    app.update(alt('x'));
    assert_eq!(app.view.panel, Panel::Explain);
    app.update(key(KeyCode::Char('#')));
    for c in unit.chars() {
        app.update(key(KeyCode::Char(c)));
    }
    app.update(key(KeyCode::Enter));
    assert_eq!(app.mode, Mode::Inspect, "the unit box goes back to the cursor");
    for _ in 0..back {
        app.update(key(KeyCode::Left));
    }
    app
}

/// Hand the app's pending request to `worker` and its answer back.
fn answer(app: &mut App, worker: &mut Worker, rx: &Receiver<Event>) -> u64 {
    let cmd = app.tick(Instant::now()).expect("the panel asks for an explanation");
    let WorkerCmd::Explain { id, .. } = cmd else { panic!("{cmd:?}") };
    worker.handle(cmd);
    for _ in 0..1000 {
        worker.step();
        for e in rx.try_iter() {
            if let Event::Worker(w @ WorkerEvent::Explained { .. }) = e {
                app.update(Event::Worker(w));
                return id;
            }
        }
    }
    panic!("no answer");
}

/// Every number of an explanation, in one order.
fn numbers(e: &Explanation) -> Vec<f64> {
    let mut v = Vec::new();
    for g in Gate::ALL {
        let t = e.gates.get(g);
        v.extend([t.z, t.value, t.bias, t.input_rest, t.recurrent_rest]);
        v.extend(t.input.iter().chain(&t.recurrent).map(|x| x.term));
    }
    let c = &e.cell;
    v.extend([c.c_prev, c.kept, c.written, c.c, c.h]);
    v.extend(&e.memory.writes);
    v
}

fn names(e: &Explanation) -> Vec<String> {
    Gate::ALL
        .iter()
        .flat_map(|&g| {
            let t = e.gates.get(g);
            t.input.iter().chain(&t.recurrent).map(|x| x.from.to_string()).collect::<Vec<_>>()
        })
        .collect()
}

/// The app's explanation at the cursor equals `explain` over the run's text.
fn check_against_explain(app: &App, m: &CharLstm) -> Explanation {
    let got = match app.explanation() {
        Some(Ok(e)) => e.clone(),
        other => panic!("no explanation at the cursor: {other:?}"),
    };
    let chars: Vec<char> = app.run.steps.iter().map(|s| s.ch).collect();
    let ids = encode(&m.vocab, &chars, "the run").unwrap();
    let step = app.focus().unwrap();
    let want = explain(m, &ids, step, app.view.unit(), PANEL_TOP).unwrap();
    assert_eq!((got.step, got.ch, got.unit), (want.step, want.ch, want.unit));
    assert_eq!(names(&got), names(&want), "the listed terms");
    assert_eq!(got.memory.half_life, want.memory.half_life);
    assert_close(numbers(&got), numbers(&want), 1e-5, "the panel's numbers against explain()");
    want
}

#[test]
fn the_panels_numbers_are_explains() {
    let m = model();
    let (tx, rx) = channel();
    let mut worker = Worker::new(&m, tx);
    let mut app = inspecting(&m, "ROMEO:\nBut soft", 40, "l1:5", 20);
    answer(&mut app, &mut worker, &rx);
    let want = check_against_explain(&app, &m);
    // What the panel draws is those numbers.
    let shown = screen(&draw(&app, 120, 36)).join("\n");
    for v in [want.gates.f.value, want.gates.i.value, want.gates.o.value] {
        assert!(shown.contains(&format!("{v:.3}")), "{v:.3} not on screen:\n{shown}");
    }
    assert!(shown.contains(&format!("c {:+.3}", want.cell.c)), "{shown}");
    assert!(shown.contains(&format!("h {:+.3}", want.cell.h)), "{shown}");
    // The rows of each gate, "others" included, add up to its z.
    for g in Gate::ALL {
        let t = want.gates.get(g);
        for n in 2..8 {
            let rows = ui::explain::term_rows(&app, t, n);
            assert!(rows.len() <= n);
            let sum: f64 = rows.iter().map(|r| r.1).sum();
            assert!((sum - t.z).abs() < 1e-9, "{g:?} with {n} rows: {sum} vs z {}", t.z);
        }
    }
    // The cursor on (the worker reads only the new characters), back, and
    // to the first step; another unit of layer 0 (the character's term).
    for keys in [&[KeyCode::Right, KeyCode::Right][..], &[KeyCode::PageUp], &[KeyCode::Home]] {
        for &k in keys {
            app.update(key(k));
        }
        answer(&mut app, &mut worker, &rx);
        check_against_explain(&app, &m);
    }
    app.view.pins = vec![Unit::new(0, 3)];
    app.update(key(KeyCode::Char('y')));
    assert_eq!(app.view.unit(), Unit::new(0, 3), "y: the next pinned unit");
    app.update(key(KeyCode::End));
    answer(&mut app, &mut worker, &rx);
    let e = check_against_explain(&app, &m);
    assert_eq!(e.gates.f.input.len(), 1, "layer 0's input is one term, the character");
}

#[test]
fn a_newer_cursor_replaces_an_unanswered_request() {
    let m = model();
    let (tx, rx) = channel();
    let mut worker = Worker::new(&m, tx);
    let mut app = inspecting(&m, "ROMEO:\nBut soft", 40, "l1:2", 0);
    let first = app.tick(Instant::now()).expect("a request");
    app.update(key(KeyCode::Left));
    let second = app.tick(Instant::now()).expect("a request for the new cursor");
    assert_eq!(app.tick(Instant::now()), None, "asked once");
    worker.handle(first);
    worker.handle(second.clone());
    let mut answers = Vec::new();
    for _ in 0..100 {
        worker.step();
        answers.extend(rx.try_iter());
    }
    assert_eq!(answers.len(), 1, "one answer, for the newer request");
    let WorkerCmd::Explain { id, .. } = second else { panic!() };
    assert!(matches!(&answers[0], Event::Worker(WorkerEvent::Explained { id: i, .. }) if *i == id));
    // An answer to an older request is stale.
    app.update(Event::Worker(WorkerEvent::Explained { id: id - 1, result: Err("stale".into()) }));
    assert!(app.explanation().is_none());
    app.update(answers.remove(0));
    check_against_explain(&app, &m);
    // Typing is never held: Tab leaves, letters type, and nothing more is asked.
    app.update(key(KeyCode::Tab));
    app.update(key(KeyCode::Char('e')));
    assert!(app.prompt.text().ends_with('e'));
    assert!(!matches!(app.tick(Instant::now()), Some(WorkerCmd::Explain { .. })));
}

#[test]
fn explain_panel_120x36_and_80x24() {
    let m = model();
    let (tx, rx) = channel();
    let mut worker = Worker::new(&m, tx);
    let mut app = inspecting(&m, "ROMEO:\nBut soft, what light", 40, "l1:9", 25);
    answer(&mut app, &mut worker, &rx);
    assert_snapshot("explain_panel_at_the_cursor_120x36", draw(&app, 120, 36).backend());
    assert_snapshot("explain_panel_at_the_cursor_80x24", draw(&app, 80, 24).backend());
    // The ring dropped the run's first steps: the panel says where it read from.
    app.run.dropped = 7;
    answer(&mut app, &mut worker, &rx);
    let shown = screen(&draw(&app, 120, 36)).join("\n");
    assert!(shown.contains("read from the first kept step (7 earlier dropped)"), "{shown}");
}

#[test]
fn memory_colouring_80x24() {
    let m = model();
    let (tx, rx) = channel();
    let mut worker = Worker::new(&m, tx);
    let mut app = inspecting(&m, "ROMEO:\nBut soft", 30, "l0:4", 10);
    app.update(alt('x'));
    assert_eq!(app.view.panel, Panel::Gates, "x closes the panel");
    app.update(key(KeyCode::Char('M')));
    assert_eq!(app.view.color, ColorMode::Memory);
    answer(&mut app, &mut worker, &rx);
    let e = check_against_explain(&app, &m);
    let t = draw(&app, 80, 24);
    assert_snapshot("memory_colouring_80x24", t.backend());
    // Each character up to the cursor has the background of its write,
    // scaled to the largest; the cursor's own cell is the cursor.
    let largest = e.memory.writes.iter().fold(0.0f64, |a, w| a.max(w.abs()));
    let buf = t.backend().buffer();
    let rows: Vec<String> = screen(&t);
    let y = rows.iter().position(|r| r.starts_with("│But soft")).expect("the second line") as u16;
    for (k, x) in (1..9).enumerate() {
        let step = 7 + k; // "ROMEO:\n" is 7 steps
        let want = theme::cell((e.memory.writes[step] / largest) as f32);
        assert_eq!(buf[(x, y)].bg, want, "step {step}");
    }
    let half = e.memory.half_life.map_or("no half-life".into(), |m| format!("half-life {m}"));
    assert!(rows[0].contains(&format!("memory of l0:4 · {half}")), "{}", rows[0]);
    // M again: back to the unit's activation.
    app.update(key(KeyCode::Char('M')));
    assert_eq!(app.view.color, ColorMode::Cell);
}
