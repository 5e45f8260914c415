//! Every bad argument to `gatescope export` is one line on stderr naming the
//! file, line or option, exit 1, and no output file.

use crate::common::{mkfifo, one_line_error, run, tiny_checkpoint};
use std::path::Path;

const TEXT: &str = "First Citizen:\nBefore we proceed any further, hear me speak.\n";

/// A trace of a 2-layer, 16-unit model.
fn trace(dir: &Path) -> String {
    let ck = tiny_checkpoint(dir, "m.safetensors", TEXT, 8, 16, 2);
    let t = dir.join("t.jsonl");
    let out = run(&["generate", "-c", ck.to_str().unwrap(), "-p", "First", "-l", "30", "--trace", t.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    t.to_str().unwrap().to_string()
}

/// Runs `export` with `args`, expecting one line containing `needle` and no `out`.
fn refused(args: &[&str], needle: &str, out: &Path) {
    let output = run(&[&["export"], args].concat());
    let err = one_line_error(&output);
    assert!(err.starts_with("gatescope: "), "{err}");
    assert!(err.contains(needle), "{args:?}: {needle:?} not in {err:?}");
    assert!(!out.exists(), "{args:?}: nothing written");
}

#[test]
fn bad_traces_are_named_with_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = trace(dir.path());
    let d = dir.path();
    let html = d.join("o.html");
    let h = html.to_str().unwrap();
    let first_two: Vec<String> = std::fs::read_to_string(&good).unwrap().lines().take(2).map(String::from).collect();
    let write = |name: &str, bytes: Vec<u8>| {
        let p = d.join(name);
        std::fs::write(&p, bytes).unwrap();
        p.to_str().unwrap().to_string()
    };
    let not_json = write("a.jsonl", format!("{}\n{}\n{{\"t\": 2, oops\n", first_two[0], first_two[1]).into_bytes());
    let not_step = write("b.jsonl", format!("{}\n{{\"t\": 1}}\n", first_two[0]).into_bytes());
    let mut bytes = format!("{}\n", first_two[0]).into_bytes();
    bytes.extend_from_slice(b"{\"t\": \xff}\n");
    let not_utf8 = write("c.jsonl", bytes);
    let empty = write("d.jsonl", Vec::new());
    let joined = write("e.jsonl", format!("{}\n{}\n{}\n", first_two[0], first_two[1], first_two[0]).into_bytes());
    let fifo = d.join("f.jsonl");
    mkfifo(&fifo);
    let missing = d.join("missing.jsonl");
    for (trace, needle) in [
        (missing.to_str().unwrap(), "missing.jsonl: cannot read the trace"),
        (d.to_str().unwrap(), "is a directory"),
        (fifo.to_str().unwrap(), "f.jsonl: not a regular file"),
        (not_json.as_str(), "a.jsonl:3: not JSON"),
        (not_step.as_str(), "b.jsonl:2: not a trace step (missing field"),
        (not_utf8.as_str(), "c.jsonl:2: not UTF-8"),
        (empty.as_str(), "d.jsonl: the trace is empty"),
        (joined.as_str(), "e.jsonl:3: step t=0 follows t=1"),
    ] {
        refused(&[trace, "--unit", "l0:0", "--html", h], needle, &html);
    }
}

#[test]
fn bad_html_options_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let t = trace(dir.path());
    let html = dir.path().join("o.html");
    let h = html.to_str().unwrap();
    for (args, needle) in [
        (vec!["--unit", "l2:0", "--html", h], "--unit l2:0: the trace has 2 layers (l0..l1)"),
        (vec!["--unit", "l1:16", "--html", h], "--unit l1:16: layer l1 has 16 units (0..15)"),
        (vec!["--unit", "1:3", "--html", h], "--unit must be lK:U"),
        (vec!["--html", h], "--html needs --unit"),
        (vec!["--unit", "l0:1", "--state", "x", "--html", h], "--state must be c"),
        (vec!["--unit", "l0:1", "--layer", "l0", "--html", h], "--layer belongs to --svg"),
        (vec!["--unit", "l0:1", "--units", "1", "--html", h], "--units belongs to --svg"),
        (vec!["--unit", "l0:1", "--most-variable", "2", "--html", h], "--most-variable belongs to --svg"),
        (vec!["--unit", "l0:1", "--label", "", "--html", h], "--label is empty"),
        (vec!["--unit", "l0:1", "--label", "a\u{1b}[2Jb", "--html", h], "--label has the control character U+001B"),
        (vec!["--unit", "l0:1"], "nothing to write"),
        (vec!["--unit", "l0:1", "--html", h, "--svg", "x.svg"], "one of --html and --svg"),
    ] {
        refused(&[&[t.as_str()], &args[..]].concat(), needle, &html);
    }
}

#[test]
fn bad_svg_options_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let t = trace(dir.path());
    let svg = dir.path().join("o.svg");
    let s = svg.to_str().unwrap();
    for (args, needle) in [
        (vec!["--gate", "f", "--svg", s], "--svg needs --layer"),
        (vec!["--layer", "l0", "--svg", s], "--svg needs --gate"),
        (vec!["--layer", "l2", "--gate", "f", "--svg", s], "--layer l2: the trace has 2 layers"),
        (vec!["--layer", "1", "--gate", "f", "--svg", s], "--layer must be lK"),
        (vec!["--layer", "l0", "--gate", "x", "--svg", s], "--gate must be one of i, f, g or o"),
        (vec!["--layer", "l0", "--gate", "f", "--units", "3,16", "--svg", s], "--units: unit 16 is out of range"),
        (vec!["--layer", "l0", "--gate", "f", "--units", "3,3", "--svg", s], "--units: unit 3 is listed twice"),
        (vec!["--layer", "l0", "--gate", "f", "--units", "", "--svg", s], "--units has an empty entry"),
        (vec!["--layer", "l0", "--gate", "f", "--units", "l1:3", "--svg", s], "--units: l1:3 is not in --layer l0"),
        (vec!["--layer", "l0", "--gate", "f", "--units", "abc", "--svg", s], "--units has 'abc', not a unit number"),
        (
            vec!["--layer", "l0", "--gate", "f", "--most-variable", "0", "--svg", s],
            "--most-variable must be at least 1 (got '0')",
        ),
        (
            vec!["--layer", "l0", "--gate", "f", "--most-variable", "17", "--svg", s],
            "--most-variable 17: layer l0 has only 16",
        ),
        (
            vec!["--layer", "l0", "--gate", "f", "--most-variable", "4x", "--svg", s],
            "--most-variable must be a whole number",
        ),
        (
            vec!["--layer", "l0", "--gate", "f", "--units", "1", "--most-variable", "2", "--svg", s],
            "one of --units and --most-variable",
        ),
        (vec!["--layer", "l0", "--gate", "f", "--unit", "l0:1", "--svg", s], "--unit belongs to --html"),
        (vec!["--layer", "l0", "--gate", "f", "--state", "c", "--svg", s], "--state belongs to --html"),
        (vec!["--layer", "l0", "--gate", "f", "--top", "--svg", s], "--top belongs to --html"),
    ] {
        refused(&[&[t.as_str()], &args[..]].concat(), needle, &svg);
    }
}

#[test]
fn destinations_that_cannot_be_written_or_are_the_trace_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let t = trace(dir.path());
    let before = std::fs::read(&t).unwrap();
    let fifo = dir.path().join("fifo.html");
    mkfifo(&fifo);
    let link = dir.path().join("link.html");
    std::fs::hard_link(&t, &link).unwrap();
    let dotted = format!("{}/./t.jsonl", dir.path().display());
    let missing = dir.path().join("missing/o.html");
    for (dest, needle) in [
        (missing.to_str().unwrap(), "does not exist"),
        (dir.path().to_str().unwrap(), "is a directory"),
        ("/dev/full", "not a regular file"),
        (fifo.to_str().unwrap(), "not a regular file"),
        (t.as_str(), "is the trace itself"),
        (dotted.as_str(), "is the trace itself"),
        (link.to_str().unwrap(), "is the trace itself"),
    ] {
        let out = run(&["export", &t, "--unit", "l0:0", "--html", dest]);
        let err = one_line_error(&out);
        assert!(err.contains(needle), "{dest}: {err}");
        let out = run(&["export", &t, "--layer", "l0", "--gate", "o", "--svg", dest]);
        let err = one_line_error(&out);
        assert!(err.contains(needle), "{dest}: {err}");
    }
    assert_eq!(std::fs::read(&t).unwrap(), before, "the trace is untouched");
    assert!(!missing.exists());
}
