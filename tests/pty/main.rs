//! End-to-end: the real binary in a pseudo-terminal, read back through a
//! terminal emulator (vt100).
//!
//! A binary of its own, apart from tests/it, because these tests time what
//! the user sees (a letter within 300 ms, the cells panel within a second)
//! and one measures its own resident memory: cargo runs test binaries one
//! after another, so here they share the machine only with each other, not
//! with the training and PyTorch-reference tests of tests/it.

mod harness;

mod attribute;
mod branches;
mod cells_panel;
mod explain_panel;
mod intervene;
mod playground;
mod timeline;

/// Steps shared by the inspect-mode tests on the shipped model.
mod inspect {
    use crate::harness::Pty;
    use std::time::{Duration, Instant};

    const BIN: &str = env!("CARGO_BIN_EXE_gatescope");

    /// The playground at 120×36 with `ROMEO:⏎But soft, what light` typed,
    /// its preview drawn, and inspect mode on (the cursor at the end).
    pub fn a_preview() -> Pty {
        let script = format!("'{BIN}'; echo EXIT=$?");
        let mut pty = Pty::spawn(&script, 36, 120, &[]);
        pty.wait_for("the playground", |s| s.contents().contains("prompt · live preview on"));
        pty.send("ROMEO:\x1b\rBut soft, what light");
        pty.wait_for("the preview's end", |s| {
            // The output's line (the prompt box shows it after "ROMEO:⏎").
            s.contents().contains("│ idle │") && s.contents().contains("│But soft, what light")
        });
        pty.send("\t");
        pty.wait_for("inspect", |s| s.contents().contains("inspecting"));
        pty
    }

    /// Typing is never held by what inspect mode asked of the worker: Tab,
    /// a letter, and it shows within 300 ms; then Ctrl-C.
    pub fn type_at_once_and_quit(mut pty: Pty) {
        pty.send("\t");
        pty.wait_for("typing", |s| !s.contents().contains("inspecting"));
        let t0 = Instant::now();
        pty.send("Q");
        pty.wait_for("the letter", |s| s.contents().contains("But soft, what lightQ"));
        assert!(t0.elapsed() < Duration::from_millis(300), "the letter after {:?}", t0.elapsed());
        pty.send("\x03");
        pty.wait_exit();
    }
}
