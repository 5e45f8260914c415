//! `gatescope explain` against reference/charlstm.py's `explain` on models
//! PyTorch trained, its sums on the shipped model, its page and its errors;
//! and `cells`' median half-life against reference/analysis.py.

use crate::common::{one_line_error, reference_runs, run, run_json};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

struct Fixture {
    dir: PathBuf,
    text: PathBuf,
    /// 3 layers × 16, embedding 8.
    deep: PathBuf,
    /// 2 layers × 12, one-hot input.
    onehot: PathBuf,
}

/// A reference subcommand run in the test's Python, checked to succeed.
fn python(args: &[&str]) -> String {
    let out = crate::common::python().args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Two small models trained by the reference for 30 steps on the start of
/// tinyshakespeare, built once per test run.
fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("explain-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let shakespeare = std::fs::read_to_string(Path::new(ROOT).join("data/tinyshakespeare.txt")).unwrap();
        let text = dir.join("text.txt");
        std::fs::write(&text, shakespeare.chars().take(2000).collect::<String>()).unwrap();
        let script = Path::new(ROOT).join("reference/charlstm.py");
        let train = |name: &str, shape: &[&str]| {
            let out = dir.join(name);
            let common = ["--batch", "8", "--seq", "32", "--steps", "30", "--lr", "0.01", "--log-every", "30"];
            let args = [
                &[script.to_str().unwrap(), "train", "--data", text.to_str().unwrap()][..],
                shape,
                &common,
                &["--out", out.to_str().unwrap()],
            ]
            .concat();
            python(&args);
            out
        };
        let deep = train("deep.safetensors", &["--layers", "3", "--hidden", "16", "--embed", "8"]);
        let onehot = train("onehot.safetensors", &["--layers", "2", "--hidden", "12", "--embed", "0"]);
        Fixture { dir, text, deep, onehot }
    })
}

/// Equal structure, keys and strings; numbers within 1e-5 (relative above 1).
fn assert_close(path: &str, a: &Value, b: &Value) {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            assert!((x - y).abs() <= 1e-5 * y.abs().max(1.0), "{path}: {x} against the reference's {y}");
        }
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{path}: length");
            for (k, (p, q)) in x.iter().zip(y).enumerate() {
                assert_close(&format!("{path}[{k}]"), p, q);
            }
        }
        (Value::Object(x), Value::Object(y)) => {
            let keys = |o: &serde_json::Map<String, Value>| o.keys().cloned().collect::<Vec<_>>();
            assert_eq!(keys(x), keys(y), "{path}: keys (in order)");
            for (k, p) in x {
                assert_close(&format!("{path}.{k}"), p, &y[k]);
            }
        }
        _ => assert_eq!(a, b, "{path}"),
    }
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

const PROMPT: &str = "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.";

#[test]
fn explain_json_matches_the_reference() {
    let f = fixture();
    // (model, unit, step, top): layers 0..2 of the embedding model and
    // 0..1 of the one-hot one, at T = 0 and T > 0.
    let cases: Vec<(&PathBuf, &str, Option<&str>, &str)> = vec![
        (&f.deep, "l0:3", Some("0"), "5"),
        (&f.deep, "l0:15", None, "5"),
        (&f.deep, "l1:0", Some("0"), "3"),
        (&f.deep, "l1:7", Some("40"), "3"),
        (&f.deep, "l2:11", Some("0"), "16"),
        (&f.deep, "l2:5", Some("61"), "4"),
        (&f.onehot, "l0:2", Some("0"), "5"),
        (&f.onehot, "l0:9", Some("17"), "2"),
        (&f.onehot, "l1:4", Some("0"), "5"),
        (&f.onehot, "l1:11", None, "12"),
    ];
    let mut runs = Vec::new();
    let mut ours_all = Vec::new();
    for (ck, unit, step, top) in &cases {
        let mut args = strings(&["explain", "--checkpoint", ck.to_str().unwrap(), "--prompt", PROMPT]);
        args.extend(strings(&["--unit", unit, "--top", top]));
        if let Some(s) = step {
            args.extend(strings(&["--step", s]));
        }
        runs.push(args.clone());
        args.push("--json".into());
        ours_all.push(run_json(&args));
    }
    let mut listed = 0;
    for ((case, ours), theirs) in cases.iter().zip(&ours_all).zip(reference_runs("charlstm", &runs)) {
        let name = format!("{} {} step {:?}", case.0.file_name().unwrap().to_string_lossy(), case.1, case.2);
        assert_close(&name, ours, &theirs);
        let step = ours["step"].as_u64().unwrap() as usize;
        assert_eq!(ours["memory"]["writes"].as_array().unwrap().len(), step + 1, "{name}");
        for g in ["i", "f", "g", "o"] {
            listed += ours["gates"][g]["recurrent"].as_array().unwrap().len();
            listed += ours["gates"][g]["input"].as_array().unwrap().len();
        }
    }
    // The comparison covers listed terms, not only empty lists at T = 0.
    assert!(listed > 100, "{listed} terms listed");
    assert_eq!(ours_all[1]["step"], PROMPT.chars().count() - 1, "--step defaults to the last character");
    assert_eq!(ours_all[0]["gates"]["i"]["recurrent"], serde_json::json!([]), "h′ is zero at T = 0");
    assert_eq!(ours_all[6]["gates"]["f"]["input"][0]["from"], "F", "layer 0's input is named by the character");
}

/// `--json` on the shipped model, parsed.
fn shipped(unit: &str, step: &str, top: &str) -> Value {
    run_json(&strings(&["explain", "--prompt", PROMPT, "--unit", unit, "--step", step, "--top", top, "--json"]))
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

#[test]
fn terms_add_up_to_z_and_writes_to_the_cell_on_the_shipped_model() {
    for (unit, step, top) in [("l1:271", "30", "5"), ("l0:17", "12", "3"), ("l1:0", "0", "5")] {
        let e = shipped(unit, step, top);
        for g in ["i", "f", "g", "o"] {
            let gate = &e["gates"][g];
            let sum = |key: &str| gate[key].as_array().unwrap().iter().map(|t| num(&t["term"])).sum::<f64>();
            let total = num(&gate["bias"])
                + sum("input")
                + num(&gate["input_rest"])
                + sum("recurrent")
                + num(&gate["recurrent_rest"]);
            let z = num(&gate["z"]);
            assert!((total - z).abs() < 1e-9, "{unit} {g}: bias + terms + rests = {total}, z = {z}");
            let value = if g == "g" { z.tanh() } else { 1.0 / (1.0 + (-z).exp()) };
            assert!((value - num(&gate["value"])).abs() < 1e-12, "{unit} {g}");
            assert!(gate["recurrent"].as_array().unwrap().len() <= top.parse().unwrap());
        }
        let writes: f64 = e["memory"]["writes"].as_array().unwrap().iter().map(num).sum();
        let c = num(&e["cell"]["c"]);
        assert!((writes - c).abs() < 1e-5 * c.abs().max(1.0), "{unit}: Σ writes {writes}, c_T {c}");
        let cell = &e["cell"];
        assert!((num(&cell["kept"]) + num(&cell["written"]) - c).abs() < 1e-12);
    }
    // At step 0 of layer 1 the recurrent input is zero, and there is nothing to keep.
    let e = shipped("l1:0", "0", "5");
    assert_eq!(e["cell"]["c_prev"], 0.0);
    assert_eq!(e["memory"]["half_life"], Value::Null);
}

#[test]
fn the_text_reads_like_the_tutorial() {
    let out = run(&["explain", "--prompt", PROMPT, "--unit", "l1:271", "--step", "30"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "l1:271 at step 30, after reading 'e'",
        "f = σ(z) = ",
        "g = tanh(z) = ",
        "(forget gate; z = ",
        "other l0 units",
        "other l1 units (h′)",
        "cell  c = f·c′ + i·g = ",
        " kept + ",
        "h = o·tanh(c) = ",
        "memory: the writes w_s",
        "half-life: ",
    ] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
    assert!(text.lines().any(|l| l.trim_start().starts_with("bias") && l.contains('│')), "bars: {text}");
}

#[test]
fn the_page_colours_the_text_by_the_writes() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("writes.html");
    let out = run(&[
        "explain",
        "--prompt",
        PROMPT,
        "--unit",
        "l1:271",
        "--step",
        "30",
        "--json",
        "--html",
        page.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let e: Value = serde_json::from_slice(&out.stdout).unwrap();
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("<title>built-in model (default) · l1:271 at step 30 · memory writes</title>"), "{html}");
    assert_eq!(html.matches("<span data-t=").count(), PROMPT.chars().count());
    assert_eq!(html.matches("class=\"after").count(), PROMPT.chars().count() - 31, "steps after T are not coloured");
    // The largest |w_s| takes the end of the scale.
    let writes: Vec<f64> = e["memory"]["writes"].as_array().unwrap().iter().map(num).collect();
    let big = writes.iter().cloned().fold(0.0f64, |a, w| if w.abs() > a.abs() { w } else { a });
    let end = gatescope::export::html::cell_colour(big.signum() as f32);
    assert!(html.contains(&format!("style=\"background:{end}\" title=\"step")), "{end} in the text");
    assert!(html.contains(&format!("w = {big:+.4}")), "the hover shows w_s");
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names.len(), 1, "no temporary file left: {names:?}");
}

#[test]
fn bad_input_is_one_line_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let ck = crate::common::tiny_checkpoint(dir.path(), "tiny.safetensors", "abc \n", 4, 6, 2);
    let ck = ck.to_str().unwrap();
    let base = ["explain", "--checkpoint", ck, "--prompt", "ab c"];
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--unit", "l2:0"], "2 layers"),
        (vec!["--unit", "l0:6"], "6 units"),
        (vec!["--unit", "x1:3"], "--unit"),
        (vec!["--unit", "l0:1", "--step", "4"], "--step 4"),
        (vec!["--unit", "l0:1", "--step", "-1"], "--step"),
        (vec!["--unit", "l0:1", "--top", "0"], "--top"),
        (vec!["--unit", "l0:1", "--top", "70000"], "--top"),
        (vec!["--unit", "l0:1", "--top", "-3"], "--top"),
        (vec!["--unit", "l0:1", "--top", "NaN"], "--top"),
        (vec!["--unit", "l0:1", "--html", ck], "same file"),
        (vec!["--unit", "l0:1", "--html", dir.path().to_str().unwrap()], "directory"),
    ];
    for (extra, needle) in cases {
        let args = [&base[..], &extra].concat();
        let err = one_line_error(&run(&args));
        assert!(err.contains(needle), "{extra:?}: {err}");
    }
    let err = one_line_error(&run(&["explain", "--checkpoint", ck, "--prompt", "abz", "--unit", "l0:0"]));
    assert!(err.contains("--prompt") && err.contains("'z'") && err.contains("offset 2"), "{err}");
    let err = one_line_error(&run(&["explain", "--checkpoint", ck, "--prompt", "", "--unit", "l0:0"]));
    assert!(err.contains("--prompt is empty"), "{err}");
    let page = dir.path().join("p.html");
    one_line_error(&run(&[&base[..], &["--unit", "l0:9", "--html", page.to_str().unwrap()]].concat()));
    assert!(!page.exists(), "no page for a refused run");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "only the checkpoint is there");
}

#[test]
fn median_half_lives_match_the_reference() {
    let f = fixture();
    let mut runs = Vec::new();
    let mut ours_all = Vec::new();
    for (ck, chars) in [(&f.deep, "2000"), (&f.onehot, "900")] {
        let args = strings(&[
            "cells",
            "--checkpoint",
            ck.to_str().unwrap(),
            "--data",
            f.text.to_str().unwrap(),
            "--chars",
            chars,
            "--top",
            "4",
        ]);
        runs.push(args.clone());
        ours_all.push(run_json(&[args, vec!["--json".into()]].concat()));
    }
    let (mut compared, mut some) = (0, 0);
    for (ours, theirs) in ours_all.iter().zip(reference_runs("analysis", &runs)) {
        for (o, t) in ours["features"].as_array().unwrap().iter().zip(theirs["features"].as_array().unwrap()) {
            for (a, b) in o["units"].as_array().unwrap().iter().zip(t["units"].as_array().unwrap()) {
                assert_eq!(a["unit"], b["unit"], "{}", o["name"]);
                assert_eq!(a["median_half_life"], b["median_half_life"], "{} {}", o["name"], a["unit"]);
                compared += 1;
                some += usize::from(!a["median_half_life"].is_null());
            }
        }
    }
    assert!(compared >= 60 && some >= 30, "{compared} units compared, {some} with a half-life");
    let _ = &f.dir;
}
