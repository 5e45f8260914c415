//! End-to-end, the timeline: train a tiny model for 20 steps with a snapshot
//! every 5, open `play --replay` on them, generate, step back twice and
//! forward once: the bar follows each step, and the text on screen stays.

use crate::harness::Pty;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_gatescope");

#[test]
fn replay_steps_through_a_training_runs_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("text.txt");
    std::fs::write(&data, "ROMEO:\nBut soft, what light through yonder window breaks?\n".repeat(60)).unwrap();
    let out = dir.path().join("m.safetensors");
    let status = Command::new(BIN)
        .args(["train", "--data", data.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .args(["--layers", "1", "--hidden", "16", "--embed", "4", "--seq", "8", "--batch", "4", "--dropout", "0"])
        .args(["--threads", "1", "--steps", "20", "--snapshot-every", "5", "--eval-every", "10"])
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let snapshots = dir.path().join("m.snapshots");
    let script = format!("exec '{BIN}' play --replay '{}'", snapshots.display());
    let mut pty = Pty::spawn(&script, 30, 100, &[]);
    pty.wait_for("the last snapshot", |s| s.contents().contains("snapshot 5/5 · step 20 · val"));
    pty.send("ROMEO:");
    pty.send("\r");
    pty.wait_for("a continuation", |s| s.contents().contains("│ idle │") && s.contents().contains("t=505)"));
    let text = pty.row(2);
    // The second step comes as soon as the first snapshot is in place, while
    // its reread still streams in: it reads the whole text all the same.
    pty.send("\x1b<");
    pty.wait_for("snapshot 4", |s| s.contents().contains("snapshot 4/5 · step 15 · train"));
    pty.send("\x1b<");
    pty.wait_for("snapshot 3, read", |s| {
        let c = s.contents();
        c.contains("snapshot 3/5 · step 10 · val") && c.contains("step-000010.safetensors") && c.contains("│ idle │")
    });
    assert_eq!(pty.row(2), text, "the same text, read by a younger model");
    pty.send("\x1b>");
    pty.wait_for("snapshot 4 again, read", |s| {
        let c = s.contents();
        c.contains("snapshot 4/5 · step 15") && c.contains("step-000015.safetensors") && c.contains("│ idle │")
    });
    assert_eq!(pty.row(2), text, "the same text, read by an older model");
    pty.send("\x03");
    assert!(pty.wait_exit().success());
}
