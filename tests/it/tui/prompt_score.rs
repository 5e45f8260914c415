//! The prompt's score in the playground: its bits per character in the
//! status while the preview reads it (what `gatescope score` computes over
//! the same text), and the surprise colouring over the prompt's characters.

use gatescope::generate::Generator;
use gatescope::tui::app::{App, ColorMode};
use gatescope::tui::event::{Event, WorkerEvent};
use gatescope::tui::ui::{self, theme};
use gatescope::tui::worker::WorkerCmd;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::time::{Duration, Instant};

use crate::common::app::*;
use crate::common::{assert_snapshot, screen};

/// `prompt` typed into `app`, and the preview the worker would send for it
/// (its prompt steps, then `ghost` generated ones) delivered.
fn preview(app: &mut App, m: &gatescope::model::CharLstm, prompt: &str, ghost: usize) {
    let at = Instant::now();
    // A single key after a quiet spell starts the preview at once; a burst,
    // after the debounce.
    let typed = type_at(app, prompt, at);
    let cmd = app.tick(at + Duration::from_millis(150)).or(typed);
    let Some(WorkerCmd::Start { id, prompt, sampling, .. }) = cmd else { panic!("the preview starts: {cmd:?}") };
    let mut g = Generator::new(m, sampling);
    for s in g.feed_prompt(&prompt).unwrap() {
        app.update(Event::Worker(WorkerEvent::Step { id, step: s.into() }));
    }
    for _ in 0..ghost {
        let s = g.generate_step().unwrap();
        app.update(Event::Worker(WorkerEvent::Step { id, step: s.into() }));
    }
    app.update(Event::Worker(WorkerEvent::Done { id }));
}

fn status(app: &App, w: u16) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, 2)).unwrap();
    t.draw(|f| {
        let a = f.area();
        ui::status::render(app, a, f.buffer_mut())
    })
    .unwrap();
    t
}

/// The figure the status shows after "prompt ".
fn shown_bits(app: &App) -> Option<f64> {
    let line = screen(&status(app, 160))[0].clone();
    let rest = line.split("prompt ").nth(1)?;
    Some(rest.split(" bits/char").next()?.parse().unwrap())
}

/// `score`'s bits per character of `text` under `m`.
fn score_bits(m: &gatescope::model::CharLstm, text: &str) -> f64 {
    let ids: Vec<u32> = text.chars().map(|c| m.vocab.id(c).unwrap() as u32).collect();
    gatescope::train::score::score(m, &ids, &mut |_| {}).bits_per_char
}

#[test]
fn the_status_shows_the_prompts_bits_per_char_as_it_is_typed() {
    let m = model();
    let mut app = App::new(info(&m));
    preview(&mut app, &m, "ROMEO:\nBut soft", 20);
    assert_snapshot("status_line_prompt_bits_120x2", status(&app, 120).backend());
    let bits = shown_bits(&app).expect("the prompt's bits/char in the status");
    assert!((bits - score_bits(&m, "ROMEO:\nBut soft")).abs() <= 0.005 + 1e-6, "{bits}");
    // A longer prompt, its own figure.
    let mut app = App::new(info(&m));
    let longer = "ROMEO:\nBut soft, what light";
    preview(&mut app, &m, longer, 20);
    let bits = shown_bits(&app).expect("the longer prompt's bits/char");
    assert!((bits - score_bits(&m, longer)).abs() <= 0.005 + 1e-6, "{bits} vs {}", score_bits(&m, longer));
    // One character has nothing predicted: no figure.
    let mut one = App::new(info(&m));
    preview(&mut one, &m, "R", 5);
    assert_eq!(shown_bits(&one), None);
    // After Enter the run is the continuation, no longer the prompt being typed.
    let ran = app_with_run("ROMEO:\nBut soft", 10);
    assert_eq!(shown_bits(&ran), None);
}

/// Alt-c's surprise colouring paints every prompt character a step before
/// it predicted (all but the first) by its probability, as it does the
/// generated ones.
#[test]
fn the_surprise_colouring_covers_the_prompt() {
    let mut app = app_with_run("ROMEO:", 30);
    while app.view.color != ColorMode::Surprise {
        app.update(alt('c'));
    }
    let mut t = Terminal::new(TestBackend::new(60, 12)).unwrap();
    t.draw(|f| {
        let a = f.area();
        let focus = ui::Focus { step: app.focus(), inspecting: false };
        ui::output::render(&app.run, &app.view, &app.analyses.search, focus, a, f.buffer_mut())
    })
    .unwrap();
    let buf = t.backend().buffer();
    // The text starts inside the panel's border, at (1, 1).
    for (i, step) in app.run.steps.iter().take(6).enumerate() {
        assert!(step.is_prompt);
        let cell = &buf[(1 + i as u16, 1)];
        assert_eq!(cell.symbol(), step.ch.to_string());
        match step.prob {
            None => assert_eq!(i, 0, "only the first character has no prediction"),
            Some(p) => assert_eq!(cell.bg, theme::surprise(p), "prompt character {i} ({:?})", step.ch),
        }
    }
    assert_ne!(buf[(1, 1)].bg, buf[(2, 1)].bg, "the first character is not coloured");
}
