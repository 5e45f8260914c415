//! End-to-end, branches: generate, inspect a generated step, choose the
//! second candidate in the next-character panel and press Enter: the new
//! text streams; the previous sibling brings the old text back, and the
//! next sibling the new one.

use crate::harness::Pty;
use gatescope::model::{save_checkpoint, CharLstm};
use gatescope::vocab::Vocab;

const BIN: &str = env!("CARGO_BIN_EXE_gatescope");
const TEXT: &str = "ROMEO:\nBut soft, what light through yonder window breaks?\n";

/// The output panel's text (inside its border, below its title) at 100x30.
fn output(p: &Pty) -> String {
    let p = p.parser.lock().unwrap();
    // Cells never drawn and cells drawn blank read differently: trailing
    // blanks are left out.
    let rows: Vec<String> = (1..16).map(|r| p.screen().contents_between(r, 1, r, 44).trim_end().to_string()).collect();
    rows.join("\n")
}

#[test]
fn choose_the_second_candidate_then_go_back_to_the_sibling() {
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("tiny.safetensors");
    save_checkpoint(&CharLstm::random(Vocab::from_text(TEXT).unwrap(), 8, 16, 2, 3), &Default::default(), &ck).unwrap();
    let mut pty = Pty::spawn(&format!("exec '{BIN}' play --checkpoint '{}'", ck.display()), 30, 100, &[]);
    pty.wait_for("the playground", |s| s.contents().contains("prompt · live preview on"));
    // Greedy (Alt-t eight times: 0.8 to 0): the old text's next character
    // is the first candidate, so the second is another.
    for _ in 0..8 {
        pty.send("\x1bt");
    }
    pty.wait_for("temperature 0", |s| s.contents().contains("T 0.00"));
    pty.send("ROMEO:");
    pty.send("\r");
    pty.wait_for("a full continuation", |s| s.contents().contains("│ idle │") && s.contents().contains("t=505)"));
    let old = output(&pty);
    // Ten steps back: a generated step, t=495.
    pty.send("\t");
    pty.wait_for("inspect mode", |s| s.contents().contains("inspecting"));
    for _ in 0..10 {
        pty.send("\x1b[D");
    }
    pty.wait_for("the cursor at t=495", |s| s.contents().contains("(t=495)"));
    // The next-character panel: its title on row 17, candidates from row
    // 18, each label at columns 61-62. ↓↓ chooses the second.
    let label =
        |p: &Pty, row: u16| p.parser.lock().unwrap().screen().contents_between(row, 61, row, 63).trim().to_string();
    let first = label(&pty, 18);
    pty.send("\x1b[B\x1b[B");
    pty.wait_for("the second candidate chosen", |s| s.contents().contains("as a new branch"));
    let second = label(&pty, 19);
    assert!(!first.is_empty() && !second.is_empty() && first != second, "labels:\n{}", pty.contents());
    assert!(pty.contents().contains(&format!("Enter: {second} (")), "the message names it:\n{}", pty.contents());
    pty.send("\r");
    let shown = pty.wait_for_screen("the branch generated", |s| {
        let c = s.contents();
        c.contains("│ idle │") && c.contains("branch 2/2 at t=495") && c.contains("t=996)")
    });
    assert!(shown.contains(&format!("branch 1: {second} after t=495")), "{shown}");
    assert!(shown.contains("branch points underlined"), "{shown}");
    let new = output(&pty);
    assert_ne!(new, old, "the new text:\n{shown}");
    // The character after the branch point, inspected: the chosen one.
    let at_496 = |p: &mut Pty, back: &str, n: usize| {
        p.send("\t");
        p.wait_for("inspect mode", |s| s.contents().contains("inspecting"));
        for _ in 0..n {
            p.send(back);
        }
        let screen = p.wait_for_screen("t=496", |s| s.contents().contains("(t=496)"));
        p.send("\t");
        p.wait_for("typing", |s| !s.contents().contains("inspecting"));
        screen
    };
    let screen = at_496(&mut pty, "\x1b[5~", 50);
    assert!(screen.contains(&format!("t=496 {second} p=")), "{screen}");
    // Alt-( : the previous sibling, the old text; Alt-) : the new one again.
    pty.send("\x1b(");
    pty.wait_for("the old text", |s| s.contents().contains("branch 1/2 at t=495") && s.contents().contains("t=505)"));
    assert_eq!(output(&pty), old, "the old text, as it was");
    let screen = at_496(&mut pty, "\x1b[D", 9);
    assert!(screen.contains(&format!("t=496 {first} p=")), "{screen}");
    pty.send("\x1b)");
    pty.wait_for("the new text", |s| s.contents().contains("branch 2/2 at t=495") && s.contents().contains("t=996)"));
    assert_eq!(output(&pty), new);
    pty.send("\x03");
    assert!(pty.wait_exit().success());
}
