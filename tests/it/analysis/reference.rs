//! `gatescope cells`, `search` and `saturation` against the project's PyTorch +
//! numpy reference of the analyses' definitions (reference/analysis.py), on tiny
//! models from reference/charlstm.py init with scaled LSTM weights, so the
//! gates spread over their range and the states vary.

use crate::common::{feature_text, python, reference_runs, run, run_json};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A model initialised by the reference, with its LSTM weights scaled.
fn reference_model(dir: &Path, name: &str, text_file: &Path, extra: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let status = python()
        .arg(Path::new(ROOT).join("reference/charlstm.py"))
        .args(["init", "--text-file", text_file.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .args(extra)
        .output()
        .unwrap();
    assert!(status.status.success(), "init: {}", String::from_utf8_lossy(&status.stderr));
    out
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

struct Fixture {
    data: PathBuf,
    embed: PathBuf,
    onehot: PathBuf,
    chars: usize,
}

/// Built once per test run (the tests share it): the text and two models, in
/// Cargo's scratch folder for integration tests.
fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("analysis-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let data = dir.join("text.txt");
        let text = feature_text();
        std::fs::write(&data, &text).unwrap();
        let embed = reference_model(
            &dir,
            "embed.safetensors",
            &data,
            &["--layers", "2", "--hidden", "24", "--embed", "8", "--scale", "2.5", "--seed", "3"],
        );
        let onehot = reference_model(
            &dir,
            "onehot.safetensors",
            &data,
            &["--layers", "1", "--hidden", "20", "--embed", "0", "--scale", "3", "--seed", "5"],
        );
        Fixture { data, embed, onehot, chars: text.chars().count() }
    })
}

fn common_args(cmd: &str, ck: &Path, data: &Path, chars: usize) -> Vec<String> {
    strings(&[
        cmd,
        "--checkpoint",
        ck.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--chars",
        &chars.to_string(),
    ])
}

#[test]
fn the_catalogue_matches_the_reference() {
    let f = fixture();
    let mut checked = 0;
    let configs = [(&f.embed, f.chars), (&f.onehot, f.chars), (&f.embed, 700)];
    let runs: Vec<Vec<String>> = configs
        .iter()
        .map(|(ck, chars)| {
            let mut args = common_args("cells", ck, &f.data, *chars);
            args.extend(strings(&["--top", "5"]));
            args
        })
        .collect();
    for ((mut args, theirs), (_, chars)) in runs.clone().into_iter().zip(reference_runs("analysis", &runs)).zip(configs)
    {
        args.push("--json".into());
        let ours = run_json(&args);
        assert_eq!(ours["chars"], chars);
        let (of, tf) = (ours["features"].as_array().unwrap(), theirs["features"].as_array().unwrap());
        assert_eq!(of.len(), gatescope::analysis::features::FEATURES);
        for (o, t) in of.iter().zip(tf) {
            let name = t["name"].as_str().unwrap();
            assert_eq!(o["name"], t["name"]);
            assert!(!o["description"].as_str().unwrap().is_empty());
            let (ou, tu) = (o["units"].as_array().unwrap(), t["units"].as_array().unwrap());
            assert_eq!(o["constant"].as_bool().unwrap(), tu.is_empty(), "{name}");
            let key = |u: &Value| format!("{}{}", u["unit"].as_str().unwrap(), u["state"].as_str().unwrap());
            assert_eq!(ou.iter().map(key).collect::<Vec<_>>(), tu.iter().map(key).collect::<Vec<_>>(), "{name}");
            for (a, b) in ou.iter().zip(tu) {
                let (a, b) = (a["r"].as_f64().unwrap(), b["r"].as_f64().unwrap());
                assert!((a - b).abs() < 1e-3, "{name}: r {a} against the reference's {b}");
                checked += 1;
            }
        }
        // Every feature but in_comment (the text has no '#') varies over the
        // whole text; the first 700 characters have no '"'.
        let constant: Vec<&str> =
            of.iter().filter(|o| o["constant"] == true).map(|o| o["name"].as_str().unwrap()).collect();
        if chars == f.chars {
            assert_eq!(constant, ["in_comment"]);
        } else {
            assert!(constant.contains(&"in_quotes"), "{constant:?}");
        }
    }
    assert!(checked >= 100, "compared {checked} correlations");
}

/// Several files pooled: each read from a zero state with its features from
/// its own start, r over all their steps, median half-lives over all their
/// steps; the reference pools the same way. The second file starts in the
/// middle of the first's text, so its lines, brackets and quotes restart.
#[test]
fn a_pooled_catalogue_matches_the_reference() {
    let f = fixture();
    let text: Vec<char> = std::fs::read_to_string(&f.data).unwrap().chars().collect();
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (dir.path().join("first.txt"), dir.path().join("second.txt"));
    std::fs::copy(&f.data, &first).unwrap();
    std::fs::write(&second, text[1400..].iter().collect::<String>()).unwrap();
    let (a, b) = (first.to_str().unwrap(), second.to_str().unwrap());
    let ck = f.embed.to_str().unwrap();
    let args = strings(&["cells", "--checkpoint", ck, "--data", a, b, "--chars", "600", "--top", "4"]);
    let theirs = &reference_runs("analysis", std::slice::from_ref(&args))[0];
    let ours = run_json(&[args.clone(), strings(&["--json"])].concat());
    assert_eq!(ours["chars"], 1200);
    assert_eq!(theirs["chars"], 1200);
    let (of, tf) = (ours["features"].as_array().unwrap(), theirs["features"].as_array().unwrap());
    let mut checked = 0;
    for (o, t) in of.iter().zip(tf) {
        let name = t["name"].as_str().unwrap();
        let (ou, tu) = (o["units"].as_array().unwrap(), t["units"].as_array().unwrap());
        assert_eq!(ou.len(), tu.len(), "{name}");
        for (x, y) in ou.iter().zip(tu) {
            assert_eq!((&x["unit"], &x["state"]), (&y["unit"], &y["state"]), "{name}");
            let (rx, ry) = (x["r"].as_f64().unwrap(), y["r"].as_f64().unwrap());
            assert!((rx - ry).abs() < 1e-3, "{name}: r {rx} against the reference's {ry}");
            assert_eq!(x["median_half_life"], y["median_half_life"], "{name} {}", x["unit"]);
            checked += 1;
        }
    }
    assert!(checked >= 40, "compared {checked} units");
    // Pooling is not the first file alone, nor the two texts run as one.
    let first =
        run_json(&strings(&["cells", "--checkpoint", ck, "--data", a, "--chars", "600", "--top", "4", "--json"]));
    assert_ne!(first["features"], ours["features"]);
    let joined = dir.path().join("joined.txt");
    let both: String = text[..600].iter().chain(&text[1400..2000]).collect();
    std::fs::write(&joined, both).unwrap();
    let as_one =
        run_json(&strings(&["cells", "--checkpoint", ck, "--data", joined.to_str().unwrap(), "--top", "4", "--json"]));
    assert_eq!(as_one["chars"], 1200);
    assert_ne!(as_one["features"], ours["features"]);
    // The table names every file, within the folder they share, and what
    // was read of each.
    let out = run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let table = String::from_utf8(out.stdout).unwrap();
    let folder = dir.path().display();
    assert!(
        table.starts_with(&format!(
            "cells over 1,200 characters of 2 files in {folder}, each from its start: first.txt (600), second.txt (600):"
        )),
        "{table}"
    );
}

#[test]
fn search_selects_and_matches_like_the_reference() {
    let f = fixture();
    // (layer, span, state, threshold, pad-left, pad-right, model, chars)
    type Case<'a> = (&'a str, &'a str, &'a str, &'a str, &'a str, &'a str, &'a PathBuf, usize);
    let n = f.chars;
    let cases: Vec<Case> = vec![
        ("l1", "1510..1512", "h", "0.3", "0", "0", &f.embed, n),
        ("l0", "200..201", "c", "0.3", "0", "0", &f.embed, n),
        ("l1", "900..902", "c", "0.3", "1", "0", &f.embed, n),
        ("l0", "1800..1801", "c", "0.3", "1", "1", &f.embed, n),
        ("l1", "0..3", "c", "0.3", "5", "0", &f.embed, n), // the left pad runs off the start
        ("l1", "1990..1993", "h", "0.3", "1", "3", &f.embed, 1993), // the right pad off the end
        ("l0", "1501..1503", "c", "0.3", "0", "0", &f.onehot, n), // "RO" of "ROMEO:"
        ("l0", "200..201", "c", "-0.2", "1", "1", &f.onehot, n),
        ("l0", "1510..1512", "h", "0.3", "1", "0", &f.onehot, n),
        ("l0", "1800..1801", "c", "0.3", "0", "0", &f.onehot, n),
    ];
    let (mut ours_all, mut runs) = (Vec::new(), Vec::new());
    for (layer, span, state, threshold, pl, pr, ck, chars) in &cases {
        let mut args = common_args("search", ck, &f.data, *chars);
        args.extend(strings(&[
            "--layer",
            layer,
            "--span",
            span,
            "--state",
            state,
            "--threshold",
            threshold,
            "--pad-left",
            pl,
            "--pad-right",
            pr,
            "--top",
            "20",
        ]));
        runs.push(args.clone());
        args.push("--json".into());
        ours_all.push(run_json(&args));
    }
    let theirs_all = reference_runs("analysis", &runs);
    let (mut selected, mut matched) = (0, 0);
    for ((case, ours), theirs) in cases.iter().zip(&ours_all).zip(&theirs_all) {
        assert_eq!(ours["selected"], theirs["selected"], "{case:?}");
        assert_eq!(ours["matches"], theirs["matches"], "{case:?}");
        selected += usize::from(!ours["selected"].as_array().unwrap().is_empty());
        matched += usize::from(ours["matches"].as_array().unwrap().len() >= 2);
    }
    // The comparison means something only if most searches select units and find matches.
    assert!(selected >= 9 && matched >= 8, "{selected} searches selected units, {matched} found matches");
}

#[test]
fn saturation_matches_the_reference_to_one_step() {
    let f = fixture();
    let mut runs = Vec::new();
    let mut ours_all = Vec::new();
    for (ck, low, high) in [(&f.embed, "0.1", "0.9"), (&f.onehot, "0.25", "0.6")] {
        let mut args = common_args("saturation", ck, &f.data, f.chars);
        args.extend(strings(&["--low", low, "--high", high]));
        runs.push(args.clone());
        args.push("--json".into());
        ours_all.push(run_json(&args));
    }
    let step = 1.0 / f.chars as f64;
    let mut saturated = 0;
    for (ours, theirs) in ours_all.iter().zip(reference_runs("analysis", &runs)) {
        assert_eq!(ours["chars"], theirs["chars"]);
        let (ol, tl) = (ours["layers"].as_array().unwrap(), theirs["layers"].as_array().unwrap());
        assert_eq!(ol.len(), tl.len());
        for (o, t) in ol.iter().zip(tl) {
            assert_eq!(o["layer"], t["layer"]);
            for g in ["i", "f", "o"] {
                for side in ["left", "right"] {
                    let (a, b) = (o["gates"][g][side].as_array().unwrap(), t["gates"][g][side].as_array().unwrap());
                    assert_eq!(a.len(), b.len());
                    for (x, y) in a.iter().zip(b) {
                        let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
                        assert!((x - y).abs() <= step + 1e-12, "{} {g} {side}: {x} against {y}", o["layer"]);
                        saturated += usize::from(x > 0.5);
                    }
                }
            }
        }
    }
    assert!(saturated > 0, "scaled weights saturate some gates");
}

#[test]
fn text_output_is_a_readable_table() {
    let f = fixture();
    let out = run(&common_args("cells", &f.embed, &f.data, 700).iter().map(String::as_str).collect::<Vec<_>>());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("cells over the first 700 characters"), "{text}");
    let line = text.lines().find(|l| l.starts_with("line_position")).unwrap();
    assert_eq!(line.matches(" c ").count() + line.matches(" h ").count(), 3, "three units by default: {line}");
    assert!(text.lines().any(|l| l.starts_with("in_quotes") && l.contains("constant over this text: no units")));

    let mut args = common_args("search", &f.onehot, &f.data, f.chars);
    args.extend(strings(&["--layer", "l0", "--span", "1501..1508"]));
    let out = run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let text = String::from_utf8(out.stdout).unwrap();
    // The span is quoted in context, its newline escaped onto one line.
    assert!(text.contains("\\n⟦ROMEO:\\n⟧\\tHe said"), "{text}");
    assert!(text.contains("selected 0 units"), "{text}");
    let mut args = common_args("search", &f.onehot, &f.data, f.chars);
    args.extend(strings(&["--layer", "l0", "--span", "1501..1503", "--pad-left", "0"]));
    let out = run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("selected 7 units: l0:"), "{text}");
    assert!(text.lines().any(|l| l.trim_start().starts_with("1 ") && l.contains('⟦')), "a ranked match: {text}");

    let out =
        run(&common_args("saturation", &f.embed, &f.data, f.chars).iter().map(String::as_str).collect::<Vec<_>>());
    let text = String::from_utf8(out.stdout).unwrap();
    for row in ["l0     i", "l0     f", "l0     o", "l1     i", "l1     o"] {
        assert!(text.contains(row), "{row}: {text}");
    }
    assert!(text.contains("right > half") && text.contains("mean left"), "{text}");
    assert_eq!(text.matches("  +---------------------").count(), 3, "one scatter per gate: {text}");
}
