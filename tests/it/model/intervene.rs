//! Interventions against the project's PyTorch reference:
//! `reference/charlstm.py greedy|trace --intervene`, and the command line's
//! bad specs, `--compare` and seeded sampling.

use crate::common::{assert_close, one_line_error, python, run};
use gatescope::model::{save_checkpoint, CharLstm, LayerWeights};
use gatescope::vocab::Vocab;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

const TEXT: &str = "First Citizen:\nBefore we proceed any further, hear me speak.\n";
const PROMPT: &str = "Before we"; // 9 characters: steps 0..9 are the prompt
const LENGTH: usize = 30; // steps 9..39 are generated

/// Runs `reference/charlstm.py` once per argument list, all in one Python
/// process (importing torch is most of a run's time), and returns each run's
/// stdout. A failing run fails the test with the reference's message.
fn reference(runs: &[Vec<String>]) -> Vec<String> {
    let code = r#"
import contextlib, io, json, sys
sys.path.insert(0, sys.argv[1])
import charlstm
outs = []
for argv in json.loads(sys.argv[2]):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        charlstm.main(argv)
    outs.append(buf.getvalue())
print(json.dumps(outs))
"#;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/reference");
    let out =
        python().args(["-c", code, dir, &serde_json::to_string(runs).unwrap()]).output().expect("the reference starts");
    assert!(out.status.success(), "reference failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn ok_stdout(out: &Output) -> String {
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// A random model (PyTorch's initialisation) with its LSTM weights scaled by
/// 2, so the gates spread over their range.
fn model(dir: &Path, layers: usize, embed: usize) -> PathBuf {
    let m = CharLstm::random(Vocab::from_text(TEXT).unwrap(), embed, 12, layers, 3);
    let scaled = m
        .layers
        .iter()
        .map(|l| LayerWeights { w_ih: &l.w_ih * 2.0, w_hh: &l.w_hh * 2.0, b_ih: &l.b_ih * 2.0, b_hh: &l.b_hh * 2.0 })
        .collect();
    let m = CharLstm::new(m.vocab.clone(), m.embed.as_ref().map(|e| e.shallow_clone()), scaled, m.head_w, m.head_b)
        .unwrap();
    let path = dir.join(format!("m{layers}.safetensors"));
    save_checkpoint(&m, &BTreeMap::new(), &path).unwrap();
    path
}

fn with_specs<'a>(mut args: Vec<&'a str>, specs: &[&'a str]) -> Vec<&'a str> {
    for s in specs {
        args.extend(["--intervene", s]);
    }
    args
}

/// Values within 1e-5, relative above 1 in magnitude (c, h and gates are
/// unbounded under an intervention); null (non-finite) only matches null.
fn close(ours: &Value, theirs: &Value, what: &str) {
    assert_close(ours, theirs, 1e-5, what);
}

/// For each list of specs: greedy text and the full trace equal the
/// reference's (`greedy` and `trace` with the same `--intervene`s); returns
/// our trace's step lines per list.
fn matches_reference(ck: &Path, cases: &[&[&str]]) -> Vec<Vec<Value>> {
    let ck_s = ck.to_str().unwrap();
    let len = LENGTH.to_string();
    let argv = |cmd: &str, specs: &[&str]| -> Vec<String> {
        let common = vec![cmd, "--checkpoint", ck_s, "--prompt", PROMPT, "--length", &len];
        with_specs(common, specs).into_iter().map(String::from).collect()
    };
    let runs: Vec<Vec<String>> = cases.iter().flat_map(|specs| [argv("greedy", specs), argv("trace", specs)]).collect();
    let theirs = reference(&runs);
    cases.iter().zip(theirs.chunks(2)).map(|(specs, r)| matches_one(ck_s, specs, &r[0], &r[1])).collect()
}

fn matches_one(ck: &str, specs: &[&str], greedy: &str, trace: &str) -> Vec<Value> {
    let len = LENGTH.to_string();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.jsonl");
    let ours = ["generate", "-c", ck, "-p", PROMPT, "-l", &len, "-t", "0", "--trace", path.to_str().unwrap()];
    let text = ok_stdout(&run(&with_specs(ours.to_vec(), specs)));
    assert_eq!(text, format!("{PROMPT}{greedy}"), "greedy text under {specs:?}");

    let lines: Vec<Value> =
        std::fs::read_to_string(&path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    // The first line names the interventions, in the order given and canonical form.
    let canonical: Vec<String> = specs.iter().map(|s| s.replace(' ', "")).collect();
    assert_eq!(lines[0], serde_json::json!({ "interventions": canonical }));
    let theirs: Vec<Value> = trace.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let steps = lines[1..].to_vec();
    assert_eq!(steps.len(), PROMPT.len() + LENGTH);
    assert_eq!(theirs.len(), steps.len());
    for (t, (a, b)) in steps.iter().zip(&theirs).enumerate() {
        for key in ["t", "char", "prompt"] {
            assert_eq!(a[key], b[key], "step {t}: {key}");
        }
        let (la, lb) = (a["layers"].as_array().unwrap(), b["layers"].as_array().unwrap());
        assert_eq!(la.len(), lb.len());
        for (k, (x, y)) in la.iter().zip(lb).enumerate() {
            for field in ["i", "f", "g", "o", "c", "h", "c_norm", "h_norm"] {
                close(&x[field], &y[field], &format!("step {t} l{k} {field} under {specs:?}"));
            }
        }
        let (ta, tb) = (a["top"].as_array().unwrap(), b["top"].as_array().unwrap());
        assert_eq!(ta.len(), tb.len());
        for (x, y) in ta.iter().zip(tb) {
            assert_eq!(x[0], y[0], "step {t}: top characters");
            close(&x[1], &y[1], &format!("step {t}: top probability"));
        }
    }
    steps
}

fn value(steps: &[Value], t: usize, layer: usize, target: &str, unit: usize) -> f64 {
    steps[t]["layers"][layer][target][unit].as_f64().unwrap()
}

#[test]
fn set_on_every_target_matches_pytorch_and_is_recorded_after_the_change() {
    let dir = tempfile::tempdir().unwrap();
    let ck = model(dir.path(), 3, 6);
    // Spans inside the prompt (2..5), across the boundary (6..14), generation
    // only (none, and 12..), and from the start (0..20).
    let specs =
        ["l0:1:i=0.9@2..5", "l1:2:f=0@6..14", "l2:3:g=-0.7", "l0:4:o=1@12..", "l1:5:c=3@0..20", "l2:6:h=-2@8..11"];
    let steps = &matches_reference(&ck, &[&specs])[0];
    // What is recorded is what the model computed: the set value itself, at
    // exactly the covered steps.
    let cases = [(0, "i", 1, 0.9, 2..5), (1, "f", 2, 0.0, 6..14), (2, "g", 3, -0.7, 9..39)];
    let more = [(0, "o", 4, 1.0, 12..39), (1, "c", 5, 3.0, 0..20), (2, "h", 6, -2.0, 8..11)];
    for (layer, target, unit, v, span) in cases.into_iter().chain(more) {
        for t in 0..steps.len() {
            let got = value(steps, t, layer, target, unit);
            assert_eq!(span.contains(&t), got as f32 == v as f32, "l{layer}:{unit}:{target} at t={t}: {got}");
        }
    }
}

#[test]
fn add_and_scale_on_every_target_match_pytorch() {
    let dir = tempfile::tempdir().unwrap();
    let ck = model(dir.path(), 3, 6);
    // First covered step 4: the prompt is batched up to it, stepped after.
    let add: &[&str] = &[
        "l2:0:i+=0.3@4..7",
        "l0:7:f+=-0.4@7..12",
        "l1:8:g += 0.5",
        "l2:9:o+=0.2@10..",
        "l0:10:c+=2@4..",
        "l1:11:h+=-1@9..30",
    ];
    let scale: &[&str] = &[
        "l1:0:i*=2@5..8",
        "l2:1:f*=0.5@8..",
        "l0:2:g*=-1",
        "l1:3:o*=3@0..9",
        "l2:4:c *= -2 @6..16",
        "l0:5:h*=4@11..13",
    ];
    matches_reference(&ck, &[add, scale]);
}

#[test]
fn several_on_one_unit_apply_in_the_order_given_on_a_three_layer_model() {
    let dir = tempfile::tempdir().unwrap();
    let ck = model(dir.path(), 3, 6);
    let specs = ["l1:2:c=1@3..", "l1:2:c*=3@5..12", "l1:2:c+=-0.5@7..", "l0:0:h=0.25@1..2", "l2:11:f=1"];
    // The reverse order gives other values: the order is what makes 2.5.
    let reversed: Vec<&str> = specs[..3].iter().rev().copied().collect();
    let both = matches_reference(&ck, &[&specs, &reversed]);
    let c = |t| value(&both[0], t, 1, "c", 2);
    assert_eq!((c(4), c(6), c(8), c(20)), (1.0, 3.0, 2.5, 0.5), "= then *= then +=, where each covers");
    assert_eq!(value(&both[1], 8, 1, "c", 2), 1.0);
}

#[test]
fn one_hot_single_layer_model_matches_pytorch() {
    let dir = tempfile::tempdir().unwrap();
    let ck = model(dir.path(), 1, 0);
    matches_reference(&ck, &[&["l0:3:h=5@0..", "l0:4:f*=0@8..10"]]);
}

#[test]
fn sampling_with_the_same_seed_draws_the_same_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let ck = model(dir.path(), 2, 6);
    let ck = ck.to_str().unwrap();
    let gen = |specs: &[&str]| {
        let base = vec!["generate", "-c", ck, "-p", PROMPT, "-l", "200", "-t", "1", "--seed", "11"];
        ok_stdout(&run(&with_specs(base, specs)))
    };
    let baseline = gen(&[]);
    // An intervention that changes no value changes no character: the
    // random draws are the baseline's.
    assert_eq!(gen(&["l1:3:h*=1", "l0:2:c+=0"]), baseline);
    // One that starts at step 60 leaves every character before it alone
    // (the character consumed at step 60 was drawn from step 59's logits).
    let changed = gen(&["l1:0:h=3@60..", "l1:1:h=-3@60.."]);
    let (b, c): (Vec<char>, Vec<char>) = (baseline.chars().collect(), changed.chars().collect());
    assert_eq!(b[..61], c[..61], "the same up to the first covered step");
    assert_ne!(b, c, "the intervention changes the text after step 60");
}

/// The reference's explicit cell reads prompt + continuation with `specs` and
/// without; returns the mean over the continuation of the difference in
/// ln p(x_t), in f64.
fn reference_mean_delta(ck: &str, prompt: &str, continuation: &str, specs: &[&str]) -> f64 {
    let code = r#"
import sys, json, torch
sys.path.insert(0, sys.argv[1])
import charlstm as r
ck, prompt, cont, specs = sys.argv[2], sys.argv[3], sys.argv[4], json.loads(sys.argv[5])
m, vocab = r.load(ck)
ids = r.encode(prompt + cont, vocab).tolist()
cell, P = r.ExplicitCell(m), len(prompt)
def mean_log_prob(ivs):
    state, total = cell.zero_state(), 0.0
    for t, ch in enumerate(ids):
        if t >= P:
            total += torch.log_softmax(logits.double(), -1)[ch].item()
        _, state, logits = cell.step(ch, state, t, P, ivs)
    return total / len(cont)
ivs = r.parse_interventions(specs, m.lstm.num_layers, m.lstm.hidden_size)
print(mean_log_prob(ivs) - mean_log_prob([]))
"#;
    let ref_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/reference");
    let specs = serde_json::to_string(specs).unwrap();
    let out = python().args(["-c", code, ref_dir, ck, prompt, continuation, &specs]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().parse().unwrap()
}

#[test]
fn compare_prints_both_runs_and_a_summary_checked_against_pytorch() {
    let dir = tempfile::tempdir().unwrap();
    let ck = model(dir.path(), 2, 6);
    let ck = ck.to_str().unwrap();
    let specs = ["l1:4:c=-4@20..", "l0:1:h*=-1"];
    let base = vec!["generate", "-c", ck, "-p", PROMPT, "-l", "120", "-t", "0.9", "--seed", "5"];
    let baseline = ok_stdout(&run(&base));
    let intervened = ok_stdout(&run(&with_specs(base.clone(), &specs)));
    let shown = ok_stdout(&run(&with_specs([&base[..], &["--compare"]].concat(), &specs)));
    let summary = shown.lines().last().unwrap();
    let expected_head =
        format!("--- baseline ---\n{baseline}\n--- intervened: {} ---\n{intervened}\n", specs.join(" "));
    assert_eq!(&shown[..expected_head.len()], expected_head, "both runs, labelled, in order");
    let (b, c): (Vec<char>, Vec<char>) = (baseline.chars().collect(), intervened.chars().collect());
    let p = PROMPT.len();
    let first = (p..b.len()).find(|&i| b[i] != c[i]).expect("the interventions change the text") - p;
    let differing = (p..b.len()).filter(|&i| b[i] != c[i]).count();
    let cont: String = b[p..].iter().collect();
    let delta = reference_mean_delta(ck, PROMPT, &cont, &specs);
    let prefix =
        format!("summary: first_difference={first} at_t={} differing={differing}/120 mean_delta_logp=", first + p);
    assert!(summary.starts_with(&prefix), "{summary} (expected {prefix}...)");
    let ours: f64 = summary[prefix.len()..].parse().unwrap();
    assert!(delta < -0.01, "the intervention makes the baseline's text less likely: {delta}");
    assert!((ours - delta).abs() <= 1e-4, "mean change: ours {ours}, reference {delta}");

    // Nothing changed: no difference, and exactly zero change.
    let same = ok_stdout(&run(&with_specs([&base[..], &["--compare"]].concat(), &["l1:0:h*=1"])));
    assert!(same.ends_with("summary: first_difference=none differing=0/120 mean_delta_logp=0.0000\n"), "{same}");
}

#[test]
fn a_trace_without_interventions_has_no_header() {
    let dir = tempfile::tempdir().unwrap();
    let ck = model(dir.path(), 2, 6);
    let path = dir.path().join("t.jsonl");
    ok_stdout(&run(&[
        "generate",
        "-c",
        ck.to_str().unwrap(),
        "-p",
        PROMPT,
        "-l",
        "5",
        "--trace",
        path.to_str().unwrap(),
    ]));
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), PROMPT.len() + 5);
    assert!(text.lines().all(|l| serde_json::from_str::<Value>(l).unwrap()["t"].is_u64()));
}

#[test]
fn bad_specs_are_one_line_that_names_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let ck = model(dir.path(), 2, 6);
    let ck = ck.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["--intervene", "l1:3:c"], "no operator"),
        (&["--intervene", "1:3:c=0"], "'1' is not a layer"),
        (&["--intervene", "l1:c=0"], "is not lK:U:TARGET"),
        (&["--intervene", "l1:x:c=0"], "'x' is not a unit index"),
        (&["--intervene", "l1:3:q=0"], "'q' is not a target"),
        (&["--intervene", "l1:3:c-=1"], "'c-' is not a target"),
        (&["--intervene", "l1:3:c="], "no value"),
        (&["--intervene", "l1:3:c=zero"], "'zero' is not a number"),
        (&["--intervene", "l1:3:c=0@x..4"], "is not a span"),
        (&["--intervene", "l2:3:c=0"], "the model has 2 layers"),
        (&["--intervene", "l1:12:c=0"], "layer l1 has 12 units"),
        (&["--intervene", "l1:3:c=0@8..8"], "the span 8..8 is empty"),
        (&["--intervene", "l1:3:c=0@39.."], "the span 39.. starts after the run"),
        (&["--intervene", "l1:3:c=0@50..60"], "the span 50..60 starts after the run"),
        (&["--intervene", "l1:3:c=NaN"], "not finite"),
        (&["--intervene", "l1:3:c=-inf"], "not finite"),
        (&["--intervene", "l1:3:c=1e39"], "not finite"),
        (&["--compare"], "--compare needs at least one --intervene"),
    ];
    for (extra, expected) in cases {
        let args = [&["generate", "-c", ck, "-p", PROMPT, "-l", "30"][..], extra].concat();
        let err = one_line_error(&run(&args));
        assert!(err.starts_with("gatescope: "), "{err}");
        assert!(err.contains(expected), "{extra:?}: expected '{expected}' in: {err}");
        if extra[0] == "--intervene" {
            assert!(err.contains(&format!("--intervene '{}'", extra[1])), "names the spec: {err}");
        }
    }
    // A good spec beside a bad one: the bad one is named.
    let err = one_line_error(&run(&[
        "generate",
        "-c",
        ck,
        "-p",
        PROMPT,
        "-l",
        "30",
        "--intervene",
        "l0:0:h=1",
        "--intervene",
        "l0:0:h=1@3..2",
    ]));
    assert!(err.contains("'l0:0:h=1@3..2'") && err.contains("empty"), "{err}");
    // No span means the generated steps: with none generated it covers nothing.
    let err = one_line_error(&run(&["generate", "-c", ck, "-p", PROMPT, "-l", "0", "--intervene", "l0:0:h=1"]));
    assert!(err.contains("generates none"), "{err}");
}
