//! End-to-end, the explain panel: the real binary with the shipped model in
//! a pty. Over a preview run, inspect, open the panel (x), explain l1:271
//! (typed in the unit box), and move the cursor: the panel follows it; M
//! colours the text by the cell's memory; a letter still types at once.

use crate::inspect;

/// The step the panel's title names (` explain l1:271 · t=N `), if shown.
fn explained_step(screen: &str) -> Option<usize> {
    let at = screen.find("explain l1:271 · t=")? + "explain l1:271 · t=".len();
    screen[at..].split(' ').next()?.parse().ok()
}

/// The inspect cursor's step in the status bar (`t=N`, its last `t=`).
fn cursor_step(screen: &str) -> Option<usize> {
    let line = screen.lines().rev().find(|l| l.contains(" p="))?;
    let at = line.rfind("t=")? + 2;
    line[at..].split(' ').next()?.parse().ok()
}

#[test]
fn the_explain_panel_follows_the_cursor() {
    let mut pty = inspect::a_preview();
    pty.send("x");
    pty.wait_for("the panel", |s| s.contents().contains("(×)─ f ") && s.contents().contains(" explain l0:0 · t="));
    pty.send("#");
    pty.wait_for("the unit box", |s| s.contents().contains("lK:U"));
    pty.send("l1:271\r");
    let screen = pty.wait_for_screen("l1:271 explained", |s| explained_step(&s.contents()).is_some());
    let last = explained_step(&screen).unwrap();
    assert_eq!(cursor_step(&screen), Some(last), "the cursor's step:\n{screen}");
    assert!(screen.contains("line position"), "the catalogue's label:\n{screen}");
    // Three steps back, one at a time: the panel follows each.
    for k in 1..=3 {
        pty.send("\x1b[D");
        pty.wait_for("the panel at the new cursor", |s| explained_step(&s.contents()) == Some(last - k));
    }
    // Ten back at once (PgUp): the panel shows the newest cursor, not a stale one.
    pty.send("\x1b[5~");
    let screen = pty.wait_for_screen("ten back", |s| explained_step(&s.contents()) == Some(last - 13));
    assert!(!screen.contains("computing"), "{screen}");
    // The memory colouring names its half-life.
    pty.send("M");
    pty.wait_for("the memory colouring", |s| {
        let c = s.contents();
        c.contains("memory of l1:271 · half-life") || c.contains("memory of l1:271 · no half-life")
    });
    inspect::type_at_once_and_quit(pty);
}
