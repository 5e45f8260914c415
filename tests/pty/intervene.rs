//! End-to-end, the real binary in a pseudo-terminal: generate, inspect, open
//! the intervention editor, apply an intervention, see the compare view and
//! the status badge, and save. The save writes three files, each checked:
//! the transcript's header line, the trace's first line, and the HTML
//! page's one span per step.

use gatescope::model::{save_checkpoint, CharLstm, Intervention};
use gatescope::vocab::Vocab;
use std::time::Duration;

use crate::harness::Pty;

const BIN: &str = env!("CARGO_BIN_EXE_gatescope");
const TEXT: &str = "ROMEO:\nBut soft, what light through yonder window breaks?\n";

#[test]
fn inspect_intervene_compare_and_save() {
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("tiny.safetensors");
    let m = CharLstm::random(Vocab::from_text(TEXT).unwrap(), 8, 16, 2, 3);
    save_checkpoint(&m, &Default::default(), &ck).unwrap();
    let script = format!(
        "cd '{}' && '{BIN}' play --checkpoint '{}'; s=$?; echo EXIT=$s; exit $s",
        dir.path().display(),
        ck.display()
    );
    let mut pty = Pty::spawn(&script, 30, 100, &[]);
    pty.wait_for("the playground", |s| s.contents().contains("prompt · live preview on"));
    pty.send("ROMEO:\r");
    pty.wait_for("a full continuation", |s| s.contents().contains("│ idle │") && s.contents().contains("(t=505)"));
    // Inspect: the cursor starts on the newest step; back 100 steps to t=405.
    pty.send("\t");
    pty.wait_for("inspect mode", |s| s.contents().contains("inspecting"));
    for _ in 0..10 {
        pty.send("\x1b[5~");
        std::thread::sleep(Duration::from_millis(20));
    }
    pty.wait_for("the cursor at t=405", |s| s.contents().contains("t=405"));
    pty.send("i");
    pty.wait_for("the editor, prefilled", |s| {
        let c = s.contents();
        c.contains("intervene: lK:U:TARGET") && c.contains("l0:0:c=0@405..") && c.contains("✓ set c of l0:0")
    });
    pty.send("\x15l1:3:h=30@200..");
    pty.wait_for("the live check", |s| s.contents().contains("✓ set h of l1:3 to 30 at every step t ≥ 200"));
    pty.send("\r");
    pty.wait_for("the compare view after the rerun", |s| {
        let c = s.contents();
        c.contains("compare b/i") && c.contains("/500 differ") && c.contains(" idle │") && c.contains("(t=505)")
    });
    let screen = pty.contents();
    assert!(screen.contains("1 intervention  l1:3:h=30@200.."), "the status badge:\n{screen}");
    assert!(screen.contains("── baseline"), "the norm chart draws the baseline:\n{screen}");
    // Save: the box, then the three files.
    pty.send("\x13");
    pty.wait_for("the save box", |s| s.contents().contains("save transcript"));
    pty.send("\x15run\r");
    pty.wait_for("saved", |s| s.contents().contains("saved ./run.txt, ./run.jsonl and ./run.html"));
    pty.send("\x03");
    pty.wait_for("exit", |s| s.contents().contains("EXIT=0"));
    assert!(pty.wait_exit().success());

    let iv: Intervention = "l1:3:h=30@200..".parse().unwrap();
    let txt = std::fs::read_to_string(dir.path().join("run.txt")).unwrap();
    let (header, text) = txt.split_once('\n').unwrap();
    assert_eq!(header, "# gatescope interventions: l1:3:h=30@200..");
    assert!(text.starts_with("ROMEO:") && text.chars().count() == 506, "{text:?}");
    let jsonl = std::fs::read_to_string(dir.path().join("run.jsonl")).unwrap();
    let lines: Vec<&str> = jsonl.lines().collect();
    assert_eq!(lines[0], gatescope::generate::trace_header(&[iv]));
    assert_eq!(lines.len(), 1 + 506, "the header, then a line per step");
    let html = std::fs::read_to_string(dir.path().join("run.html")).unwrap();
    assert_eq!(html.matches("<span data-t=\"").count(), 506, "one span per step");
    assert!(html.contains("with interventions l1:3:h=30@200.."), "the legend names them");
}
