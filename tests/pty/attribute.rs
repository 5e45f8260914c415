//! Attribution on a terminal: `gatescope attribute` gives the prompt's characters
//! their attribution as a background colour on export's scale, and the
//! playground colours its output by it.

use gatescope::model::{save_checkpoint, CharLstm};
use gatescope::vocab::Vocab;
use serde_json::Value;
use std::process::Command;

use crate::harness::Pty;
use crate::inspect;

const BIN: &str = env!("CARGO_BIN_EXE_gatescope");

/// On a terminal each character of the prompt has its background on
/// export's scale, a_s / max |a_s|.
#[test]
fn a_terminal_gets_coloured_backgrounds() {
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("m.safetensors");
    let m = CharLstm::random(Vocab::from_text("abc de\n").unwrap(), 4, 8, 2, 7);
    save_checkpoint(&m, &Default::default(), &ck).unwrap();
    let c = ck.to_str().unwrap();
    let prompt = "abc de ab";
    let args = ["attribute", "--checkpoint", c, "--prompt", prompt, "--method", "ig", "--ig-steps", "4"];
    let json: Value =
        serde_json::from_slice(&Command::new(BIN).args([&args[..], &["--json"]].concat()).output().unwrap().stdout)
            .unwrap();
    let a: Vec<f32> = json["attributions"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect();
    let top = a.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let script = format!("{} {}; sleep 0.2", BIN, args.map(|s| format!("'{s}'")).join(" "));
    let mut p = Pty::spawn(&script, 30, 100, &[]);
    p.wait_for("the largest list", |s| s.contents().contains("largest |a_s|"));
    p.wait_exit();
    let parser = p.parser.lock().unwrap();
    let screen = parser.screen();
    let row = (0..30).find(|&r| screen.contents_between(r, 0, r, 100).starts_with(prompt)).expect("the prompt's row");
    for (s, &v) in a.iter().enumerate() {
        let cell = screen.cell(row, s as u16).unwrap();
        let (r, g, b) = gatescope::export::scale::cell(v / top);
        assert_eq!(cell.bgcolor(), vt100::Color::Rgb(r, g, b), "step {s}: a = {v}");
    }
}

/// The character an attribution title names (` why C (P%) · `), if shown.
fn why(screen: &str) -> Option<String> {
    let at = screen.find(" why ")? + " why ".len();
    Some(screen[at..].split(" (").next()?.to_string())
}

/// In the playground, A colours the output by what the prediction after
/// the cursor rests on (grad, then ig); ↓ in the next-character panel
/// makes another candidate the target; typing is not held.
#[test]
fn the_playground_colours_by_attribution() {
    let mut pty = inspect::a_preview();
    pty.send("A");
    let screen = pty.wait_for_screen("the colouring", |s| s.contents().contains("· grad · red − blue +"));
    let first = why(&screen).expect("the target");
    // The next-character panel's rows: `C  bars  P%`, and ` ◀` on the
    // character that came next when the text goes on past the cursor (the
    // preview may still be streaming); the second is chosen by ↓↓.
    let panel: Vec<String> = screen
        .lines()
        .filter_map(|l| l.rsplit('│').nth(1).map(str::to_string))
        .filter(|cell| cell.trim_end().trim_end_matches('◀').trim_end().ends_with('%') && cell.contains('█'))
        .collect();
    let second = panel.get(1).and_then(|r| r.split_whitespace().next()).expect("a second candidate").to_string();
    pty.send("\x1b[B\x1b[B");
    let screen = pty.wait_for_screen("the second candidate", |s| why(&s.contents()).as_deref() == Some(&second[..]));
    assert!(screen.contains("· grad ·"), "{screen}");
    assert_ne!(first, second, "another target");
    pty.send("A");
    pty.wait_for("integrated gradients", |s| s.contents().contains("· ig 32 gap "));
    inspect::type_at_once_and_quit(pty);
}
