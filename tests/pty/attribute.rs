//! `gatescope attribute` on a terminal: the prompt's characters get their
//! attribution as a background colour on export's scale.

use gatescope::model::{save_checkpoint, CharLstm};
use gatescope::vocab::Vocab;
use serde_json::Value;
use std::process::Command;

use crate::harness::Pty;

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
