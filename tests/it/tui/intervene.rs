//! Interventions in the playground, through the real App and real `Step`s of
//! a tiny random model drawn into ratatui's TestBackend: the editor (prefilled
//! from the inspected step, checked as it is typed), the rerun it asks the
//! worker for, the compare view, the status bar's badge and the list box.

use gatescope::generate::{Generator, Step};
use gatescope::model::{CharLstm, Intervention};
use gatescope::tui::app::intervene::diff;
use gatescope::tui::app::{App, Mode};
use gatescope::tui::event::{Event, ModelInfo, WorkerEvent};
use gatescope::tui::ui::{self, compare::DIFF_BG};
use gatescope::tui::worker::WorkerCmd;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;

use crate::common::app::*;
use crate::common::{assert_snapshot, screen};

/// Deliver a request's steps as the worker would, computed here by a
/// Generator with the request's interventions.
fn deliver(app: &mut App, m: &CharLstm, cmd: Option<WorkerCmd>) -> Vec<Step> {
    let (id, prompt, length, sampling, ivs) = match cmd {
        Some(WorkerCmd::Start { id, prompt, length, sampling }) => (id, prompt, length, sampling, vec![]),
        Some(WorkerCmd::Rerun { id, prompt, length, sampling, interventions }) => {
            (id, prompt, length, sampling, interventions)
        }
        other => panic!("expected a request, got {other:?}"),
    };
    let mut g = Generator::new(m, sampling);
    g.set_interventions(ivs).unwrap();
    let mut steps = g.feed_prompt(&prompt).unwrap();
    for _ in 0..length {
        steps.push(g.generate_step().unwrap());
    }
    for s in &steps {
        app.update(Event::Worker(WorkerEvent::Step { id, step: s.clone().into() }));
    }
    app.update(Event::Worker(WorkerEvent::Done { id }));
    steps
}

/// An app with a 7-character prompt and 90 generated characters.
fn app_with_90_steps(m: &CharLstm) -> (App, Vec<Step>) {
    let mut app = App::new(ModelInfo::new("tiny.safetensors", m, vec![]));
    app.length = 90;
    type_str(&mut app, "ROMEO:\n");
    let cmd = app.update(key(KeyCode::Enter));
    let steps = deliver(&mut app, m, cmd);
    (app, steps)
}

fn open_editor_at_step_60(app: &mut App) {
    app.update(key(KeyCode::Tab));
    app.update(key(KeyCode::Home));
    for _ in 0..6 {
        app.update(key(KeyCode::PageDown));
    }
    app.update(key(KeyCode::Char('i')));
}

#[test]
fn the_editor_is_prefilled_from_the_inspected_step_and_checked_as_typed() {
    let m = model();
    let (mut app, _) = app_with_90_steps(&m);
    app.update(Event::Key(KeyEvent::new(KeyCode::Char('n'), KeyModifiers::ALT)));
    open_editor_at_step_60(&mut app);
    assert_eq!(app.mode, Mode::Intervene);
    assert_eq!(app.box_editor.text(), "l0:1:c=0@60..", "the colouring cell, from the inspected step");
    let t = draw(&app, 100, 30);
    assert_snapshot("intervention_editor_prefilled_100x30", t.backend());
    assert!(screen(&t)[29].contains("✓ set c of l0:1 to 0 at every step t ≥ 60; Enter reruns with it"));
    // Bad specs: the status says why, Enter keeps the box open and asks nothing.
    for (typed, why) in [
        ("l2:1:c=0", "2 layers"),
        ("l0:16:c=0", "16 units"),
        ("l0:1:q=0", "'q' is not a target"),
        ("l0:1:c=nan", "not finite"),
        ("l0:1:c=0@97..", "starts after the run"),
        ("l0:1:c=0@5..5", "empty"),
    ] {
        app.update(ctrl('u'));
        type_str(&mut app, typed);
        let line = screen(&draw(&app, 100, 30))[29].clone();
        assert!(line.contains('✗') && line.contains(why), "{typed}: {line}");
        assert_eq!(app.update(key(KeyCode::Enter)), None, "{typed}");
        assert_eq!(app.mode, Mode::Intervene, "{typed}: the box stays open");
        assert!(app.interventions.active.is_empty());
    }
    app.update(key(KeyCode::Esc));
    assert_eq!(app.mode, Mode::Inspect, "Esc goes back to inspecting");
}

#[test]
fn applying_reruns_with_the_same_seed_and_the_compare_view_shows_both() {
    let m = model();
    let (mut app, baseline) = app_with_90_steps(&m);
    open_editor_at_step_60(&mut app);
    app.update(ctrl('u'));
    type_str(&mut app, "l1:2:h=-4@60..");
    let cmd = app.update(key(KeyCode::Enter));
    let iv: Intervention = "l1:2:h=-4@60..".parse().unwrap();
    match &cmd {
        Some(WorkerCmd::Rerun { prompt, length, sampling, interventions, .. }) => {
            assert_eq!((prompt.as_str(), *length, *sampling), ("ROMEO:\n", 90, app.sampling));
            assert_eq!(interventions, &vec![iv]);
        }
        other => panic!("a rerun: {other:?}"),
    }
    assert_eq!(app.interventions.active, vec![iv]);
    let cmp = app.interventions.shown().expect("the compare view opens");
    let shared: Vec<std::sync::Arc<Step>> = baseline.iter().cloned().map(Into::into).collect();
    assert_eq!(cmp.baseline, shared, "the baseline is the run before the intervention");
    let rerun = deliver(&mut app, &m, cmd);
    let d = diff(&shared, &app.run.steps);
    assert_eq!(d.compared, 90);
    let differing: Vec<usize> = baseline.iter().zip(&rerun).filter(|(b, r)| b.ch != r.ch).map(|(b, _)| b.t).collect();
    assert!(!differing.is_empty() && differing[0] >= 60, "{differing:?}");
    assert_eq!((d.differing, d.first), (differing.len(), Some(differing[0])));
    let t = draw(&app, 100, 30);
    assert_snapshot("compare_view_100x30", t.backend());
    let title = screen(&t)[0].clone();
    assert!(title.contains(&format!("compare b/i · {}/90 differ · first t={}", d.differing, differing[0])), "{title}");
    assert!(screen(&t)[17].contains("── baseline ── c l0 ── c l1"), "the norm chart names the baseline");
    // Every highlighted cell of the `i` rows is a differing character.
    let buf = t.backend().buffer();
    let highlighted =
        (1..19u16).flat_map(|y| (2..44u16).map(move |x| (x, y))).filter(|&(x, y)| buf[(x, y)].bg == DIFF_BG).count();
    assert!(highlighted > 0 && highlighted <= d.differing, "{highlighted} of {}", d.differing);
    // Alt-b hides and shows it; Esc (nothing running) closes it.
    app.update(Event::Key(KeyEvent::new(KeyCode::Char('b'), KeyModifiers::ALT)));
    assert!(app.interventions.shown().is_none() && app.interventions.compare.is_some());
    app.update(Event::Key(KeyEvent::new(KeyCode::Char('b'), KeyModifiers::ALT)));
    assert!(app.interventions.shown().is_some());
    app.update(key(KeyCode::Esc));
    assert!(app.interventions.shown().is_none());
    // The intervention persists: the next generation runs with it.
    app.update(key(KeyCode::Enter));
    assert!(app.interventions.compare.is_none(), "a new run ends the comparison");
    assert_eq!(app.interventions.ran_with, vec![iv]);
}

#[test]
fn the_status_lists_interventions_and_the_list_removes_them() {
    let m = model();
    let (mut app, _) = app_with_90_steps(&m);
    for spec in ["l1:2:h=-4@60..", "l0:3:f*=0.5", "l0:7:g+=1@10..20"] {
        app.update(Event::Key(KeyEvent::new(KeyCode::Char('i'), KeyModifiers::ALT)));
        app.update(ctrl('u'));
        type_str(&mut app, spec);
        let cmd = app.update(key(KeyCode::Enter));
        deliver(&mut app, &m, cmd);
    }
    assert_eq!(app.interventions.active.len(), 3);
    let status = |app: &App, w| {
        let mut t = Terminal::new(TestBackend::new(w, 2)).unwrap();
        t.draw(|f| {
            let a = f.area();
            ui::status::render(app, a, f.buffer_mut())
        })
        .unwrap();
        t
    };
    assert_snapshot("status_line_with_interventions_120x2", status(&app, 120).backend());
    let wide = screen(&status(&app, 160))[0].clone();
    assert!(wide.contains("3 interventions  l1:2:h=-4@60.. l0:3:f*=0.5 l0:7:g+=1@10..20"), "{wide}");
    let narrow = screen(&status(&app, 80))[0].clone();
    assert!(narrow.contains("3 interventions  l1:2:h=-4@60.. +2"), "abbreviated to the width: {narrow}");
    assert!(screen(&status(&app, 120))[0].contains("l0:3:f*=0.5 +1"));
    // The list: select the second, Delete removes it; the worker hears the new list.
    app.update(Event::Key(KeyEvent::new(KeyCode::Char('I'), KeyModifiers::ALT)));
    assert_eq!(app.mode, Mode::Interventions);
    app.update(key(KeyCode::Down));
    assert_snapshot("intervention_list_100x30", draw(&app, 100, 30).backend());
    let cmd = app.update(key(KeyCode::Delete));
    let left: Vec<Intervention> = ["l1:2:h=-4@60..", "l0:7:g+=1@10..20"].iter().map(|s| s.parse().unwrap()).collect();
    assert_eq!(cmd, Some(WorkerCmd::SetInterventions(left.clone())));
    assert_eq!(app.interventions.active, left);
    // X clears them all.
    let cmd = app.update(key(KeyCode::Char('X')));
    assert_eq!(cmd, Some(WorkerCmd::SetInterventions(vec![])));
    assert!(app.interventions.active.is_empty() && app.mode == Mode::Typing);
    assert!(!screen(&status(&app, 120))[0].contains("intervention"));
}
