//! The timeline (`play --replay DIR`): the step keys ask the worker for the
//! right snapshot with the text on screen, the bar draws which snapshot is
//! in place, a pin survives a step, and the worker reads the text again
//! through a snapshot's weights written into the model it already holds.

use crate::common::app::*;
use crate::common::{assert_snapshot, screen};
use gatescope::generate::Generator;
use gatescope::model::sample::Sampling;
use gatescope::model::{save_checkpoint, CharLstm, Unit};
use gatescope::tui::app::{App, Panel, SnapshotInfo, Timeline};
use gatescope::tui::event::{Event, WorkerEvent};
use gatescope::tui::ui;
use gatescope::tui::worker::{Flow, Reread, Worker, WorkerCmd};
use gatescope::vocab::Vocab;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::KeyCode;
use ratatui::layout::Rect;
use std::path::PathBuf;
use std::sync::mpsc::channel;

fn snapshot(step: usize, train: f32, val: Option<f32>) -> SnapshotInfo {
    SnapshotInfo {
        step,
        path: PathBuf::from(format!("/run/m.snapshots/step-{step:06}.safetensors")),
        train_loss: Some(train),
        val_loss: val,
    }
}

/// Five snapshots, the last one in place.
fn timeline() -> Timeline {
    let s = vec![
        snapshot(1, 4.17, Some(4.16)),
        snapshot(250, 2.61, None),
        snapshot(500, 2.05, Some(2.11)),
        snapshot(750, 1.79, Some(1.83)),
        snapshot(1000, 1.64, Some(1.71)),
    ];
    Timeline::new(s, 4)
}

fn with_timeline(app: App) -> App {
    let mut app = app;
    app.set_timeline(timeline());
    app
}

/// The generated characters of the app's run.
fn continuation(app: &App) -> String {
    app.run.steps.iter().filter(|s| !s.is_prompt).map(|s| s.ch).collect()
}

#[test]
fn the_step_keys_ask_for_the_neighbouring_snapshot_with_the_text_on_screen() {
    let mut app = with_timeline(app_with_run("ROMEO:", 12));
    let generated = continuation(&app);
    assert_eq!(generated.chars().count(), 12);
    let Some(WorkerCmd::Snapshot { index, path, reread: Some(r) }) = app.update(alt('<')) else {
        panic!("Alt-< asks for a snapshot")
    };
    assert_eq!((index, path), (3, PathBuf::from("/run/m.snapshots/step-000750.safetensors")));
    assert_eq!((r.prompt.as_str(), r.continuation.as_str()), ("ROMEO:", generated.as_str()));
    assert_eq!(app.run.active, Some(r.id), "the reread is the live request");
    // Until the worker answers, the bar still names the snapshot in place.
    assert_eq!(app.timeline.as_ref().unwrap().shown, 4);
    app.update(Event::Worker(WorkerEvent::SnapshotLoaded { index: 3 }));
    assert_eq!(app.timeline.as_ref().unwrap().label(), "snapshot 4/5 · step 750 · val 1.83");
    assert_eq!(app.model.name, "step-000750.safetensors");

    // Two more back, one forward, then past either end: nothing to ask.
    for (k, want) in [('<', Some(2)), ('<', Some(1)), ('>', Some(2)), ('<', Some(1)), ('<', Some(0)), ('<', None)] {
        match app.update(alt(k)) {
            Some(WorkerCmd::Snapshot { index, .. }) => assert_eq!(Some(index), want, "Alt-{k}"),
            None => assert_eq!(want, None, "Alt-{k}"),
            other => panic!("Alt-{k}: {other:?}"),
        }
    }
    assert_eq!(app.timeline.as_ref().unwrap().wanted, 0);
    // A snapshot that fails to load leaves the one in place wanted.
    app.update(Event::Worker(WorkerEvent::LoadFailed("bad".into())));
    assert_eq!(app.timeline.as_ref().unwrap().wanted, 3);
    assert!(matches!(app.update(alt('>')), Some(WorkerCmd::Snapshot { index: 4, .. })));
    let mut last = with_timeline(app_with_run("ROMEO:", 3));
    assert_eq!(last.update(alt('>')), None, "the last snapshot has no older one");
}

/// A step taken while the last one's reread still streams in reads the
/// whole text again, not the part of it that has arrived (none, here, and
/// then the prompt and two characters).
#[test]
fn a_step_during_a_reread_reads_the_whole_text() {
    let m = model();
    let mut app = with_timeline(run(App::new(info(&m)), &m, "ROMEO:", 12));
    let generated = continuation(&app);
    let Some(WorkerCmd::Snapshot { reread: Some(first), .. }) = app.update(alt('<')) else { panic!("a step") };
    app.update(Event::Worker(WorkerEvent::SnapshotLoaded { index: 3 }));
    let Some(WorkerCmd::Snapshot { index: 2, reread: Some(second), .. }) = app.update(alt('<')) else {
        panic!("a step before any of the reread's steps came")
    };
    assert_eq!((second.prompt.as_str(), second.continuation.as_str()), ("ROMEO:", generated.as_str()));
    assert_ne!(second.id, first.id);
    app.update(Event::Worker(WorkerEvent::SnapshotLoaded { index: 2 }));
    let mut g = Generator::new(&m, Sampling::default());
    for s in g.feed_prompt("ROMEO:").unwrap() {
        app.update(Event::Worker(WorkerEvent::Step { id: second.id, step: s.into() }));
    }
    for ch in second.continuation.chars().take(2) {
        let s = g.force_step(ch).unwrap();
        app.update(Event::Worker(WorkerEvent::Step { id: second.id, step: s.into() }));
    }
    assert_eq!(continuation(&app).chars().count(), 2, "part of the reread is in");
    let Some(WorkerCmd::Snapshot { index: 3, reread: Some(third), .. }) = app.update(alt('>')) else {
        panic!("a step during the reread")
    };
    assert_eq!(third.continuation, generated, "the whole text, not the part on screen");
    // Once a reread has ended (here, stopped after two characters), the
    // text on screen is what a step reads.
    for ch in third.continuation.chars().take(2) {
        let s = g.force_step(ch).unwrap();
        app.update(Event::Worker(WorkerEvent::Step { id: third.id, step: s.into() }));
    }
    app.update(Event::Worker(WorkerEvent::Done { id: third.id }));
    let Some(WorkerCmd::Snapshot { reread: Some(fourth), .. }) = app.update(alt('<')) else { panic!("a step") };
    assert_eq!(fourth.continuation, generated.chars().take(2).collect::<String>());
}

/// The reread's steps, read by `m` with teacher forcing, and its end.
fn deliver(app: &mut App, m: &CharLstm, r: &Reread) {
    let mut g = Generator::new(m, Sampling::default());
    for s in g.feed_prompt(&r.prompt).unwrap() {
        app.update(Event::Worker(WorkerEvent::Step { id: r.id, step: s.into() }));
    }
    for ch in r.continuation.chars() {
        let s = g.force_step(ch).unwrap();
        app.update(Event::Worker(WorkerEvent::Step { id: r.id, step: s.into() }));
    }
}

/// The cells panel on screen is measured again for the snapshot in place:
/// over the history once the reread is in, over a file by asking the worker
/// again; a file's catalogue off screen is dropped.
#[test]
fn the_cells_panel_is_measured_again_after_a_step() {
    let m = model();
    let mut app = with_timeline(run(App::new(info(&m)), &m, "ROMEO:", 40));
    app.update(alt('C'));
    while app.analyses.busy() {
        app.tick(std::time::Instant::now());
    }
    let before = app.analyses.catalogue.clone().expect("the panel's catalogue");
    let Some(WorkerCmd::Snapshot { reread: Some(r), .. }) = app.update(alt('<')) else { panic!("a step") };
    assert_eq!(app.update(Event::Worker(WorkerEvent::SnapshotLoaded { index: 3 })), None);
    assert!(!app.analyses.busy(), "nothing to measure before the text is read again");
    deliver(&mut app, &m, &r);
    assert_eq!(app.update(Event::Worker(WorkerEvent::Done { id: r.id })), None);
    assert!(app.analyses.running(true).is_some(), "the catalogue is measured again");
    while app.analyses.busy() {
        app.tick(std::time::Instant::now());
    }
    let after = app.analyses.catalogue.clone().unwrap();
    assert_ne!(after.history, before.history, "over the text as read now");
    assert_eq!(after.steps, before.steps);

    // A file's catalogue on screen: the worker is asked for it again.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("val.txt");
    std::fs::write(&path, "ROMEO:\nBut soft!\n").unwrap();
    app.update(alt('F'));
    type_str(&mut app, path.to_str().unwrap());
    let cmd = app.update(key(KeyCode::Enter));
    let Some(WorkerCmd::FileCells { id: first, .. }) = cmd else { panic!("{cmd:?}") };
    let Some(WorkerCmd::Snapshot { reread: Some(r), .. }) = app.update(alt('<')) else { panic!("a step") };
    app.update(Event::Worker(WorkerEvent::SnapshotLoaded { index: 2 }));
    deliver(&mut app, &m, &r);
    match app.update(Event::Worker(WorkerEvent::Done { id: r.id })) {
        Some(WorkerCmd::FileCells { id, path: p, top: 3 }) => assert_eq!((p, id > first), (path.clone(), true)),
        other => panic!("the file's catalogue asked again: {other:?}"),
    }
    // Off screen, it is dropped; with no text, the step alone measures again.
    app.update(alt('C'));
    assert_ne!(app.view.panel, Panel::Cells);
    let mut bare = with_timeline(App::new(info(&m)));
    bare.analyses.file_job = app.analyses.file_job.clone();
    assert!(matches!(bare.update(alt('<')), Some(WorkerCmd::Snapshot { reread: None, .. })));
    assert_eq!(bare.update(Event::Worker(WorkerEvent::SnapshotLoaded { index: 3 })), None);
    assert!(!bare.analyses.has_file(), "a file's catalogue off screen described the weights before");
}

#[test]
fn without_text_or_a_timeline_a_step_asks_nothing_to_be_read() {
    let m = model();
    let mut app = with_timeline(App::new(info(&m)));
    assert!(matches!(app.update(alt('<')), Some(WorkerCmd::Snapshot { index: 3, reread: None, .. })));
    let mut plain = App::new(info(&m));
    assert_eq!(plain.update(alt('<')), None);
    assert!(plain.message.as_ref().unwrap().text.contains("--replay"));
}

#[test]
fn a_pin_the_colouring_unit_and_the_inspect_cursor_survive_a_step() {
    let mut app = with_timeline(app_with_run("ROMEO:", 12));
    let unit = Unit { layer: 1, index: 5 };
    app.view.pin(unit);
    app.view.step_layer(1);
    assert!(app.view.set_cell(5));
    app.update(key(ratatui::crossterm::event::KeyCode::Tab));
    app.update(key(ratatui::crossterm::event::KeyCode::Left));
    let cursor = app.view.cursor;
    let Some(WorkerCmd::Snapshot { reread: Some(r), .. }) = app.update(alt('<')) else { panic!("a step") };
    app.update(Event::Worker(WorkerEvent::SnapshotLoaded { index: 3 }));
    // The steps come back (as the worker would send them).
    let mut g = Generator::new(&model(), Sampling::default());
    for s in g.feed_prompt(&r.prompt).unwrap() {
        app.update(Event::Worker(WorkerEvent::Step { id: r.id, step: s.into() }));
    }
    for c in r.continuation.chars() {
        app.update(Event::Worker(WorkerEvent::Step { id: r.id, step: g.force_step(c).unwrap().into() }));
    }
    app.update(Event::Worker(WorkerEvent::Done { id: r.id }));
    assert_eq!(app.view.pins, vec![unit]);
    assert_eq!(app.view.unit(), unit);
    assert!(app.inspecting(), "still inspecting");
    assert_eq!(app.view.cursor, cursor);
    assert_eq!(app.run.steps.len(), 18);
}

#[test]
fn the_bar_draws_above_the_panels() {
    let mut app = with_timeline(app_with_run("ROMEO:", 12));
    let rows = screen(&draw(&app, 120, 36));
    assert!(rows[0].starts_with(" snapshot 5/5 · step 1000 · val 1.71 "), "{}", rows[0]);
    assert!(rows[0].trim_end().ends_with("Alt-< Alt-> step"), "{}", rows[0]);
    assert!(rows[1].contains("output"), "the panels start below the bar: {}", rows[1]);
    app.update(alt('<'));
    app.update(Event::Worker(WorkerEvent::SnapshotLoaded { index: 3 }));
    app.update(alt('<'));
    app.update(Event::Worker(WorkerEvent::SnapshotLoaded { index: 2 }));
    let rows = screen(&draw(&app, 80, 24));
    assert!(rows[0].starts_with(" snapshot 3/5 · step 500 · val 2.11 "), "{}", rows[0]);
    // Without a timeline there is no bar.
    let rows = screen(&draw(&app_with_run("ROMEO:", 12), 120, 36));
    assert!(!rows.iter().any(|r| r.contains("snapshot")));
}

/// The bar alone, 80 columns: the label, the loss strip (the snapshot in
/// place marked), the keys. The step at 250 did not evaluate: train loss.
#[test]
fn bar_snapshot() {
    let mut t = timeline();
    t.shown = 1;
    t.wanted = 1;
    let area = Rect::new(0, 0, 80, 1);
    let mut buf = Buffer::empty(area);
    ui::timeline::render(&t, area, &mut buf);
    let line: String = (0..80).map(|x| buf[(x, 0)].symbol().to_string()).collect();
    assert_snapshot("timeline_bar", line);
}

#[test]
fn the_worker_reads_the_text_again_through_a_snapshot_written_into_its_model() {
    let text = "ROMEO:\nBut soft, what light through yonder window breaks?\n";
    let vocab = Vocab::from_text(text).unwrap();
    let young = CharLstm::random(vocab.clone(), 8, 16, 2, 11);
    let held = CharLstm::random(vocab, 8, 16, 2, 12);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("step-000001.safetensors");
    save_checkpoint(&young, &Default::default(), &path).unwrap();

    let (tx, rx) = channel();
    let mut w = Worker::new(&held, tx);
    let reread = Reread { id: 7, prompt: "ROMEO:".into(), continuation: "\nBut".into() };
    assert_eq!(w.handle(WorkerCmd::Snapshot { index: 0, path, reread: Some(reread) }), Flow::Continue);
    while w.busy() {
        assert_eq!(w.step(), Flow::Continue);
    }
    let mut loaded = false;
    let mut steps = Vec::new();
    for ev in rx.try_iter() {
        match ev {
            Event::Worker(WorkerEvent::SnapshotLoaded { index: 0 }) => loaded = true,
            Event::Worker(WorkerEvent::Step { id: 7, step }) => steps.push(step),
            Event::Worker(WorkerEvent::Done { id: 7 }) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(loaded);
    // What a generator over the snapshot itself gives for the same text.
    let mut g = Generator::new(&young, Sampling::default());
    let mut want = g.feed_prompt("ROMEO:").unwrap();
    want.extend("\nBut".chars().map(|c| g.force_step(c).unwrap()));
    assert_eq!(steps.len(), want.len());
    for (got, want) in steps.iter().zip(&want) {
        assert_eq!(**got, *want);
    }
    assert_eq!(steps.iter().filter(|s| !s.is_prompt).count(), 4);
    // In place: the model the worker was given (this handle shares its
    // tensors) now holds the snapshot's weights.
    for ((name, a), (_, b)) in held.named_tensors().into_iter().zip(young.named_tensors()) {
        assert!(a.equal(b), "{name}");
    }
}

/// The load box given a folder of snapshots opens it as a timeline on the
/// newest, as `play --replay` does; a folder that is not one run's
/// snapshots is refused in one line, and the model in place stays.
#[test]
fn the_load_box_opens_a_folder_of_snapshots_as_a_timeline() {
    let text = "ROMEO:\nBut soft, what light through yonder window breaks?\n";
    let vocab = Vocab::from_text(text).unwrap();
    let held = CharLstm::random(vocab.clone(), 8, 16, 2, 12);
    let dir = tempfile::tempdir().unwrap();
    for (step, seed) in [(1, 11), (5, 13)] {
        let m = CharLstm::random(vocab.clone(), 8, 16, 2, seed);
        save_checkpoint(&m, &Default::default(), &dir.path().join(format!("step-{step:06}.safetensors"))).unwrap();
    }
    let (tx, rx) = channel();
    let mut w = Worker::new(&held, tx);
    let mut app = App::new(info(&held));
    app.update(ctrl('o'));
    type_str(&mut app, dir.path().to_str().unwrap());
    let Some(cmd @ WorkerCmd::Load(..)) = app.update(key(KeyCode::Enter)) else { panic!("the box asks for a load") };
    assert_eq!(w.handle(cmd), Flow::Continue);
    for ev in rx.try_iter() {
        app.update(ev);
    }
    let t = app.timeline.as_ref().expect("a timeline");
    assert_eq!(t.label(), "snapshot 2/2 · step 5");
    assert_eq!(app.model.name, "step-000005.safetensors");
    let Some(WorkerCmd::Snapshot { index: 0, path, .. }) = app.update(alt('<')) else { panic!("a step") };
    assert_eq!(path, dir.path().join("step-000001.safetensors"));

    std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
    assert_eq!(w.handle(WorkerCmd::Load(dir.path().to_path_buf(), Default::default())), Flow::Continue);
    let events: Vec<Event> = rx.try_iter().collect();
    let [Event::Worker(WorkerEvent::LoadFailed(e))] = events.as_slice() else { panic!("{events:?}") };
    assert!(e.contains("notes.txt: not a snapshot") && !e.contains('\n'), "{e}");
}

/// The explain panel's answer after a step on the timeline is of the
/// snapshot's weights: the worker does not reuse the gates it kept from
/// reading the same text through the weights before.
#[test]
fn the_explain_panel_reads_the_text_again_after_a_snapshot() {
    use gatescope::analysis::explain::{explain, Explanation};
    let text = "ROMEO:\nBut soft, what light through yonder window breaks?\n";
    let vocab = Vocab::from_text(text).unwrap();
    let young = CharLstm::random(vocab.clone(), 8, 16, 2, 11);
    let held = CharLstm::random(vocab.clone(), 8, 16, 2, 12);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("step-000001.safetensors");
    save_checkpoint(&young, &Default::default(), &path).unwrap();
    let (tx, rx) = channel();
    let mut w = Worker::new(&held, tx);
    let (step, unit) = (20, Unit::new(1, 3));
    let ask = |w: &mut Worker, id: u64| -> Explanation {
        w.handle(WorkerCmd::Explain { id, text: text.into(), step, unit, top: 5 });
        while w.busy() {
            w.step();
        }
        rx.try_iter()
            .find_map(|e| match e {
                Event::Worker(WorkerEvent::Explained { id: i, result: Ok(e) }) if i == id => Some(*e),
                _ => None,
            })
            .expect("an explanation")
    };
    let before = ask(&mut w, 1);
    w.handle(WorkerCmd::Snapshot { index: 0, path, reread: None });
    let after = ask(&mut w, 2);
    let ids = vocab.encode(text).unwrap();
    let want = explain(&young, &ids, step, unit, 5).unwrap();
    assert_ne!(before.cell.c, want.cell.c, "the two models differ at this unit");
    assert_eq!((after.cell.c, after.cell.h), (want.cell.c, want.cell.h), "the snapshot's cell");
    assert_eq!(after.memory.writes, want.memory.writes);
}
