//! Every bad argument of `cells`, `search` and `saturation` is one line on
//! stderr that names the option (or file) and what is wrong, with exit 1,
//! no panic and nothing on stdout.

use crate::common::{one_line_error, run, tiny_checkpoint};
use std::path::{Path, PathBuf};

const TEXT: &str = "ROMEO:\nBut soft, what light (through yonder) window breaks?\n\tIt is the east.\n";

struct Setup {
    _dir: tempfile::TempDir,
    ck: PathBuf,
    data: PathBuf,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let ck = tiny_checkpoint(dir.path(), "m.safetensors", TEXT, 4, 8, 2);
    let data = dir.path().join("d.txt");
    std::fs::write(&data, TEXT.repeat(3)).unwrap();
    Setup { _dir: dir, ck, data }
}

/// `cmd --checkpoint CK --data DATA --chars 100` plus `extra`: must fail with
/// one line that holds every needle.
fn refused(s: &Setup, cmd: &str, extra: &[&str], needles: &[&str]) {
    refused_with(cmd, &s.ck, &s.data, &[&["--chars", "100"], extra].concat(), needles);
}

fn refused_with(cmd: &str, ck: &Path, data: &Path, extra: &[&str], needles: &[&str]) {
    let mut args = vec![cmd, "--checkpoint", ck.to_str().unwrap(), "--data", data.to_str().unwrap()];
    args.extend(extra);
    let out = run(&args);
    let err = one_line_error(&out);
    assert!(err.starts_with("gatescope: "), "{args:?}: {err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: expected {n:?} in: {err}");
    }
    assert!(out.stdout.is_empty(), "{args:?}: nothing printed on failure");
}

#[test]
fn good_arguments_succeed() {
    let s = setup();
    let base = ["--checkpoint", s.ck.to_str().unwrap(), "--data", s.data.to_str().unwrap(), "--chars", "100"];
    for args in [
        vec!["cells"],
        vec!["search", "--layer", "l1", "--span", "0..1", "--pad-left", "99999999", "--pad-right", "99999999"],
        vec!["search", "--layer", "l0", "--span", "99..100", "--threshold", "-0.99", "--state", "h"],
        vec!["saturation", "--low", "0", "--high", "1"],
        vec!["saturation", "--low", "0.5", "--high", "0.5"],
    ] {
        let all = [&args[..1], &base[..], &args[1..]].concat();
        let out = run(&all);
        assert!(out.status.success(), "{all:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

#[test]
fn chars_and_top_are_range_checked() {
    let s = setup();
    let n = TEXT.chars().count() * 3;
    for cmd in ["cells", "saturation"] {
        for (chars, needle) in [
            ("0", "--chars must be at least 1 (got '0')"),
            ("-5", "--chars must be at least 1 (got '-5')"),
            ("abc", "--chars must be a whole number, at least 1 (got 'abc')"),
            ("1e3", "--chars must be a whole number, at least 1 (got '1e3')"),
            ("NaN", "--chars must be a whole number, at least 1 (got 'NaN')"),
            ("99999999999999999999999", "--chars is too large for this machine (got '99999999999999999999999')"),
        ] {
            refused_with(cmd, &s.ck, &s.data, &["--chars", chars], &[needle]);
        }
        let over = (n + 1).to_string();
        refused_with(
            cmd,
            &s.ck,
            &s.data,
            &["--chars", &over],
            &["d.txt", &format!("--chars {over}"), &format!("only {n}")],
        );
    }
    for (top, needle) in [
        ("0", "--top must be at least 1 (got '0')"),
        ("-1", "--top must be at least 1 (got '-1')"),
        ("x", "--top must be a whole number, at least 1 (got 'x')"),
    ] {
        refused(&s, "cells", &["--top", top], &[needle]);
        refused(&s, "search", &["--layer", "l0", "--span", "1..2", "--top", top], &[needle]);
    }
}

#[test]
fn search_arguments_are_checked_before_the_run() {
    let s = setup();
    // A good --layer and --span unless the case gives its own.
    let search = |extra: &[&str], needles: &[&str]| {
        let mut args = extra.to_vec();
        for (opt, good) in [("--layer", "l0"), ("--span", "3..5")] {
            if !extra.contains(&opt) {
                args.extend([opt, good]);
            }
        }
        refused(&s, "search", &args, needles);
    };
    for (span, needle) in [
        ("5..5", "--span is empty: the end E must be after the start S in S..E (got '5..5')"),
        ("6..5", "--span is empty"),
        ("0..101", "--span 0..101 is outside the text"),
        ("100..101", "is outside the text"),
        ("5", "--span must be S..E (start included, end not, 0 <= S < E), e.g. 120..135 (got '5')"),
        ("a..b", "--span must be S..E"),
        ("-1..3", "--span must be S..E"),
        ("1..99999999999999999999999", "outside the text"),
    ] {
        search(&["--span", span], &[needle]);
    }
    for (layer, needle) in [
        ("l2", "--layer l2: the model has 2 layers (l0..l1)"),
        ("l99999999999999999999", "--layer"),
        ("1", "--layer must be lK, e.g. l0 for the first layer (got '1')"),
        ("x", "--layer must be lK"),
        ("-1", "--layer must be lK"),
    ] {
        search(&["--layer", layer], &[needle]);
    }
    search(&["--state", "z"], &["--state must be c (tanh of the cell state) or h (got 'z')"]);
    for (t, needle) in [
        ("NaN", "--threshold must be a finite number in (-1, 1) (got 'NaN')"),
        ("inf", "--threshold must be a finite number in (-1, 1)"),
        ("-inf", "--threshold must be a finite number in (-1, 1) (got '-inf')"),
        ("1", "--threshold must be a finite number in (-1, 1) (got '1')"),
        ("-1", "--threshold must be a finite number in (-1, 1) (got '-1')"),
        ("5", "--threshold must be a finite number in (-1, 1) (got '5')"),
        ("abc", "--threshold must be a number in (-1, 1) (got 'abc')"),
    ] {
        search(&["--threshold", t], &[needle]);
    }
    for (opt, v, needle) in [
        ("--pad-left", "-1", "--pad-left must be at least 0 (got '-1')"),
        ("--pad-left", "x", "--pad-left must be a whole number, at least 0 (got 'x')"),
        ("--pad-right", "-2", "--pad-right must be at least 0 (got '-2')"),
        ("--pad-right", "1.5", "--pad-right must be a whole number, at least 0 (got '1.5')"),
        ("--pad-right", "99999999999999999999999", "--pad-right is too large for this machine"),
    ] {
        search(&[opt, v], &[needle]);
    }
}

#[test]
fn saturation_bounds_are_checked() {
    let s = setup();
    for (args, needle) in [
        (["--low", "NaN"], "--low must be a finite number in [0, 1] (got 'NaN')"),
        (["--low", "-0.1"], "--low must be a finite number in [0, 1] (got '-0.1')"),
        (["--low", "x"], "--low must be a number in [0, 1] (got 'x')"),
        (["--high", "inf"], "--high must be a finite number in [0, 1] (got 'inf')"),
        (["--high", "1.5"], "--high must be a finite number in [0, 1] (got '1.5')"),
        (["--high", "0.05"], "--low 0.1 is above --high 0.05"),
    ] {
        refused(&s, "saturation", &args, &[needle]);
    }
}

#[test]
fn bad_text_and_checkpoints_are_named() {
    let s = setup();
    let dir = s.ck.parent().unwrap();
    // A character the model does not know, named with its offset in characters.
    let unknown = dir.join("unknown.txt");
    std::fs::write(&unknown, "ROMEO:\né☃ but soft").unwrap();
    for cmd in ["cells", "saturation"] {
        refused_with(cmd, &s.ck, &unknown, &["--chars", "10"], &["unknown.txt", "'é' (U+00E9) at offset 7"]);
    }
    // Only the first N characters are read: the unknown one past them is no error.
    assert!(run(&["cells", "-c", s.ck.to_str().unwrap(), "--data", unknown.to_str().unwrap(), "--chars", "7"])
        .status
        .success());
    let not_utf8 = dir.join("latin1.txt");
    std::fs::write(&not_utf8, b"ROMEO:\n\xe9").unwrap();
    refused_with("cells", &s.ck, &not_utf8, &["--chars", "3"], &["latin1.txt", "not UTF-8"]);
    let empty = dir.join("empty.txt");
    std::fs::write(&empty, "").unwrap();
    refused_with("cells", &s.ck, &empty, &["--chars", "3"], &["empty.txt", "empty"]);
    refused_with("cells", &s.ck, &dir.join("missing.txt"), &["--chars", "3"], &["missing.txt", "cannot read"]);
    refused_with("cells", &s.ck, dir, &["--chars", "3"], &["not a regular file"]);
    refused_with(
        "search",
        &dir.join("nope.safetensors"),
        &s.data,
        &["--layer", "l0", "--span", "0..2"],
        &["nope.safetensors"],
    );
    refused_with("saturation", &s.data, &s.data, &[], &["d.txt", "safetensors"]);
}

#[test]
fn save_refuses_the_built_in_model() {
    let s = setup();
    let out = run(&["cells", "--data", s.data.to_str().unwrap(), "--chars", "10", "--save"]);
    let err = one_line_error(&out);
    assert!(err.contains("--save: the built-in model has no file"), "{err}");
    assert!(out.stdout.is_empty());
}

/// Several --data files: `cells` pools them, each file is read once, every
/// file is checked (a bad one is named wherever it stands), and `search`
/// and `saturation` take one.
#[test]
fn several_files_are_checked_each() {
    let s = setup();
    let dir = s.ck.parent().unwrap();
    let other = dir.join("other.txt");
    std::fs::write(&other, TEXT).unwrap();
    let (d, o) = (s.data.to_str().unwrap(), other.to_str().unwrap());
    refused(&s, "cells", &["--data", d], &["--data", "d.txt", "same file", "once"]);
    // The same file by another path.
    let again = dir.join(".").join("d.txt");
    refused(&s, "cells", &["--data", again.to_str().unwrap()], &["--data", "same file"]);
    refused(&s, "cells", &["--data", o], &["other.txt", "--chars 100", "only 77 characters"]);
    let short = run(&["cells", "-c", s.ck.to_str().unwrap(), "--data", d, o, "--chars", "50"]);
    assert!(short.status.success(), "{}", String::from_utf8_lossy(&short.stderr));
    refused_with("cells", &s.ck, &s.data, &["--data", "missing.txt", "--chars", "5"], &["missing.txt", "cannot read"]);
    refused(
        &s,
        "search",
        &["--data", o, "--layer", "l0", "--span", "0..2"],
        &["--data", "search reads one file", "2 were given"],
    );
    refused(&s, "saturation", &["--data", o], &["--data", "saturation reads one file"]);
}
