//! End-to-end, the cell analyses in the playground: the real binary in a pty. Over a
//! 2,000-step history, open the cells panel and type at once: the catalogue
//! shows within a second; over a longer one, the letter shows while the
//! catalogue runs.
//! Then pin a unit from the panel and from the pin box, and search a span.

use gatescope::model::{save_checkpoint, CharLstm};
use gatescope::vocab::Vocab;
use std::time::{Duration, Instant};

use crate::harness::Pty;

const BIN: &str = env!("CARGO_BIN_EXE_gatescope");
const TEXT: &str = "ROMEO:\nBut soft, what light through yonder window breaks?\n";

/// From the fresh playground: prompt "ROMEO:", length 500 -> 2,000 (Alt-+
/// twice), and a full run: 6 + 2,000 steps.
fn run_2006_steps(pty: &mut Pty) {
    pty.wait_for("the playground", |s| s.contents().contains("prompt · live preview on"));
    pty.send("ROMEO:");
    pty.send("\x1b+");
    pty.send("\x1b+");
    pty.wait_for("length 2000", |s| s.contents().contains("len 2000"));
    pty.send("\r");
    pty.wait_for("2,006 steps", |s| s.contents().contains("(t=2005)") && s.contents().contains("│ idle │"));
}

/// Whether `screen` shows the finished catalogue over `steps` steps (while
/// it runs, the panel says "computing over N steps … P%").
fn catalogue_shown(screen: &str, steps: usize) -> bool {
    screen.contains(&format!("over {steps} steps")) && !screen.contains("computing over")
}

/// Open the cells panel over `steps` steps and type a letter right after:
/// how long until the letter shows, until the catalogue does, and the
/// screen on which the letter first showed.
fn open_cells_and_type(pty: &mut Pty, steps: usize) -> (Duration, Duration, String) {
    let t0 = Instant::now();
    pty.send("\x1bC");
    pty.send("e");
    let with_letter = pty.wait_for_screen("the typed letter", |s| s.contents().contains("│ROMEO:e"));
    let typed = t0.elapsed();
    pty.wait_for("the catalogue", |s| catalogue_shown(&s.contents(), steps));
    (typed, t0.elapsed(), with_letter)
}

#[test]
fn cells_panel_pin_and_span_search() {
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("tiny.safetensors");
    let m = CharLstm::random(Vocab::from_text(TEXT).unwrap(), 8, 16, 2, 3);
    save_checkpoint(&m, &Default::default(), &ck).unwrap();
    let script = format!("'{BIN}' play --checkpoint '{}'; echo EXIT=$?", ck.display());
    let mut pty = Pty::spawn(&script, 36, 120, &[]);
    run_2006_steps(&mut pty);
    let (typed, shown, _) = open_cells_and_type(&mut pty, 2006);
    eprintln!("letter on screen after {typed:?}, catalogue of 2,006 steps after {shown:?}");
    assert!(shown < Duration::from_secs(1), "catalogue after {shown:?}");
    // Back to the panel (Alt-C closes it, Alt-C opens it with the keys) and pin a row.
    pty.send("\x1bC");
    pty.wait_for("the heatmaps back", |s| s.contents().contains("i input"));
    // The letter started a preview: let it end, so the catalogue below is
    // over a history that no longer grows.
    pty.wait_for("the preview's end", |s| s.contents().contains("│ idle │"));
    pty.send("\x1bC");
    pty.wait_for("the panel's keys", |s| s.contents().contains("Enter pins"));
    pty.wait_for("a fresh catalogue", |s| s.contents().contains("(prompt + generated)"));
    pty.send("\x1b[B");
    pty.send("\r");
    pty.wait_for("a pinned unit", |s| s.contents().contains("and colouring the text by it"));
    pty.send("\x1b");
    // The pin box.
    std::thread::sleep(Duration::from_millis(100));
    pty.send("\x1bu");
    pty.wait_for("the pin box", |s| s.contents().contains("pin / unpin a unit"));
    pty.send("l1:3\r");
    pty.wait_for("l1:3 pinned", |s| s.contents().contains("pinned l1:3"));
    // Span search in inspect mode: a, move, e.
    pty.send("\t");
    pty.wait_for("inspect", |s| s.contents().contains("inspecting"));
    pty.send("\x1b[H");
    pty.send("a");
    pty.wait_for("the start", |s| s.contents().contains("span starts at t=0"));
    pty.send("\x1b[C");
    pty.send("e");
    pty.wait_for("the search", |s| {
        let c = s.contents();
        c.contains("pinned:") || c.contains("is on (tanh c")
    });
    pty.send("\x03");
    pty.wait_for("exit", |s| s.contents().contains("EXIT=0"));
}

/// A long analysis, many frames' work (16,006 steps of a 2×128 model): a
/// letter typed right after Alt-C shows on a screen where the catalogue is
/// still being computed. A playground that finished the analysis before
/// reading the key would show the letter only with the catalogue. (Over
/// the 2,006 steps above, the tiny model's catalogue takes less than a
/// frame, so both show on the same one.)
#[test]
fn a_letter_typed_during_a_long_analysis_shows_before_it_ends() {
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("wide.safetensors");
    let m = CharLstm::random(Vocab::from_text(TEXT).unwrap(), 8, 128, 2, 3);
    save_checkpoint(&m, &Default::default(), &ck).unwrap();
    let mut pty = Pty::spawn(&format!("'{BIN}' play --checkpoint '{}'; echo EXIT=$?", ck.display()), 36, 120, &[]);
    pty.timeout = Duration::from_secs(180);
    pty.wait_for("the playground", |s| s.contents().contains("prompt · live preview on"));
    pty.send("ROMEO:");
    for _ in 0..5 {
        pty.send("\x1b+");
    }
    pty.wait_for("length 16000", |s| s.contents().contains("len 16000"));
    pty.send("\r");
    pty.wait_for("16,006 steps", |s| s.contents().contains("(t=16005)") && s.contents().contains("│ idle │"));
    pty.poll = Duration::from_millis(2);
    let (typed, shown, with_letter) = open_cells_and_type(&mut pty, 16006);
    eprintln!("2x128 model: letter on screen after {typed:?}, catalogue of 16,006 steps after {shown:?}");
    assert!(
        !catalogue_shown(&with_letter, 16006),
        "the letter showed only with the finished catalogue, after {typed:?}:\n{with_letter}"
    );
    pty.send("\x03");
    pty.wait_for("exit", |s| s.contents().contains("EXIT=0"));
}

/// The same first steps on the shipped 2×512 model (slow: it generates
/// 2,000 characters first). `cargo test --release --test pty -- --ignored --nocapture cells_panel`
#[test]
#[ignore]
fn shipped_model_catalogue_of_2000_steps_within_a_second() {
    let script = format!("'{BIN}' play; echo EXIT=$?");
    let mut pty = Pty::spawn(&script, 36, 120, &[]);
    pty.timeout = Duration::from_secs(120);
    run_2006_steps(&mut pty);
    pty.poll = Duration::from_millis(2);
    let (typed, shown, _) = open_cells_and_type(&mut pty, 2006);
    eprintln!("shipped model: letter on screen after {typed:?}, catalogue of 2,006 steps after {shown:?}");
    assert!(shown < Duration::from_secs(1), "catalogue after {shown:?}");
    pty.send("\x03");
    pty.wait_for("exit", |s| s.contents().contains("EXIT=0"));
}
