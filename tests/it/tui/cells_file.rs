//! The cells panel over a file (Alt-F): the box, the request to the worker,
//! the status while it runs, the panel titled with the file (a snapshot),
//! row selection on the file's catalogue, Alt-r back to the history, and
//! bad files as one line with the session going on. The worker runs
//! directly (no thread), its events handed to the app as the loop would.

use gatescope::tui::app::analyses::cell_rows;
use gatescope::tui::app::{App, Mode, Panel, PREVIEW_DELAY};
use gatescope::tui::event::Event;
use gatescope::tui::worker::{Worker, WorkerCmd};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::sync::mpsc::{channel, Receiver};
use std::time::Instant;

use crate::common::app::*;
use crate::common::{assert_snapshot, screen};

/// Hand `cmd` to a worker and every event it sends back to the app.
fn through_worker(app: &mut App, w: &mut Worker, rx: &Receiver<Event>, cmd: WorkerCmd) {
    w.handle(cmd);
    for e in rx.try_iter() {
        app.update(e);
    }
}

/// Alt-F, the path, Enter: the command for the worker.
fn ask(app: &mut App, path: &str) -> Option<WorkerCmd> {
    app.update(alt('F'));
    assert_eq!(app.mode, Mode::CellsFile);
    app.update(Event::Key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL)));
    type_str(app, path);
    app.update(key(KeyCode::Enter))
}

#[test]
fn the_panel_shows_a_files_catalogue_titled_with_the_file_until_alt_r() {
    let m = model();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("val.txt");
    std::fs::write(&path, TEXT.chars().cycle().take(25_000).collect::<String>()).unwrap();
    let t0 = Instant::now();
    let mut app = run_at(App::new(info(&m)), &m, "ROMEO:\n", 200, t0);
    app.update(alt('F'));
    assert_eq!(app.box_editor.text(), "", "nothing used yet: an empty box");
    app.update(key(KeyCode::Esc));
    assert_eq!(app.mode, Mode::Typing);
    let cmd = ask(&mut app, path.to_str().unwrap());
    let Some(cmd @ WorkerCmd::FileCells { id: 1, top: 3, .. }) = cmd else { panic!("{cmd:?}") };
    assert_eq!((app.view.panel, app.mode), (Panel::Cells, Mode::Panel));
    assert!(screen(&draw(&app, 100, 30)).join("\n").contains("analysing val.txt… 0%"), "the status says what runs");
    // Typing stays live meanwhile: a letter types and gives the keys back.
    // It is typed within the prompt's burst (the clock is the test's), so the
    // preview waits and the run stays on screen for the snapshot.
    type_at(&mut app, "B", t0 + PREVIEW_DELAY / 2);
    assert_eq!((app.mode, app.prompt.text()), (Mode::Typing, "ROMEO:\nB"));
    let (tx, rx) = channel();
    let mut w = Worker::new(&m, tx);
    // The worker steps on one thread; the file's catalogue runs on every
    // core and gives the thread count back.
    gatescope::model::use_one_thread();
    through_worker(&mut app, &mut w, &rx, cmd);
    assert_eq!(tch::get_num_threads(), 1, "one thread again after the file's catalogue");
    let file = app.analyses.file.as_ref().expect("the file's catalogue");
    assert_eq!(file.value.chars, 20_000);
    assert!(app.analyses.file_job.is_none());
    app.update(alt('C'));
    app.update(alt('C'));
    assert_eq!((app.view.panel, app.mode), (Panel::Cells, Mode::Panel));
    assert!(!app.analyses.busy(), "reopening the panel keeps the file's catalogue");
    assert_snapshot("cells_panel_over_a_file_100x30", draw(&app, 100, 30).backend());
    // The same rows and keys: Down, Enter pins the second row's unit and colours by it.
    app.update(key(KeyCode::Down));
    app.update(key(KeyCode::Enter));
    let unit = cell_rows(&app.analyses.file.as_ref().unwrap().value)[1].1.expect("a unit").unit;
    assert!(app.view.pins.contains(&unit));
    assert_eq!(app.view.unit(), unit);
    // Alt-F again: the box holds the last file.
    app.update(alt('F'));
    assert_eq!(app.box_editor.text(), path.to_str().unwrap());
    app.update(key(KeyCode::Esc));
    assert_eq!(app.mode, Mode::Panel, "Esc goes back where Alt-F came from");
    // Alt-r: back to the history's catalogue.
    app.update(alt('r'));
    assert!(app.analyses.file.is_none() && app.analyses.busy());
    while app.analyses.busy() {
        app.tick(Instant::now());
    }
    let shown = screen(&draw(&app, 100, 30)).join("\n");
    assert!(shown.contains("cells: catalogue") && !shown.contains("val.txt"), "{shown}");
}

#[test]
fn a_bad_file_is_one_line_and_the_session_goes_on() {
    let m = model();
    let dir = tempfile::tempdir().unwrap();
    let mut app = run(App::new(info(&m)), &m, "ROMEO:\n", 50);
    // What the UI can see at once keeps the box open with the reason.
    let missing = dir.path().join("nope.txt");
    for (p, needle) in
        [(missing.to_str().unwrap(), "cannot read"), (dir.path().to_str().unwrap(), "not a regular file")]
    {
        assert_eq!(ask(&mut app, p), None);
        assert_eq!(app.mode, Mode::CellsFile, "{needle}: the box stays open");
        let msg = app.message.as_ref().expect("a message").text.clone();
        assert!(msg.contains(needle) && !msg.contains('\n'), "{msg}");
        app.update(key(KeyCode::Esc));
    }
    // What the worker finds is one line too, and the session goes on.
    let latin1 = dir.path().join("latin1.txt");
    std::fs::write(&latin1, b"ROMEO\xe9:\n").unwrap();
    let cmd = ask(&mut app, latin1.to_str().unwrap()).expect("asked");
    let (tx, rx) = channel();
    let mut w = Worker::new(&m, tx);
    through_worker(&mut app, &mut w, &rx, cmd);
    assert!(app.analyses.file.is_none() && app.analyses.file_job.is_none());
    let line = screen(&draw(&app, 100, 30)).last().unwrap().clone();
    assert!(line.contains("cannot analyse the file:") && line.contains("not UTF-8"), "{line}");
    assert!(!app.quit);
    app.update(key(KeyCode::Esc));
    type_str(&mut app, "B");
    assert_eq!((app.mode, app.prompt.text()), (Mode::Typing, "ROMEO:\nB"), "typing goes on");
}
