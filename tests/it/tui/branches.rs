//! Branches and samples side by side, in process: the real App and the
//! real model worker (its forced queue), over a tiny random model. The
//! tree's own operations have unit tests in src/tui/app/branches.rs.

use gatescope::generate::Generator;
use gatescope::model::sample::Sampling;
use gatescope::tui::app::{App, Mode};
use gatescope::tui::event::Event;
use gatescope::tui::ui::theme;
use gatescope::tui::worker::{Flow, Worker, WorkerCmd};
use ratatui::crossterm::event::KeyCode;
use ratatui::style::Modifier;
use std::sync::mpsc::{channel, Receiver};

use crate::common::app::*;
use crate::common::{assert_close, assert_snapshot, screen};

/// The app and a worker over the same tiny model.
struct Rig {
    app: App,
    worker: Worker,
    rx: Receiver<Event>,
}

impl Rig {
    fn new() -> Self {
        let m = model();
        let (tx, rx) = channel();
        Rig { app: App::new(info(&m)), worker: Worker::new(&m, tx), rx }
    }

    /// Hand `cmd` to the worker and its events to the app until the worker
    /// is idle, and so on for every command the app answers with.
    fn serve(&mut self, cmd: Option<WorkerCmd>) {
        let mut next = cmd;
        for _ in 0..1_000_000 {
            if let Some(c) = next.take() {
                assert_eq!(self.worker.handle(c), Flow::Continue);
            }
            for e in self.rx.try_iter().collect::<Vec<_>>() {
                if let Some(c) = self.app.update(e) {
                    assert!(next.is_none(), "one command at a time");
                    next = Some(c);
                }
            }
            if next.is_none() && !self.worker.busy() {
                return;
            }
            if self.worker.busy() {
                self.worker.step();
            }
        }
        panic!("the worker never went idle");
    }

    fn key(&mut self, code: KeyCode) {
        let cmd = self.app.update(key(code));
        self.serve(cmd);
    }

    fn alt(&mut self, c: char) {
        let cmd = self.app.update(alt(c));
        self.serve(cmd);
    }

    fn text(&self) -> String {
        self.app.run.steps.iter().map(|s| s.ch).collect()
    }

    /// A full run of `length` characters from `prompt`.
    fn run(prompt: &str, length: usize) -> Self {
        let mut r = Rig::new();
        r.app.length = length;
        let cmd = type_str(&mut r.app, prompt);
        r.serve(cmd);
        r.key(KeyCode::Enter);
        r
    }
}

const PROMPT: &str = "ROMEO:\n";

#[test]
fn a_branch_at_a_generated_step_keeps_the_old_text_as_its_sibling() {
    let mut r = Rig::run(PROMPT, 40);
    let old = r.text();
    let old_steps: Vec<_> = r.app.run.steps.iter().cloned().collect();
    assert_eq!(old.chars().count(), 7 + 40);
    r.key(KeyCode::Tab);
    for _ in 0..15 {
        r.key(KeyCode::Left);
    }
    let t = r.app.focus().unwrap();
    assert_eq!(t, 46 - 15);
    // ↑↓ choose in the next-character panel, not the cursor.
    r.key(KeyCode::Down);
    r.key(KeyCode::Down);
    assert_eq!((r.app.view.choice, r.app.focus()), (Some(1), Some(t)));
    let (c, p) = old_steps[t].top[1];
    let cmd = r.app.update(key(KeyCode::Enter));
    let want: String = old.chars().skip(7).take(t + 1 - 7).chain([c]).collect();
    match &cmd {
        Some(WorkerCmd::Branch { prompt, forced, length, .. }) => {
            assert_eq!((prompt.as_str(), forced.as_str(), *length), (PROMPT, want.as_str(), 40));
        }
        other => panic!("Enter with a candidate branches: {other:?}"),
    }
    r.serve(cmd);
    let new = r.text();
    let new_steps: Vec<_> = r.app.run.steps.iter().cloned().collect();
    assert_eq!(new.chars().count(), t + 2 + 40, "the text up to the branch, the choice, then the length");
    assert_eq!(new.chars().take(t + 1).collect::<String>(), old.chars().take(t + 1).collect::<String>());
    assert_eq!(new.chars().nth(t + 1), Some(c));
    // The branch read its text again with teacher forcing: the same values
    // as the parent's up to the branch point, and the chosen character with
    // the probability the panel showed.
    for k in 0..=t {
        for (a, b) in old_steps[k].layers.iter().zip(&new_steps[k].layers) {
            assert_close(b.gates.c.clone(), a.gates.c.clone(), 1e-5, &format!("c at t={k}"));
            assert_close(b.gates.i.clone(), a.gates.i.clone(), 1e-5, &format!("i at t={k}"));
        }
        assert_eq!(new_steps[k].is_prompt, k < 7);
    }
    assert_close(new_steps[t + 1].prob.unwrap(), p, 1e-6, "the chosen character's p");
    assert_eq!(r.app.branch_status().as_deref(), Some(format!("branch 2/2 at t={t}").as_str()));
    // The previous sibling is the old text, with its own steps; the next,
    // the new one again (wrapping); the parent, the old one.
    r.alt('(');
    assert_eq!(r.text(), old);
    assert!(std::sync::Arc::ptr_eq(&r.app.run.steps[t + 1], &old_steps[t + 1]), "the old text's own steps");
    assert_eq!(r.app.branch_status().as_deref(), Some(format!("branch 1/2 at t={t}").as_str()));
    r.alt(')');
    assert_eq!(r.text(), new);
    r.alt('B');
    assert_eq!(r.text(), old);
    r.alt('B');
    assert_eq!(r.text(), old, "the root has no parent");
}

#[test]
fn the_panels_follow_the_branch_on_screen() {
    let mut r = Rig::run(PROMPT, 30);
    r.key(KeyCode::Tab);
    for _ in 0..10 {
        r.key(KeyCode::Left);
    }
    let t = r.app.focus().unwrap();
    r.key(KeyCode::Down);
    r.key(KeyCode::Down);
    r.key(KeyCode::Enter);
    let new = r.app.run.steps.clone();
    r.alt('(');
    let old = r.app.run.steps.clone();
    // Inspect the step after the branch point on each branch: the panels
    // show that branch's character and its next-character candidates.
    let at = |r: &mut Rig| {
        r.key(KeyCode::Tab);
        r.key(KeyCode::Home);
        for _ in 0..t + 1 {
            r.key(KeyCode::Right);
        }
        let shown = screen(&draw(&r.app, 100, 30)).join("\n");
        r.key(KeyCode::Tab);
        shown
    };
    let label = |c: char| gatescope::tui::text::char_label(c);
    let on_old = at(&mut r);
    assert!(on_old.contains(&format!("next char after {} (t={})", label(old[t + 1].ch), t + 1)), "{on_old}");
    r.alt(')');
    let on_new = at(&mut r);
    assert!(on_new.contains(&format!("next char after {} (t={})", label(new[t + 1].ch), t + 1)), "{on_new}");
    let pct = |s: &gatescope::generate::Step| format!("{:>5.1}%", s.top[0].1 * 100.0);
    assert!(on_old.contains(&pct(&old[t + 1])) && on_new.contains(&pct(&new[t + 1])));
    assert_ne!(old[t + 1].layers[0].gates.c, new[t + 1].layers[0].gates.c, "each branch its own steps");
}

#[test]
fn a_branch_in_the_prompt_reads_the_prompt_up_to_it() {
    let mut r = Rig::run(PROMPT, 20);
    r.key(KeyCode::Tab);
    r.key(KeyCode::Home);
    r.key(KeyCode::Right);
    r.key(KeyCode::Right);
    r.key(KeyCode::Down);
    let c = r.app.run.steps[2].top[0].0;
    let cmd = r.app.update(key(KeyCode::Enter));
    match &cmd {
        Some(WorkerCmd::Branch { prompt, forced, .. }) => {
            assert_eq!((prompt.as_str(), forced.clone()), ("ROM", c.to_string()))
        }
        other => panic!("{other:?}"),
    }
    r.serve(cmd);
    assert_eq!(r.app.run.steps.iter().filter(|s| s.is_prompt).count(), 3);
    assert_eq!(r.app.run.steps[3].ch, c);
    let tree: serde_json::Value = serde_json::from_str(&r.app.run.tree.as_ref().unwrap().to_json()).unwrap();
    assert_eq!(tree["prompt"], PROMPT);
    assert_eq!(tree["branches"][1]["at"], 2);
}

#[test]
fn up_from_the_first_candidate_chooses_none_and_enter_generates_again() {
    let mut r = Rig::run(PROMPT, 20);
    r.key(KeyCode::Tab);
    r.key(KeyCode::Left);
    r.key(KeyCode::Down);
    r.key(KeyCode::Up);
    assert_eq!(r.app.view.choice, None);
    r.key(KeyCode::Up);
    assert_eq!(r.app.view.choice, None);
    // Far down stops at the last candidate.
    for _ in 0..20 {
        r.key(KeyCode::Down);
    }
    assert_eq!(r.app.view.choice, Some(4));
    r.key(KeyCode::Up);
    r.key(KeyCode::Up);
    r.key(KeyCode::Up);
    r.key(KeyCode::Up);
    r.key(KeyCode::Up);
    assert!(matches!(r.app.update(key(KeyCode::Enter)), Some(WorkerCmd::Start { .. })), "no choice: Enter generates");
    assert!(r.app.run.tree.is_none(), "a new run is not a branch");
}

#[test]
fn ctrl_s_writes_the_tree_beside_the_transcript() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = Rig::run(PROMPT, 30);
    r.app.save_dir = dir.path().to_path_buf();
    // Without branches: no tree file.
    r.app.update(ctrl('s'));
    r.app.box_editor.set("plain");
    r.app.update(key(KeyCode::Enter));
    assert!(dir.path().join("plain.txt").is_file() && !dir.path().join("plain.tree.json").exists());
    // Two branches off the root, one off the second.
    let branch = |r: &mut Rig, back: usize, rank: usize| {
        r.key(KeyCode::Tab);
        for _ in 0..back {
            r.key(KeyCode::Left);
        }
        for _ in 0..=rank {
            r.key(KeyCode::Down);
        }
        r.key(KeyCode::Enter);
    };
    branch(&mut r, 20, 1);
    branch(&mut r, 5, 2);
    r.alt('B');
    r.alt('B');
    assert_eq!(r.app.run.tree.as_ref().unwrap().shown, 0, "up twice: the root");
    branch(&mut r, 25, 1);
    let shown = r.text();
    r.app.update(ctrl('s'));
    r.app.box_editor.set("run");
    r.app.update(key(KeyCode::Enter));
    for ext in ["txt", "jsonl", "html", "tree.json"] {
        assert!(dir.path().join(format!("run.{ext}")).is_file(), "run.{ext}");
    }
    assert_eq!(std::fs::read_to_string(dir.path().join("run.txt")).unwrap(), shown, "the branch on screen");
    let json = std::fs::read_to_string(dir.path().join("run.tree.json")).unwrap();
    let tree: serde_json::Value = serde_json::from_str(&json).unwrap();
    let keys: Vec<&String> = tree.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 2);
    assert!(json.starts_with(r#"{"prompt":"ROMEO:\n","branches":[{"id":0,"parent":null,"at":null,"text":""#), "{json}");
    // Every branch's whole text, rebuilt from the file, is the text the
    // tree holds for it.
    let branches = tree["branches"].as_array().unwrap();
    assert_eq!(branches.len(), 4);
    let whole = |id: u64| -> String {
        let mut chain = Vec::new();
        let mut at = Some(id);
        while let Some(i) = at {
            let b = branches.iter().find(|b| b["id"] == i).unwrap();
            chain.push(b);
            at = b["parent"].as_u64();
        }
        let mut text: Vec<char> = PROMPT.chars().collect();
        for b in chain.iter().rev() {
            if let Some(a) = b["at"].as_u64() {
                text.truncate(a as usize + 1);
            }
            text.extend(b["text"].as_str().unwrap().chars());
        }
        text.into_iter().collect()
    };
    let tree_now = r.app.run.tree.as_ref().unwrap();
    for b in branches {
        let id = b["id"].as_u64().unwrap();
        assert_eq!(whole(id), tree_now.text(id as usize), "branch {id}");
        let mut ks: Vec<&str> = b.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        ks.sort_unstable();
        assert_eq!(ks, ["at", "id", "parent", "text"], "the fields");
    }
    assert_eq!(branches[2]["parent"], 1);
    assert_eq!(branches[3]["parent"], 0);
    assert_eq!(whole(3), shown);
}

#[test]
fn samples_side_by_side_become_siblings() {
    let mut r = Rig::new();
    r.app.length = 40;
    r.app.sampling.seed = 11;
    let cmd = type_str(&mut r.app, PROMPT);
    r.serve(cmd);
    r.alt('3');
    assert_eq!(r.app.mode, Mode::Samples);
    let s = r.app.samples.as_ref().expect("the samples");
    assert_eq!((s.done.len(), s.live), (3, None));
    // Each column is the continuation of its seed.
    let m = model();
    for (k, col) in s.done.iter().enumerate() {
        let mut g = Generator::new(&m, Sampling { seed: 11 + k as u64, ..r.app.sampling });
        let mut want: String = g.feed_prompt(PROMPT).unwrap().iter().map(|s| s.ch).collect();
        for _ in 0..40 {
            want.push(g.generate_step().unwrap().ch);
        }
        assert_eq!(col.iter().map(|s| s.ch).collect::<String>(), want, "seed {}", 11 + k);
    }
    let texts: Vec<String> = s.done.iter().map(|c| c.iter().map(|s| s.ch).collect()).collect();
    assert!(texts[0] != texts[1] && texts[1] != texts[2]);
    r.key(KeyCode::Right);
    r.key(KeyCode::Enter);
    assert_eq!(r.app.mode, Mode::Typing);
    assert!(r.app.samples.is_none());
    assert_eq!(r.text(), texts[1], "the chosen column is the continuation");
    assert_eq!(r.app.branch_status().as_deref(), Some("branch 2/3 at t=6"));
    r.alt(')');
    assert_eq!(r.text(), texts[2]);
    r.alt(')');
    assert_eq!(r.text(), texts[0]);
    assert_eq!(r.app.sampling.seed, 11, "the seed setting stays");
}

#[test]
fn esc_stops_the_samples_and_keeps_what_was_generated() {
    let mut r = Rig::new();
    let cmd = type_str(&mut r.app, PROMPT);
    r.serve(cmd);
    let start = r.app.update(alt('3'));
    assert!(matches!(start, Some(WorkerCmd::Start { .. })));
    // Esc before any step: the first column stops, and nothing is kept yet.
    assert_eq!(r.app.update(key(KeyCode::Esc)), Some(WorkerCmd::Stop));
    assert_eq!(r.app.mode, Mode::Samples);
    r.app.update(key(KeyCode::Esc));
    assert_eq!(r.app.mode, Mode::Typing, "Esc again closes");
    assert!(r.app.run.tree.is_none());
}

fn branched_app() -> Rig {
    let mut r = Rig::run(PROMPT, 60);
    r.key(KeyCode::Tab);
    for _ in 0..30 {
        r.key(KeyCode::Left);
    }
    r.key(KeyCode::Down);
    r.key(KeyCode::Down);
    r.key(KeyCode::Enter);
    r
}

#[test]
fn the_output_marks_branch_points() {
    let r = branched_app();
    let t = r.app.branch_points()[0] + 1;
    let term = draw(&r.app, 100, 30);
    assert_snapshot("branch_points_marked_100x30", term.backend());
    // The marked character: underlined, in the branch colour.
    let buf = term.backend().buffer();
    let want = match r.app.run.steps[t].ch {
        '\n' => " ".to_string(),
        c => gatescope::tui::text::char_label(c).replace('␠', " "),
    };
    let marked: Vec<(u16, u16)> = (0..30)
        .flat_map(|y| (0..45).map(move |x| (x, y)))
        .filter(|&(x, y)| buf[(x, y)].modifier.contains(Modifier::UNDERLINED) && buf[(x, y)].fg == theme::BRANCH)
        .collect();
    assert_eq!(marked.len(), 1, "one branch point");
    assert_eq!(buf[marked[0]].symbol(), want);
    assert!(screen(&draw(&r.app, 100, 30)).join("\n").contains(&format!("branch 2/2 at t={}", t - 1)));
}

#[test]
fn the_chosen_candidate_is_highlighted() {
    let mut r = Rig::run(PROMPT, 20);
    r.key(KeyCode::Tab);
    r.key(KeyCode::Down);
    r.key(KeyCode::Down);
    let term = draw(&r.app, 100, 30);
    let buf = term.backend().buffer();
    let a = ui_topk_area(100, 30);
    let rows: Vec<u16> = (a.y + 1..a.y + a.height - 1).filter(|&y| buf[(a.x + 1, y)].bg == theme::BRANCH).collect();
    assert_eq!(rows, [a.y + 2], "the second candidate's row");
}

fn ui_topk_area(w: u16, h: u16) -> ratatui::layout::Rect {
    gatescope::tui::ui::areas(ratatui::layout::Rect::new(0, 0, w, h)).topk
}

#[test]
fn samples_side_by_side_snapshot() {
    let mut r = Rig::new();
    r.app.length = 80;
    let cmd = type_str(&mut r.app, PROMPT);
    r.serve(cmd);
    r.alt('3');
    r.key(KeyCode::Right);
    r.key(KeyCode::Right);
    assert_snapshot("samples_side_by_side_100x30", draw(&r.app, 100, 30).backend());
    assert_snapshot("samples_side_by_side_80x24", draw(&r.app, 80, 24).backend());
}

#[test]
fn a_new_prompt_ends_the_tree() {
    let mut r = branched_app();
    assert!(r.app.run.tree.is_some());
    let cmd = r.app.update(key(KeyCode::Char('w')));
    r.serve(cmd);
    r.key(KeyCode::Enter);
    assert_eq!(r.app.run.prompt, "ROMEO:\nw");
    assert!(r.app.run.tree.is_none());
    assert_eq!(r.app.branch_status(), None);
}

#[test]
fn the_tree_stays_within_its_bounds() {
    let mut r = Rig::run(PROMPT, 30);
    r.app.length = 10;
    // Seventy branches, each off the one before, ten steps from its end.
    for _ in 0..70 {
        r.key(KeyCode::Tab);
        for _ in 0..10 {
            r.key(KeyCode::Left);
        }
        r.key(KeyCode::Down);
        r.key(KeyCode::Enter);
    }
    let shown_text = r.text();
    r.alt('B');
    r.alt(')');
    let tree = r.app.run.tree.as_ref().unwrap();
    // 71 branches: the count bound (the steps stay within the ring's
    // capacity here; the unit tests in src/tui/app/branches.rs drop by steps).
    assert_eq!(tree.len(), gatescope::tui::app::branches::MAX_BRANCHES);
    assert!(tree.distinct_steps() <= r.app.run.capacity);
    assert!(tree.get(0).is_some(), "the first branch stays");
    // The newest branch is still there, whole, and every branch's text
    // starts with the prompt.
    let newest = tree.branches().iter().map(|b| b.id).max().unwrap();
    assert_eq!(tree.text(newest), shown_text);
    assert!(tree.branches().iter().all(|b| tree.text(b.id).starts_with(PROMPT)));
}
