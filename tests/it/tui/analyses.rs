//! The cell analyses in the playground: the catalogue over the step ring is the CLI's
//! catalogue of the same characters; pins, the cells panel, the saturation
//! view and the span search drawn (snapshots of the text; colours read from
//! cells); named cells from a checkpoint's `cells` metadata.

use gatescope::analysis::{self, catalogue::MeasuredOn, SavedCatalogue};
use gatescope::model::{load_checkpoint, save_checkpoint, CharLstm, Unit};
use gatescope::tui::app::analyses::{named_cells, TOP};
use gatescope::tui::app::{short_r, App, CellLabel, Mode, Panel};
use gatescope::tui::event::{Event, ModelInfo, WorkerEvent};
use gatescope::tui::ui::theme;
use gatescope::tui::worker::WorkerCmd;
use ratatui::crossterm::event::KeyCode;
use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

use crate::common::app::*;
use crate::common::{assert_close, assert_snapshot};

/// Let the analyses finish, a slice per tick, as the main loop does.
fn finish(app: &mut App) -> usize {
    let mut ticks = 0;
    while app.analyses.busy() {
        app.tick(Instant::now());
        ticks += 1;
    }
    ticks
}

fn chars_of(app: &App) -> Vec<char> {
    app.run.steps.iter().map(|s| s.ch).collect()
}

#[test]
fn the_catalogue_over_the_ring_is_the_cli_catalogue_of_the_same_characters() {
    let (mut app, m) = (app_with_run("ROMEO:\nBut soft", 600), model());
    app.update(alt('C'));
    assert_eq!((app.view.panel, app.mode), (Panel::Cells, Mode::Panel));
    assert!(finish(&mut app) > 1, "the job takes more than one slice: typing is never held for all of it");
    let got = &app.analyses.catalogue.as_ref().expect("a catalogue").value;
    let chars = chars_of(&app);
    let ids = analysis::encode(&m.vocab, &chars, "history").unwrap();
    let want = analysis::catalogue(&m, &chars, &ids, TOP, &mut |_| {});
    assert_eq!(got.chars, want.chars);
    assert_eq!(got.features.len(), want.features.len(), "as many features");
    assert!(!want.features.is_empty() && want.features.iter().any(|f| !f.units.is_empty()), "something to compare");
    for (g, w) in got.features.iter().zip(&want.features) {
        assert_eq!((&g.name, g.constant), (&w.name, w.constant));
        let units =
            |f: &analysis::catalogue::FeatureUnits| f.units.iter().map(|c| (c.unit, c.state)).collect::<Vec<_>>();
        assert_eq!(units(g), units(w), "{}: same units", g.name);
        for (a, b) in g.units.iter().zip(&w.units) {
            assert_close(a.r, b.r, 1e-5, &format!("{} {}: r", g.name, a.unit));
        }
    }
    // Saturation likewise: the CLI's fractions over the same characters.
    app.update(alt('G'));
    finish(&mut app);
    let got = &app.analyses.saturation.as_ref().expect("saturation").value;
    let want = analysis::saturation(&m, &ids, 0.1, 0.9, &mut |_| {});
    // One step's difference in a fraction of the characters.
    let step = 1.0 / want.chars as f64;
    assert_eq!((got.layers.len(), want.layers.len()), (m.dims.layers, m.dims.layers), "a row per layer");
    for (k, (gl, wl)) in got.layers.iter().zip(&want.layers).enumerate() {
        assert_eq!((gl.len(), wl.len()), (3, 3), "layer {k}: the gates i, f and o");
        for (g, w) in gl.iter().zip(wl) {
            assert_eq!(g.gate, w.gate);
            assert_eq!(w.left.len(), m.dims.hidden, "layer {k} {:?}: a fraction per unit", w.gate);
            assert_close(&g.left, &w.left, step, &format!("layer {k} gate {:?}: left fractions", g.gate));
            assert_close(&g.right, &w.right, step, &format!("layer {k} gate {:?}: right fractions", g.gate));
        }
    }
}

#[test]
fn typing_during_an_analysis_keeps_it_going() {
    let mut app = app_with_run("ROMEO:\n", 400);
    app.update(alt('C'));
    app.tick(Instant::now());
    assert!(app.analyses.busy());
    // A letter gives the keys back to the prompt and types; the preview
    // clears the ring, and the job, with its own copy, goes on.
    let typed = app.update(key(KeyCode::Char('e')));
    assert_eq!(app.mode, Mode::Typing);
    assert!(app.prompt.text().ends_with('e'));
    let later = Instant::now() + std::time::Duration::from_secs(1);
    let cmd = typed.filter(|c| matches!(c, WorkerCmd::Start { .. })).or_else(|| app.tick(later));
    assert!(matches!(cmd, Some(WorkerCmd::Start { .. })), "the preview starts: {cmd:?}");
    assert!(app.run.steps.is_empty() && app.analyses.busy());
    finish(&mut app);
    let m = app.analyses.catalogue.as_ref().expect("finished");
    assert_eq!(m.steps, 407);
}

#[test]
fn cells_panel_selects_pins_and_colours() {
    let mut app = app_with_run("ROMEO:\nBut soft", 300);
    app.update(alt('C'));
    finish(&mut app);
    assert_snapshot("cells_panel_100x30", draw(&app, 100, 30).backend());
    app.update(key(KeyCode::Down));
    app.update(key(KeyCode::Enter));
    let row = &gatescope::tui::app::analyses::cell_rows(&app.analyses.catalogue.as_ref().unwrap().value)[1];
    let unit = row.1.expect("a unit").unit;
    assert!(app.view.pins.contains(&unit));
    assert_eq!(app.view.unit(), unit, "the text is coloured by the selected unit");
    // Esc gives the keys back; the panel stays until Alt-C.
    app.update(key(KeyCode::Esc));
    assert_eq!((app.mode, app.view.panel), (Mode::Typing, Panel::Cells));
    app.update(alt('C'));
    assert_eq!(app.view.panel, Panel::Gates);
}

#[test]
fn pins_head_the_heatmaps_with_their_names_and_the_box_refuses_bad_units() {
    let mut app = app_with_run("ROMEO:\n", 150);
    for u in ["l1:3", "12"] {
        app.update(alt('u'));
        assert_eq!(app.mode, Mode::Pin);
        type_str(&mut app, u);
        app.update(key(KeyCode::Enter));
    }
    assert_eq!(app.view.pins, [Unit::new(1, 3), Unit::new(0, 12)]);
    app.update(alt('u'));
    type_str(&mut app, "l7:1");
    app.update(key(KeyCode::Enter));
    assert_eq!(app.mode, Mode::Pin, "a refused unit keeps the box open");
    let msg = app.message.as_ref().unwrap().text.clone();
    assert!(msg.contains("l7:1") && !msg.contains('\n'), "{msg}");
    app.update(key(KeyCode::Esc));
    app.view.labels.insert(Unit::new(1, 3), CellLabel { feature: "line_position".into(), r: 0.89 });
    let t = draw(&app, 120, 36);
    assert_snapshot("heatmaps_headed_by_pinned_units_120x36", t.backend());
    let screen: String = format!("{}", t.backend());
    assert!(screen.contains("l1:3 line") && screen.contains("l0:12"), "{screen}");
    assert!(screen.contains("pinned l1:3 line position r .89, l0:12"), "status lists the pins:\n{screen}");
    // Pins persist across generations.
    let m = model();
    let app = run(app, &m, "B", 20);
    assert_eq!(app.view.pins.len(), 2);
}

/// Three pins with long names, as the shipped model starts with, at 120
/// columns: the status keeps the continuation length (set by Alt-+ and shown
/// nowhere else) and gives the pins the room left, bare units when their
/// names do not fit.
#[test]
fn the_status_keeps_the_length_beside_three_named_pins() {
    let mut app = app_with_run("ROMEO:\n", 150);
    for (u, (feature, r)) in [
        (Unit::new(1, 3), ("speaker_line", 0.88)),
        (Unit::new(1, 5), ("line_position", 0.91)),
        (Unit::new(0, 2), ("in_word", 0.64)),
    ] {
        app.view.pins.push(u);
        app.view.labels.insert(u, CellLabel { feature: feature.into(), r });
    }
    app.update(alt('+'));
    app.update(alt('+'));
    let screen = format!("{}", draw(&app, 120, 36).backend());
    let status = screen.lines().rev().nth(1).unwrap();
    assert!(status.contains(&format!("len {}", app.length)) && app.length == 2000, "{status}");
    assert!(status.contains("pinned l1:3 speaker line r .88, l1:5"), "the room left names the first pin: {status}");
    let wide = format!("{}", draw(&app, 200, 36).backend());
    assert!(wide.contains("pinned l1:3 speaker line r .88, l1:5 line position r .91, l0:2 in word r .64"), "{wide}");
}

#[test]
fn saturation_view_picks_the_point_nearest_the_cursor() {
    let mut app = app_with_run("ROMEO:\nBut soft", 300);
    app.update(alt('G'));
    finish(&mut app);
    for _ in 0..3 {
        app.update(key(KeyCode::Right));
    }
    app.update(key(KeyCode::Tab));
    assert_snapshot("saturation_view_120x36", draw(&app, 120, 36).backend());
    let (u, _, _) = app.analyses.selected_point().expect("a point");
    app.update(key(KeyCode::Char(' ')));
    let (v, _, _) = app.analyses.selected_point().unwrap();
    assert_ne!(u, v, "Space goes to the next nearest point");
    app.update(key(KeyCode::Enter));
    assert!(app.view.pins.contains(&v));
}

#[test]
fn span_search_pins_the_selection_and_highlights_matches() {
    let mut app = app_with_run("ROMEO:\nBut soft, what light\n", 200);
    // The first two-step span of l0 that selects units with matches (a
    // random model's cells seldom pass tanh(c) >= 0.3, so look for one).
    let mut bits = analysis::OnBits::new(16, analysis::State::C, 0.3);
    app.run.steps.iter().for_each(|s| bits.push(&s.layers[0].gates.c));
    let pads = analysis::Pads { left: 1, right: 0 };
    let start = (1..app.run.steps.len() - 2)
        .find(|&a| {
            let r = analysis::search(&bits, a..a + 2, pads, 50);
            !r.selected.is_empty() && !r.matches.is_empty()
        })
        .expect("a span with matches");
    app.update(key(KeyCode::Tab));
    assert_eq!(app.mode, Mode::Inspect);
    app.update(key(KeyCode::Home));
    for _ in 0..start {
        app.update(key(KeyCode::Right));
    }
    app.update(key(KeyCode::Char('a')));
    app.update(key(KeyCode::Right));
    app.update(key(KeyCode::Char('e')));
    finish(&mut app);
    let s = app.analyses.search.last.clone().expect("searched");
    assert_eq!(s.span, Some(start..start + 2));
    assert_eq!(s.result, analysis::search(&bits, start..start + 2, pads, 50), "the CLI's search");
    for &u in &s.result.selected {
        assert!(app.view.pins.contains(&Unit::new(0, u)), "selected units are pinned");
    }
    assert!(!app.analyses.search.matches.is_empty(), "the repeated name matches: {:?}", s.result);
    app.update(key(KeyCode::Char('j')));
    let first = app.analyses.search.matches[0].clone();
    assert_eq!((app.view.cursor, app.analyses.search.current), (first.start, Some(0)));
    let t = draw(&app, 100, 30);
    assert_snapshot("span_search_matches_highlighted_100x30", t.backend());
    // The output panel paints the span and the matches.
    let buf = t.backend().buffer();
    let bgs: Vec<_> = (0..100).flat_map(|x| (1..10).map(move |y| (x, y))).map(|p| buf[p].bg).collect();
    assert!(bgs.contains(&theme::SPAN_BG), "the searched span is highlighted");
    assert!(bgs.contains(&theme::MATCH_BG) || bgs.contains(&theme::MATCH_CURRENT_BG), "matches are highlighted");
    // A new run clears the matches (they index the old history); pins stay.
    let pins = app.view.pins.len();
    let m = model();
    app.update(key(KeyCode::Tab));
    let app = run(app, &m, "", 5);
    assert!(app.analyses.search.matches.is_empty() && app.view.pins.len() == pins);
}

/// The catalogue of `m` over TEXT repeated, as a checkpoint would carry it.
fn saved_catalogue(m: &CharLstm) -> SavedCatalogue {
    let chars: Vec<char> = TEXT.repeat(20).chars().collect();
    let ids = analysis::encode(&m.vocab, &chars, "text").unwrap();
    let cat = analysis::catalogue(m, &chars, &ids, 3, &mut |_| {});
    SavedCatalogue::new(cat, MeasuredOn { file: "t.txt".into(), offset: 0, chars: chars.len(), also: Vec::new() }, 3)
}

#[test]
fn a_checkpoint_catalogue_names_and_pins_the_three_strongest_cells() {
    let dir = tempfile::tempdir().unwrap();
    let m = model();
    let saved = saved_catalogue(&m);
    let path = dir.path().join("named.safetensors");
    let meta = BTreeMap::from([("cells".to_string(), saved.to_json())]);
    save_checkpoint(&m, &meta, &path).unwrap();
    let info = ModelInfo::of(&load_checkpoint(&path).unwrap());
    let (named, pins) = named_cells(info.cells.as_ref().expect("the catalogue is read"), 2, 16);
    let mut app = App::new(info);
    assert_eq!(pins, 3);
    assert_eq!(app.view.pins, named.iter().take(3).map(|n| n.0).collect::<Vec<_>>());
    let (best, label) = &named[0];
    // The strongest feature's best unit, labelled with its name and r.
    let top = saved
        .features
        .iter()
        .filter_map(|f| f.units.first().map(|c| (f, c)))
        .max_by(|a, b| a.1.r.abs().total_cmp(&b.1.r.abs()))
        .unwrap();
    assert_eq!(*best, top.1.unit);
    assert_eq!(*label, CellLabel { feature: top.0.name.clone(), r: top.1.r });
    assert_eq!(label.to_string(), format!("{} r {}", top.0.name.replace('_', " "), short_r(top.1.r)));
    app.view.colour_by(*best);
    app = run(app, &m, "ROMEO:\n", 60);
    // The colouring title names the unit with its label where the whole
    // title fits, and the bare unit, legend kept, where it does not.
    let screen = format!("{}", draw(&app, 200, 36).backend());
    assert!(screen.contains(&format!("tanh(c) of {best} {label}: red − blue +")), "colouring title:\n{screen}");
    let screen = format!("{}", draw(&app, 120, 36).backend());
    assert!(screen.contains(&format!("tanh(c) of {best}: red − blue +")), "colouring title:\n{screen}");
    let narrow = format!("{}", draw(&app, 80, 24).backend());
    assert!(narrow.contains(&format!("┌ tanh(c) of {best}: red − blue + ─")), "colouring title:\n{narrow}");
    assert!(screen.contains(&format!("{best} {}", label.words().next().unwrap())), "gutter:\n{screen}");
    // A `cells` value that is not a catalogue: a warning, no pins, no panic.
    let meta = BTreeMap::from([("cells".to_string(), "{not json".to_string())]);
    save_checkpoint(&m, &meta, &path).unwrap();
    let app = App::new(ModelInfo::of(&load_checkpoint(&path).unwrap()));
    assert!(app.view.pins.is_empty());
    let msg = &app.message.as_ref().unwrap().text;
    assert!(msg.contains("not a cell catalogue") && !msg.contains('\n'), "{msg}");
}

/// A catalogue saved with `--pin` pins those features' best units, in that
/// order, and only those; the other named cells keep their labels.
#[test]
fn a_catalogue_with_pins_pins_those_features_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let m = model();
    let mut saved = saved_catalogue(&m);
    let best = |name: &str| saved.features.iter().find(|f| f.name == name).unwrap().units[0].unit;
    // The two weakest features with units, named weakest first.
    let mut ranked: Vec<_> = saved.features.iter().filter_map(|f| f.units.first().map(|c| (c.r.abs(), f))).collect();
    ranked.sort_by(|a, b| a.0.total_cmp(&b.0));
    let weak: Vec<String> = ranked.iter().map(|(_, f)| f.name.clone()).take(2).collect();
    assert_ne!(best(&weak[0]), best(&weak[1]), "two different units for the test");
    saved.pin = weak.clone();
    let path = dir.path().join("pinned.safetensors");
    save_checkpoint(&m, &BTreeMap::from([("cells".to_string(), saved.to_json())]), &path).unwrap();
    let info = ModelInfo::of(&load_checkpoint(&path).unwrap());
    let app = App::new(info);
    assert_eq!(app.view.pins, [best(&weak[0]), best(&weak[1])]);
    assert_eq!(app.view.labels[&best(&weak[0])].feature, weak[0]);
    assert_eq!(app.view.labels.len(), ranked.iter().map(|(_, f)| f.units[0].unit).collect::<HashSet<_>>().len());
}

#[test]
fn short_r_drops_the_leading_zero() {
    assert_eq!(short_r(0.887), ".89");
    assert_eq!(short_r(-0.4), "−.40");
    assert_eq!(short_r(1.0), "1.00");
}

/// Loading another model (the load box, e.g. a built-in name) replaces the
/// pins and names: the old model's units mean nothing in the new one, and
/// the new one's catalogue pins its own.
#[test]
fn loading_another_model_replaces_its_pins_and_names() {
    let m = model();
    let mut app = App::new(info(&m));
    app.update(alt('u'));
    type_str(&mut app, "l1:3");
    app.update(key(KeyCode::Enter));
    assert_eq!(app.view.pins, [Unit::new(1, 3)]);
    let python = ModelInfo::of(&gatescope::model::load_model(Some(std::path::Path::new("python"))).unwrap());
    let (named, pins) = named_cells(python.cells.as_ref().expect("the code model has a catalogue"), 3, 512);
    app.update(Event::Worker(WorkerEvent::Loaded(python)));
    assert_eq!(app.view.pins, named.iter().take(pins).map(|n| n.0).collect::<Vec<_>>());
    // Its catalogue was saved with --pin bracket_depth,indent,in_string (docs/models.md).
    assert_eq!(app.view.pins, [Unit::new(2, 171), Unit::new(2, 409), Unit::new(0, 106)]);
    assert_eq!(app.view.labels.len(), named.len());
}
