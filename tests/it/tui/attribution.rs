//! The attribution colouring: the real App and a real Worker (driven here,
//! without its thread) over a tiny random model. The colouring's numbers
//! are `analysis::attribute`'s for the same text, step, target and method
//! (the worker runs integrated gradients a few copies per pass, the
//! function all at once); the candidate chosen in the next-character panel
//! and the explain panel's unit change the target; a new run drops a
//! request under way; the screens are snapshots.

use gatescope::analysis::attribution::{attribute, Attribution, Method, Resolved, Target, UnitTarget};
use gatescope::analysis::{encode, State};
use gatescope::model::{CharLstm, Unit};
use gatescope::tui::app::attribution::IG_STEPS;
use gatescope::tui::app::{App, ColorMode, Panel};
use gatescope::tui::event::{Event, WorkerEvent};
use gatescope::tui::ui::theme;
use gatescope::tui::worker::{AttributeTarget, Worker, WorkerCmd, COPIES_PER_PASS};
use ratatui::crossterm::event::KeyCode;
use std::sync::mpsc::{channel, Receiver};
use std::time::Instant;

use crate::common::app::*;
use crate::common::{assert_close, assert_snapshot, screen};

/// A run of the tiny model in inspect mode, the cursor `back` steps before
/// the last, coloured by attribution (grad).
fn attributing(m: &CharLstm, prompt: &str, generated: usize, back: usize) -> App {
    let mut app = run(App::new(info(m)), m, prompt, generated);
    app.update(key(KeyCode::Tab));
    for _ in 0..back {
        app.update(key(KeyCode::Left));
    }
    app.update(key(KeyCode::Char('A')));
    assert_eq!(app.view.color, ColorMode::Attribution(Method::Grad));
    app
}

/// Hand the app's pending request to `worker` and its answer back; the
/// units of work it took.
fn answer(app: &mut App, worker: &mut Worker, rx: &Receiver<Event>) -> usize {
    let cmd = app.tick(Instant::now()).expect("the colouring asks for an attribution");
    deliver(app, worker, rx, cmd)
}

/// Hand `cmd`, an attribution request, to `worker` and its answer to `app`.
fn deliver(app: &mut App, worker: &mut Worker, rx: &Receiver<Event>, cmd: WorkerCmd) -> usize {
    assert!(matches!(cmd, WorkerCmd::Attribute { .. }), "{cmd:?}");
    worker.handle(cmd);
    for units in 1..1000 {
        worker.step();
        for e in rx.try_iter() {
            if let Event::Worker(w @ WorkerEvent::Attributed { .. }) = e {
                app.update(Event::Worker(w));
                return units;
            }
        }
    }
    panic!("no answer");
}

/// The app's attribution at the cursor equals `attribute` over the run's
/// text with `target`.
fn check_against_attribute(app: &App, m: &CharLstm, target: Target) -> Attribution {
    let got = match app.attribution() {
        Some(Ok(a)) => a.clone(),
        other => panic!("no attribution at the cursor: {other:?}"),
    };
    let chars: Vec<char> = app.run.steps.iter().map(|s| s.ch).collect();
    let ids = encode(&m.vocab, &chars, "the run").unwrap();
    let step = app.focus().unwrap();
    let ColorMode::Attribution(method) = app.view.color else { panic!("{:?}", app.view.color) };
    let want = attribute(m, &ids, step, target, method).unwrap();
    assert_eq!((got.step, got.method, got.target), (want.step, want.method, want.target));
    let f = |a: &Attribution| -> Vec<f64> {
        a.attributions.iter().chain([&a.f_x, &a.f_baseline]).map(|&v| v as f64).collect()
    };
    assert_close(f(&got), f(&want), 1e-5, "the colouring's attributions against attribute()");
    want
}

#[test]
fn the_colourings_numbers_are_attributes() {
    let m = model();
    let (tx, rx) = channel();
    let mut worker = Worker::new(&m, tx);
    let mut app = attributing(&m, "ROMEO:\nBut soft", 30, 12);
    // The default target: the character the text has after the cursor.
    assert_eq!(answer(&mut app, &mut worker, &rx), 1, "gradient × input is one pass");
    let cursor = app.focus().unwrap();
    let next = m.vocab.id(app.run.steps[cursor + 1].ch).unwrap();
    let a = check_against_attribute(&app, &m, Target::Next(Some(next)));
    assert_eq!(a.attributions.len(), cursor + 1, "one value per step up to the cursor");
    // What the output draws is those numbers: each step's background is
    // a_s over the largest |a_s| on the diverging scale.
    let t = draw(&app, 120, 36);
    let rows = screen(&t);
    let largest = a.attributions.iter().fold(0.0f32, |x, v| x.max(v.abs()));
    let y = rows.iter().position(|r| r.starts_with("│But soft")).expect("the second line") as u16;
    for (k, x) in (1..9).enumerate() {
        let step = 7 + k; // "ROMEO:\n" is 7 steps
        assert_eq!(t.backend().buffer()[(x, y)].bg, theme::cell(a.attributions[step] / largest), "step {step}");
    }
    let c = app.run.steps[cursor + 1].ch;
    assert!(rows[0].contains(&format!(" why {c} (")) && rows[0].contains("· grad ·"), "{}", rows[0]);
    // A again: integrated gradients, in passes of a few copies, as the
    // command computes them in one.
    app.update(key(KeyCode::Char('A')));
    assert_eq!(app.view.color, ColorMode::Attribution(Method::Ig(IG_STEPS)));
    let passes = answer(&mut app, &mut worker, &rx);
    assert_eq!(passes, (IG_STEPS + 2).div_ceil(COPIES_PER_PASS), "passes of {COPIES_PER_PASS} copies");
    check_against_attribute(&app, &m, Target::Next(Some(next)));
    // ↓↓: the second candidate in the next-character panel is the target.
    app.update(key(KeyCode::Down));
    app.update(key(KeyCode::Down));
    let (second, _) = app.run.steps[cursor].top[1];
    answer(&mut app, &mut worker, &rx);
    let a = check_against_attribute(&app, &m, Target::Next(Some(m.vocab.id(second).unwrap())));
    assert!(matches!(a.target, Resolved::Next { id, .. } if m.vocab.char(id as usize) == second));
    // The explain panel open: the explained unit's c at the cursor.
    app.view.colour_by(Unit::new(1, 5));
    app.view.color = ColorMode::Attribution(Method::Grad);
    app.update(key(KeyCode::Char('x')));
    assert_eq!(app.view.panel, Panel::Explain);
    // The panel asks for its explanation first; the attribution follows.
    let cmd = std::iter::from_fn(|| app.tick(Instant::now()))
        .find(|c| matches!(c, WorkerCmd::Attribute { .. }))
        .expect("an attribution request");
    deliver(&mut app, &mut worker, &rx, cmd);
    let unit = UnitTarget { unit: Unit::new(1, 5), state: State::C };
    check_against_attribute(&app, &m, Target::Unit(unit));
    assert!(screen(&draw(&app, 120, 36))[0].contains(" why l1:5:c = "), "the title names the unit");
    // A at integrated gradients goes back to the unit's activation.
    app.update(key(KeyCode::Char('A')));
    app.update(key(KeyCode::Char('A')));
    assert_eq!(app.view.color, ColorMode::Cell);
}

#[test]
fn a_new_run_drops_an_attribution_under_way() {
    let m = model();
    let (tx, rx) = channel();
    let mut worker = Worker::new(&m, tx);
    let mut app = attributing(&m, "ROMEO:\nBut soft", 30, 3);
    app.update(key(KeyCode::Char('A')));
    let cmd = app.tick(Instant::now()).expect("a request");
    let WorkerCmd::Attribute { id, method: Method::Ig(_), .. } = cmd else { panic!("{cmd:?}") };
    worker.handle(cmd);
    worker.step();
    assert!(worker.busy(), "integrated gradients take more than one pass");
    assert_eq!(app.tick(Instant::now()), None, "asked once");
    // A new run (as typing starts one) drops it, and says so.
    worker.handle(WorkerCmd::Start { id: 99, prompt: "RO".into(), length: 0, sampling: Default::default() });
    let dropped: Vec<Event> = rx.try_iter().collect();
    assert!(
        dropped.iter().any(|e| matches!(e, Event::Worker(WorkerEvent::AttributionDropped { id: i }) if *i == id)),
        "{dropped:?}"
    );
    for e in dropped {
        app.update(e);
    }
    // The app, still at the cursor, asks again.
    let again = app.tick(Instant::now()).expect("asked again");
    assert!(matches!(again, WorkerCmd::Attribute { id: i, .. } if i > id));
}

#[test]
fn a_bad_request_is_answered_with_one_line() {
    let m = model();
    let (tx, rx) = channel();
    let mut worker = Worker::new(&m, tx);
    let cmd = WorkerCmd::Attribute {
        id: 1,
        text: "ROMEO".into(),
        step: 2,
        target: AttributeTarget::Next(Some('Z')),
        method: Method::Grad,
    };
    worker.handle(cmd);
    let answers: Vec<Event> = rx.try_iter().collect();
    let [Event::Worker(WorkerEvent::Attributed { id: 1, result: Err(e) })] = &answers[..] else {
        panic!("{answers:?}")
    };
    assert!(e.contains("'Z'") && !e.contains('\n'), "{e}");
    assert!(!worker.busy());
}

#[test]
fn attribution_colouring_120x36_and_80x24() {
    let m = model();
    let (tx, rx) = channel();
    let mut worker = Worker::new(&m, tx);
    let mut app = attributing(&m, "ROMEO:\nBut soft, what light", 40, 25);
    assert!(screen(&draw(&app, 80, 24))[0].contains("grad: computing…"));
    answer(&mut app, &mut worker, &rx);
    assert_snapshot("attribution_colouring_120x36", draw(&app, 120, 36).backend());
    assert_snapshot("attribution_colouring_80x24", draw(&app, 80, 24).backend());
}
