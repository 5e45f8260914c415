//! Beam search in the playground: Alt-W sets the width (the status says
//! so), Enter asks the worker for a beam search, and the worker's steps are
//! the command line's beam (`Generator::beam_search`) read on with teacher
//! forcing, gates and all; a new command stops the search between steps.

use crate::common::app::*;
use gatescope::generate::Generator;
use gatescope::model::sample::Sampling;
use gatescope::model::CharLstm;
use gatescope::tui::event::{Event, WorkerEvent};
use gatescope::tui::worker::{Flow, Worker, WorkerCmd};
use gatescope::vocab::Vocab;
use ratatui::crossterm::event::KeyCode;
use std::sync::mpsc::channel;

const TEXT: &str = "ROMEO:\nBut soft, what light through yonder window breaks?\n";

fn model() -> CharLstm {
    CharLstm::random(Vocab::from_text(TEXT).unwrap(), 8, 24, 2, 5)
}

#[test]
fn alt_w_sets_the_width_and_enter_asks_for_a_beam_search() {
    let m = model();
    let mut app = gatescope::tui::app::App::new(info(&m));
    let widths: Vec<Option<usize>> = (0..7)
        .map(|_| {
            app.update(alt('W'));
            app.beam
        })
        .collect();
    assert_eq!(widths, [Some(2), Some(4), Some(8), Some(16), Some(32), Some(64), None]);
    app.update(alt('W'));
    app.update(alt('W'));
    let status = crate::common::screen(&draw(&app, 120, 36)).join("\n");
    assert!(status.contains("beam 4 (Alt-W)") && !status.contains("top-p"), "{status}");
    type_str(&mut app, "ROMEO:");
    match app.update(key(KeyCode::Enter)) {
        Some(WorkerCmd::Beam { prompt, length, width: 4, .. }) => {
            assert_eq!((prompt.as_str(), length), ("ROMEO:", 500))
        }
        other => panic!("Enter with a width asks for a beam search: {other:?}"),
    }
}

#[test]
fn the_workers_beam_is_the_command_lines_read_on_with_its_gates() {
    let m = model();
    let (tx, rx) = channel();
    let mut w = Worker::new(&m, tx);
    assert_eq!(w.handle(WorkerCmd::Beam { id: 3, prompt: "ROMEO:".into(), length: 40, width: 4 }), Flow::Continue);
    let mut steps = Vec::new();
    let mut units = 0;
    while w.busy() {
        assert_eq!(w.step(), Flow::Continue);
        units += 1;
    }
    for e in rx.try_iter() {
        match e {
            Event::Worker(WorkerEvent::Step { id: 3, step }) => steps.push(step),
            Event::Worker(WorkerEvent::Done { id: 3 }) => {}
            other => panic!("{other:?}"),
        }
    }
    assert!(units > 40, "the search takes a unit of work a step ({units} units)");
    let mut g = Generator::new(&m, Sampling::default());
    let prompt = g.feed_prompt("ROMEO:").unwrap();
    let ids = g.beam_search(4, 40, &mut |_| Ok(())).unwrap();
    let want: Vec<_> = ids.iter().map(|&id| g.force_step(m.vocab.char(id)).unwrap()).collect();
    assert_eq!(steps.len(), prompt.len() + want.len());
    for (got, want) in steps[prompt.len()..].iter().zip(&want) {
        assert_eq!((got.t, got.ch, got.is_prompt), (want.t, want.ch, false));
        for (a, b) in got.layers.iter().zip(&want.layers) {
            assert_eq!(a.gates.c, b.gates.c, "step {}: the chosen beam's own gates", got.t);
        }
    }
    // Stopped in the middle of its search, it ends at once and sends nothing more.
    w.handle(WorkerCmd::Beam { id: 4, prompt: "ROMEO:".into(), length: 40, width: 4 });
    for _ in 0..10 {
        w.step();
    }
    w.handle(WorkerCmd::Stop);
    assert!(!w.busy());
    let events: Vec<_> = rx.try_iter().collect();
    assert!(matches!(events.last(), Some(Event::Worker(WorkerEvent::Done { id: 4 }))), "{events:?}");
    assert!(!events.iter().any(|e| matches!(e, Event::Worker(WorkerEvent::Step { step, .. }) if !step.is_prompt)));
}

#[test]
fn with_interventions_the_search_is_refused_in_one_line() {
    let m = model();
    let (tx, rx) = channel();
    let mut w = Worker::new(&m, tx);
    let iv: gatescope::model::intervene::Intervention = "l1:0:c=1".parse().unwrap();
    w.handle(WorkerCmd::SetInterventions(vec![iv]));
    w.handle(WorkerCmd::Beam { id: 5, prompt: "ROMEO:".into(), length: 10, width: 4 });
    while w.busy() {
        w.step();
    }
    let failed: Vec<String> = rx
        .try_iter()
        .filter_map(|e| match e {
            Event::Worker(WorkerEvent::Failed { id: 5, message }) => Some(message),
            _ => None,
        })
        .collect();
    assert!(matches!(&failed[..], [m] if m.contains("takes no interventions") && !m.contains('\n')), "{failed:?}");
}
