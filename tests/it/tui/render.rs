//! Render tests: the real App, driven by key events and real `Step`s from a
//! tiny random model, drawn into ratatui's TestBackend. Snapshots hold the
//! text; colours are checked by reading cells.

use gatescope::generate::{Generator, LayerStep, Step};
use gatescope::model::lstm::LayerGates;
use gatescope::tui::app::{ring_capacity, App, ColorMode, Mode, RunState, MAX_STEPS};
use gatescope::tui::event::{Event, WorkerEvent};
use gatescope::tui::ui::{self, theme};
use gatescope::tui::worker::WorkerCmd;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::Terminal;

use crate::common::app::*;
use crate::common::{assert_snapshot, screen};

fn panel(app: &App, w: u16, h: u16, f: impl Fn(&App, Rect, &mut Buffer)) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|fr| {
        let area = fr.area();
        f(app, area, fr.buffer_mut())
    })
    .unwrap();
    t
}

fn focus(app: &App) -> ui::Focus {
    ui::Focus { step: app.focus(), inspecting: app.mode == Mode::Inspect }
}

fn output_panel(app: &App, r: Rect, b: &mut Buffer) {
    ui::output::render(&app.run, &app.view, &app.analyses.search, focus(app), r, b)
}

fn gates_panel(app: &App, r: Rect, b: &mut Buffer) {
    ui::gates::render(&app.run, &app.view, focus(app), r, b)
}

#[test]
fn full_layout_100x30() {
    let app = app_with_run("ROMEO:\n", 150);
    assert_snapshot("playground_after_a_run_100x30", draw(&app, 100, 30).backend());
}

#[test]
fn full_layout_160x48() {
    let app = app_with_run("ROMEO:\n", 300);
    assert_snapshot("playground_after_a_run_160x48", draw(&app, 160, 48).backend());
}

#[test]
fn inspect_mode_with_g_and_h() {
    let mut app = app_with_run("But soft", 60);
    app.update(key(KeyCode::Tab));
    assert_eq!(app.mode, Mode::Inspect);
    for _ in 0..20 {
        app.update(key(KeyCode::Left));
    }
    app.update(key(KeyCode::Char('g')));
    app.update(key(KeyCode::Char('h')));
    app.update(key(KeyCode::Char('l')));
    assert!(app.view.show_g && app.view.show_h && app.view.layer == 1);
    let t = draw(&app, 120, 40);
    assert_snapshot("inspect_mode_with_g_and_h_120x40", t.backend());
    let text = screen(&t).join("\n");
    assert!(text.contains("g candidate"), "the g heatmap shows when toggled");
    assert!(text.contains("h l1"), "|h| is in the chart legend");
    assert!(text.contains("gates · l1 of 2 layers"), "layers are named as in PyTorch (l0, l1)");
}

#[test]
fn panels_one_by_one() {
    let mut app = app_with_run("ROMEO:\n", 80);
    assert_snapshot("output_panel_60x12", panel(&app, 60, 12, output_panel).backend());
    assert_snapshot("gates_panel_70x20", panel(&app, 70, 20, gates_panel).backend());
    assert_snapshot(
        "norms_panel_60x10",
        panel(&app, 60, 10, |a, r, b| ui::norms::render(&a.run, &a.view, focus(a), r, b)).backend(),
    );
    assert_snapshot(
        "next_char_panel_40x7",
        panel(&app, 40, 7, |a, r, b| ui::topk::render(&a.run, focus(a), r, b)).backend(),
    );
    assert_snapshot("status_line_160x2", panel(&app, 160, 2, ui::status::render).backend());
    let mut t = Terminal::new(TestBackend::new(60, 3)).unwrap();
    t.draw(|f| {
        let a = f.area();
        ui::prompt::render(&app, a, f.buffer_mut());
    })
    .unwrap();
    assert_snapshot("prompt_panel_60x3", t.backend());
    app.update(key(KeyCode::F(1)));
    assert!(app.view.help);
    assert_snapshot("help_over_the_playground_100x30", draw(&app, 100, 30).backend());
}

#[test]
fn too_small_and_every_size_down_to_1x1() {
    let app = app_with_run("ROMEO:\n", 50);
    assert_snapshot("too_small_message_60x20", draw(&app, 60, 20).backend());
    // A resize storm: every size from 1x1 to past the minimum, never a panic.
    let mut t = Terminal::new(TestBackend::new(1, 1)).unwrap();
    for (w, h) in (1..=120u16).step_by(7).flat_map(|w| (1..=50u16).step_by(5).map(move |h| (w, h))) {
        t.backend_mut().resize(w, h);
        t.autoresize().unwrap();
        t.draw(|f| ui::draw(f, &app)).unwrap();
    }
    t.backend_mut().resize(100, 30);
    t.autoresize().unwrap();
    t.draw(|f| ui::draw(f, &app)).unwrap();
    assert!(screen(&t).join("\n").contains(" output "), "the layout comes back after a resize");
}

#[test]
fn ghost_text_follows_the_prompt_while_previewing() {
    let m = model();
    let mut app = App::new(info(&m));
    type_str(&mut app, "ROMEO:");
    assert!(app.deadline().is_some(), "an edit schedules the preview");
    let cmd = app.tick(std::time::Instant::now() + std::time::Duration::from_millis(150));
    let Some(WorkerCmd::Start { id, prompt, length, sampling }) = cmd else { panic!("the preview starts: {cmd:?}") };
    assert_eq!(length, gatescope::tui::app::PREVIEW_LEN);
    let mut g = Generator::new(&m, sampling);
    for s in g.feed_prompt(&prompt).unwrap() {
        app.update(Event::Worker(WorkerEvent::Step { id, step: s.into() }));
    }
    let mut ghost = String::new();
    for _ in 0..20 {
        let s = g.generate_step().unwrap();
        ghost.push(s.ch);
        app.update(Event::Worker(WorkerEvent::Step { id, step: s.into() }));
    }
    app.update(Event::Worker(WorkerEvent::Done { id }));
    let t = draw(&app, 100, 30);
    let buf = t.backend().buffer();
    let areas = ui::areas(buf.area);
    let y = areas.prompt.y + 1;
    let first_ghost = ghost.chars().find(|c| *c != '\n' && *c != ' ').unwrap();
    let ghost_cell = (areas.prompt.x + 1..areas.prompt.right() - 1)
        .map(|x| &buf[(x, y)])
        .skip(6)
        .find(|c| c.symbol() == first_ghost.to_string())
        .expect("a ghost character after the prompt");
    assert_eq!(ghost_cell.fg, theme::GHOST, "ghost text is dim");
    assert_snapshot("live_preview_ghost_text_100x30", t.backend());
}

fn synthetic_step(t: usize, ch: char, is_prompt: bool, v: f32, prob: Option<f32>) -> Step {
    let n = 16;
    let layer = LayerStep {
        gates: LayerGates {
            i: vec![v; n],
            f: vec![v; n],
            g: vec![v * 2.0 - 1.0; n],
            o: vec![v; n],
            c: vec![v; n],
            h: vec![v * 0.5; n],
        },
        c_norm: v * 4.0,
        h_norm: v,
    };
    Step {
        t,
        ch,
        is_prompt,
        prob,
        layers: vec![layer.clone(), layer],
        top: vec![(ch, prob.unwrap_or(f32::NAN)), ('a', 0.1)],
    }
}

/// An app whose current run is exactly `steps`.
fn app_with_steps(steps: Vec<Step>) -> App {
    let m = model();
    let mut app = App::new(info(&m));
    type_str(&mut app, "R");
    let Some(WorkerCmd::Start { id, .. }) = app.update(key(KeyCode::Enter)) else { panic!() };
    for s in steps {
        app.update(Event::Worker(WorkerEvent::Step { id, step: s.into() }));
    }
    app.update(Event::Worker(WorkerEvent::Done { id }));
    app
}

#[test]
fn heatmap_colours_follow_the_fixed_scale() {
    // Steps alternate between all-zero and all-one gates.
    let steps: Vec<Step> = (0..40).map(|t| synthetic_step(t, 'a', t < 3, (t % 2) as f32, Some(0.5))).collect();
    let app = app_with_steps(steps);
    let t = panel(&app, 70, 20, gates_panel);
    let buf = t.backend().buffer();
    let mut seen_zero = false;
    let mut seen_one = false;
    // Below the border and the legend (whose ▀ sample is two colours).
    for y in 3..buf.area.height {
        for x in 0..buf.area.width {
            let c = &buf[(x, y)];
            if c.symbol() == "▀" && c.bg != Color::Reset {
                assert_eq!(c.fg, c.bg, "upper and lower unit of one step agree here");
                seen_zero |= c.fg == theme::unit(0.0);
                seen_one |= c.fg == theme::unit(1.0);
            }
        }
    }
    assert!(seen_zero && seen_one, "0 and 1 map to the ends of the scale");
    assert_eq!(theme::unit(0.0), Color::Rgb(68, 1, 84));
    assert_eq!(theme::unit(1.0), Color::Rgb(253, 231, 37));
    assert_eq!(theme::signed(-1.0), Color::Rgb(33, 102, 172));
    // The step strip sets prompt steps apart.
    let strip_y = buf.area.height - 2;
    let strip: Vec<Color> = (0..buf.area.width).map(|x| buf[(x, strip_y)].bg).collect();
    assert!(strip.contains(&theme::PROMPT_BG) && strip.contains(&theme::GENERATED_BG));
}

#[test]
fn surprise_and_cell_colour_modes() {
    let steps: Vec<Step> =
        (0..10).map(|t| synthetic_step(t, 'x', false, 0.9, Some(if t % 2 == 0 { 0.99 } else { 0.001 }))).collect();
    let mut app = app_with_steps(steps);
    app.update(alt('c'));
    assert_eq!(app.view.color, ColorMode::Surprise);
    let t = panel(&app, 30, 5, output_panel);
    let buf = t.backend().buffer();
    assert_eq!(buf[(1, 1)].bg, theme::surprise(0.99));
    assert_eq!(buf[(2, 1)].bg, theme::surprise(0.001));
    assert_ne!(buf[(1, 1)].bg, buf[(2, 1)].bg);
    app.update(alt('c'));
    assert_eq!(app.view.color, ColorMode::Cell);
    let t = panel(&app, 30, 5, output_panel);
    assert_eq!(t.backend().buffer()[(1, 1)].bg, theme::cell(0.9f32.tanh()));
    // Positive is blue, as on the exported page.
    assert!(matches!(theme::cell(0.9f32.tanh()), Color::Rgb(r, _, b) if b > r));
    app.update(alt('c'));
    assert_eq!(app.view.color, ColorMode::Plain);
}

#[test]
fn non_finite_values_never_panic_a_widget() {
    let mut steps = Vec::new();
    for t in 0..30 {
        let mut s = synthetic_step(t, 'b', false, 0.5, Some(f32::NAN));
        if t % 3 == 0 {
            for l in &mut s.layers {
                l.gates.i[0] = f32::NAN;
                l.c_norm = f32::NAN;
                l.h_norm = f32::INFINITY;
                l.gates.c[0] = f32::NEG_INFINITY;
            }
        }
        s.top = vec![('b', f32::NAN), ('a', f32::INFINITY)];
        steps.push(s);
    }
    let mut app = app_with_steps(steps);
    app.update(alt('h'));
    for mode in 0..3 {
        let t = draw(&app, 100, 30);
        if mode == 0 {
            let text = screen(&t).join("\n");
            assert!(text.contains("NaN"), "the top-k panel says NaN");
        }
        app.update(alt('c'));
    }
    assert_eq!(ui::norms::bounds([f64::NAN, f64::INFINITY].into_iter()), [0.0, 1.0]);
    let b = ui::norms::bounds([2.0, 2.0, f64::NAN].into_iter());
    assert!(b[0] < b[1]);
    // An all-NaN gate column is drawn with the NaN colour.
    let steps: Vec<Step> = (0..5).map(|t| synthetic_step(t, 'c', false, f32::NAN, None)).collect();
    let app = app_with_steps(steps);
    let t = panel(&app, 70, 20, gates_panel);
    let buf = t.backend().buffer();
    assert!((0..buf.area.width)
        .any(|x| (0..buf.area.height).any(|y| buf[(x, y)].symbol() == "▀" && buf[(x, y)].fg == theme::NAN)));
}

#[test]
fn control_characters_never_reach_the_screen() {
    let nasty = ['\t', '\r', '\u{1b}', '\u{301}', '\u{7}', '\u{202e}', '\u{85}', '\u{7f}', 'e', '\u{301}', '語', '\0'];
    let steps: Vec<Step> =
        nasty.iter().enumerate().map(|(t, &c)| synthetic_step(t, c, false, 0.5, Some(0.5))).collect();
    let app = app_with_steps(steps);
    let t = draw(&app, 100, 30);
    let buf = t.backend().buffer();
    for c in buf.content() {
        for ch in c.symbol().chars() {
            assert!(!ch.is_control(), "control character U+{:04X} reached a cell", ch as u32);
            assert!(!('\u{202a}'..='\u{202e}').contains(&ch), "a bidi override reached a cell");
        }
    }
    let out = screen(&panel(&app, 40, 4, output_panel)).join("\n");
    assert!(out.contains("⇥␍␛◌\u{301}"), "tab, CR, ESC and a lone mark are shown as symbols: {out}");
    assert!(out.contains("e\u{301}"), "a combining accent joins its letter");
    assert!(out.contains('語'));
}

#[test]
fn stale_steps_are_dropped() {
    let m = model();
    let mut app = App::new(info(&m));
    let t0 = std::time::Instant::now();
    let at = |ms: u64| t0 + std::time::Duration::from_millis(ms);
    // The first keystroke after a quiet spell previews at once.
    assert!(matches!(app.update_at(key(KeyCode::Char('R')), at(0)), Some(WorkerCmd::Start { .. })));
    app.update_at(key(KeyCode::Char('O')), at(10));
    let Some(WorkerCmd::Start { id: first, .. }) = app.update_at(key(KeyCode::Enter), at(20)) else { panic!() };
    app.update_at(
        Event::Worker(WorkerEvent::Step { id: first, step: synthetic_step(0, 'R', true, 0.1, None).into() }),
        at(21),
    );
    // An edit in a burst cancels at once (Stop), and steps of the old request are stale.
    assert_eq!(app.update_at(key(KeyCode::Char('M')), at(30)), Some(WorkerCmd::Stop));
    app.update_at(
        Event::Worker(WorkerEvent::Step { id: first, step: synthetic_step(1, 'z', false, 0.1, None).into() }),
        at(31),
    );
    assert!(app.run.steps.iter().all(|s| s.ch != 'z'));
    // A storm of 1,000 edits: nothing starts while typing, then one preview for the last prompt.
    for i in 0..1000u64 {
        let c = if i % 2 == 0 { 'E' } else { 'O' };
        let cmd = app.update_at(key(KeyCode::Char(c)), at(40 + i));
        assert!(cmd.is_none(), "no new work while typing: {cmd:?}");
    }
    assert!(app.tick(at(1039 + 50)).is_none(), "not before the typing pauses");
    let Some(WorkerCmd::Start { id: last, prompt, .. }) = app.tick(at(1039 + 100)) else { panic!() };
    assert_eq!(prompt.chars().count(), 3 + 1000);
    assert!(last > first);
    assert!(app.tick(at(5000)).is_none(), "exactly one start");
    app.update(Event::Worker(WorkerEvent::Step { id: first, step: synthetic_step(2, 'z', false, 0.1, None).into() }));
    app.update(Event::Worker(WorkerEvent::Step { id: last, step: synthetic_step(0, 'R', true, 0.1, None).into() }));
    assert_eq!(app.run.steps.len(), 1);
    assert_eq!(app.run.steps[0].ch, 'R');
}

#[test]
fn the_ring_keeps_memory_bounded() {
    let one = synthetic_step(0, 'a', false, 0.5, Some(0.5));
    let cap = ring_capacity(one.heap_bytes());
    assert_eq!(cap, MAX_STEPS, "a tiny model is capped by count");
    assert_eq!(ring_capacity(20_700), 12_967, "a 2x512 model is capped by the 256 MB budget");
    let steps: Vec<Step> = (0..cap + 250).map(|t| synthetic_step(t, 'a', false, 0.5, Some(0.5))).collect();
    let app = app_with_steps(steps);
    assert_eq!(app.run.steps.len(), cap);
    assert_eq!(app.run.dropped, 250);
    assert_eq!(app.run.steps.front().unwrap().t, 250);
    let text = screen(&draw(&app, 100, 30)).join("\n");
    assert!(text.contains("first 250 chars dropped"));
}

#[test]
fn unknown_characters_are_marked_not_dropped() {
    let m = model();
    let mut app = App::new(info(&m));
    type_str(&mut app, "RQ☃");
    assert_eq!(app.prompt.editor.text(), "RQ☃", "nothing is dropped");
    assert_eq!(app.update(key(KeyCode::Enter)), None, "no run with unreadable characters");
    let msg = app.prompt.vocab_problem().unwrap();
    assert!(msg.contains("'Q'") && msg.contains("'☃'"), "{msg}");
    let t = draw(&app, 100, 30);
    let buf = t.backend().buffer();
    let a = ui::areas(buf.area);
    let y = a.prompt.y + 1;
    assert_eq!(buf[(a.prompt.x + 2, y)].symbol(), "Q");
    assert_eq!(buf[(a.prompt.x + 2, y)].bg, theme::UNKNOWN_BG);
    assert_ne!(buf[(a.prompt.x + 1, y)].bg, theme::UNKNOWN_BG);
}

#[test]
fn esc_stops_and_tab_pauses_a_running_generation() {
    let m = model();
    let mut app = App::new(info(&m));
    type_str(&mut app, "RO");
    let Some(WorkerCmd::Start { id, .. }) = app.update(key(KeyCode::Enter)) else { panic!() };
    app.update(Event::Worker(WorkerEvent::Step { id, step: synthetic_step(0, 'R', true, 0.1, None).into() }));
    assert_eq!(app.run.state, RunState::Generating);
    assert_eq!(app.update(key(KeyCode::Tab)), Some(WorkerCmd::Pause));
    assert_eq!(app.run.state, RunState::Paused);
    assert_eq!(app.update(key(KeyCode::Tab)), Some(WorkerCmd::Resume));
    assert_eq!(app.run.state, RunState::Generating);
    assert_eq!(app.update(key(KeyCode::Esc)), Some(WorkerCmd::Stop));
    assert_eq!(app.run.state, RunState::Idle);
}

#[test]
fn editing_keys_reach_the_prompt_and_scroll_keys_the_output() {
    let mut app = app_with_run("ROMEO:\n", 400);
    // No preview: with the real clock an edit may start one (and replace the
    // run this test scrolls) depending on how long the set-up took.
    app.preview = false;
    let ctrl = |c: char| Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL));
    app.update(Event::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::ALT)));
    assert_eq!(app.prompt.editor.text(), "ROMEO:\n\n", "Alt-Enter inserts a line break");
    app.update(key(KeyCode::Backspace));
    app.update(key(KeyCode::Home));
    app.update(key(KeyCode::Delete));
    assert_eq!(app.prompt.editor.text(), "OMEO:\n");
    app.update(key(KeyCode::End));
    type_str(&mut app, "But soft");
    app.update(ctrl('w'));
    assert_eq!(app.prompt.editor.text(), "OMEO:\nBut ");
    app.update(key(KeyCode::Left));
    app.update(key(KeyCode::Right));
    app.update(ctrl('a'));
    assert_eq!(app.prompt.editor.cursor(), 0);
    app.update(ctrl('e'));
    assert_eq!(app.prompt.editor.cursor(), app.prompt.editor.text().len());
    app.update(Event::Paste("JULIET:\r\nO".into()));
    assert!(app.prompt.editor.text().ends_with("JULIET:\nO"), "paste inserts, line breaks normalised");
    // PgUp scrolls the output back; PgDn returns.
    let before = screen(&panel(&app, 40, 8, output_panel)).join("\n");
    app.update(key(KeyCode::PageUp));
    assert_eq!(app.view.scroll, 5);
    let after = screen(&panel(&app, 40, 8, output_panel)).join("\n");
    assert_ne!(before, after, "the output scrolled");
    app.update(key(KeyCode::PageDown));
    assert_eq!(app.view.scroll, 0);
    // Esc stops nothing when idle but clears a message.
    app.update(key(KeyCode::Esc));
    assert!(app.message.is_none());
}

#[test]
fn the_minimum_size_shows_every_panel() {
    let mut app = app_with_run("ROMEO:\n", 100);
    app.update(alt('g'));
    let text = screen(&draw(&app, 80, 24)).join("\n");
    for p in [
        " output ",
        "gates",
        "i input",
        "f forget",
        "o output",
        "g candidate",
        "norm",
        "next char",
        "prompt",
        "T 0.80",
        "F1 help",
    ] {
        assert!(text.contains(p), "{p} at 80x24:\n{text}");
    }
}

/// The heatmap shows the units that vary most over the window, in unit
/// order; a unit with a non-finite value counts as the most variable, and
/// pinned units are left to their own rows.
#[test]
fn the_heatmap_picks_the_most_variable_units() {
    use gatescope::tui::ui::gates::{pick_units, Gate};
    // Unit u swings by u / 16 from step to step; unit 3 holds one NaN, unit 5 one infinity.
    let steps: std::collections::VecDeque<std::sync::Arc<Step>> = (0..40)
        .map(|t| {
            let mut s = synthetic_step(t, 'a', false, 0.5, Some(0.5));
            for l in &mut s.layers {
                for (u, v) in l.gates.i.iter_mut().enumerate() {
                    *v = if t % 2 == 0 { u as f32 / 16.0 } else { 0.0 };
                }
                if t == 7 {
                    l.gates.i[3] = f32::NAN;
                    l.gates.i[5] = f32::INFINITY;
                }
            }
            s.into()
        })
        .collect();
    // 2 rows show 4 units: the two non-finite ones, then the two widest swings.
    assert_eq!(pick_units(&steps, Gate::I, 1, 0..40, 16, 2, &[]), vec![3, 5, 14, 15]);
    assert_eq!(pick_units(&steps, Gate::I, 0, 0..40, 16, 2, &[15]), vec![3, 5, 13, 14]);
    // The window decides: before step 7 nothing is non-finite.
    assert_eq!(pick_units(&steps, Gate::I, 0, 0..7, 16, 2, &[]), vec![12, 13, 14, 15]);
    // Every unit fits: all of them, in order, but the pinned ones.
    assert_eq!(pick_units(&steps, Gate::I, 0, 0..40, 16, 8, &[2]), (0..16).filter(|&u| u != 2).collect::<Vec<_>>());
}
