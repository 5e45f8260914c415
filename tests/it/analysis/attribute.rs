//! `gatescope attribute`: gradient × input and integrated gradients equal
//! PyTorch autograd's (reference/charlstm.py attribute), completeness holds
//! up to the midpoint rule's error, bad input is one line, and the text,
//! colours and page show the same numbers.

use crate::common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn shakespeare(n: usize) -> String {
    let text = std::fs::read_to_string(Path::new(ROOT).join("data/tinyshakespeare.txt")).unwrap();
    text.chars().take(n).collect()
}

struct Fixture {
    embed: PathBuf,
    onehot: PathBuf,
    deep: PathBuf,
    trained: PathBuf,
}

/// Built once per test run: three models initialised by the reference (LSTM
/// weights scaled so the gates use their range) and one trained by gatescope
/// for 60 steps, all over the same vocabulary.
fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("attribute-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let text = shakespeare(4000);
        let data = dir.join("text.txt");
        std::fs::write(&data, &text).unwrap();
        let init = |name: &str, args: &[&str]| {
            let out = dir.join(name);
            let mut all = vec!["init", "--text-file", data.to_str().unwrap(), "--out", out.to_str().unwrap()];
            all.extend_from_slice(args);
            reference(&all);
            out
        };
        let embed = init(
            "embed.safetensors",
            &["--layers", "2", "--hidden", "24", "--embed", "8", "--scale", "2", "--seed", "3"],
        );
        let onehot = init(
            "onehot.safetensors",
            &["--layers", "1", "--hidden", "20", "--embed", "0", "--scale", "2.5", "--seed", "5"],
        );
        let deep = init(
            "deep.safetensors",
            &["--layers", "3", "--hidden", "16", "--embed", "6", "--scale", "2", "--seed", "7"],
        );
        let trained = dir.join("trained.safetensors");
        let args = [
            "train",
            "--data",
            data.to_str().unwrap(),
            "--out",
            trained.to_str().unwrap(),
            "--layers",
            "2",
            "--hidden",
            "32",
            "--embed",
            "8",
            "--seq",
            "48",
            "--batch",
            "16",
            "--steps",
            "60",
            "--eval-every",
            "0",
            "--checkpoint-every",
            "0",
            "--lr",
            "1e-2",
            "--warmup",
            "10",
            "--dropout",
            "0",
            "--threads",
            "1",
        ];
        let out = run(&args);
        assert!(out.status.success(), "train: {}", String::from_utf8_lossy(&out.stderr));
        Fixture { embed, onehot, deep, trained }
    })
}

fn close(what: &str, got: &Value, want: &Value) {
    let (g, w) = (got.as_f64().unwrap(), want.as_f64().unwrap());
    assert!((g - w).abs() <= 1e-6 + 1e-4 * w.abs(), "{what}: {g} against the reference's {w}");
}

/// The same JSON: every key, the exact ones equal, the numbers to 1e-4
/// relative (1e-6 absolute).
fn assert_same(case: &str, got: &Value, want: &Value) {
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(got), keys(want), "{case}: keys");
    assert_eq!(keys(&got["target"]), keys(&want["target"]), "{case}: target's keys");
    for k in ["step", "method", "ig_steps", "chars"] {
        assert_eq!(got[k], want[k], "{case}: {k}");
    }
    for k in ["char", "unit", "state"] {
        assert_eq!(got["target"][k], want["target"][k], "{case}: target {k}");
    }
    for k in ["log_p", "value"] {
        if want["target"].get(k).is_some() {
            close(&format!("{case}: target {k}"), &got["target"][k], &want["target"][k]);
        }
    }
    close(&format!("{case}: f_x"), &got["f_x"], &want["f_x"]);
    close(&format!("{case}: f_baseline"), &got["f_baseline"], &want["f_baseline"]);
    let (g, w) = (got["attributions"].as_array().unwrap(), want["attributions"].as_array().unwrap());
    assert_eq!(g.len(), w.len(), "{case}: attributions");
    assert_eq!(g.len(), got["step"].as_u64().unwrap() as usize + 1, "{case}: one per step 0..=T");
    for (s, (a, b)) in g.iter().zip(w).enumerate() {
        close(&format!("{case}: a_{s}"), a, b);
    }
}

/// Run each case through gatescope and the reference and compare.
fn check(ck: &Path, prompt: &str, cases: &[&[&str]]) {
    let mut runs = Vec::new();
    for extra in cases {
        let mut args = vec!["attribute".to_string(), "--checkpoint".into(), ck.to_str().unwrap().into()];
        args.extend(["--prompt".to_string(), prompt.to_string()]);
        args.extend(extra.iter().map(|s| s.to_string()));
        runs.push(args);
    }
    let want = reference_runs("charlstm", &runs);
    for ((args, want), extra) in runs.iter().zip(&want).zip(cases) {
        let mut ours_args = args.clone();
        ours_args.push("--json".into());
        let got = run_json(&ours_args);
        assert_same(&format!("{} {extra:?}", ck.file_name().unwrap().to_string_lossy()), &got, want);
    }
}

#[test]
fn embedding_model_matches_pytorch_autograd() {
    let f = fixture();
    let prompt = shakespeare(80);
    check(
        &f.embed,
        &prompt,
        &[
            &["--method", "grad", "--step", "40"],
            &["--method", "ig"],
            &["--method", "grad", "--step", "10", "--target", "e"],
            &["--method", "ig", "--step", "30", "--ig-steps", "7", "--target", "\\n"],
            &["--method", "ig", "--unit", "l1:3"],
            &["--method", "grad", "--unit", "l0:5:h", "--step", "55"],
            &["--method", "ig", "--unit", "l1:20:h", "--step", "0"],
        ],
    );
}

#[test]
fn one_hot_model_matches_pytorch_autograd() {
    let f = fixture();
    let prompt = shakespeare(70);
    check(
        &f.onehot,
        &prompt,
        &[
            &["--method", "grad", "--step", "33"],
            &["--method", "ig", "--step", "50"],
            &["--method", "grad", "--unit", "l0:4"],
            &["--method", "ig", "--unit", "l0:19:h", "--step", "20"],
        ],
    );
}

#[test]
fn three_layer_model_matches_pytorch_autograd() {
    let f = fixture();
    let prompt = shakespeare(60);
    check(
        &f.deep,
        &prompt,
        &[
            &["--method", "ig", "--step", "45"],
            &["--method", "grad"],
            &["--method", "grad", "--unit", "l1:4", "--step", "30"],
            &["--method", "ig", "--unit", "l2:0:h"],
            &["--method", "ig", "--unit", "l0:9:c", "--step", "12"],
        ],
    );
}

#[test]
fn a_prompt_of_more_than_500_characters_matches_pytorch_autograd() {
    let f = fixture();
    let prompt = shakespeare(620);
    check(&f.embed, &prompt, &[&["--method", "ig"], &["--method", "grad", "--unit", "l1:7", "--step", "600"]]);
    check(
        &f.trained,
        &prompt,
        &[&["--method", "grad", "--step", "580"], &["--method", "ig", "--ig-steps", "16", "--unit", "l0:1:h"]],
    );
}

/// A model stored in f16, as the shipped ones are: grad's backward then
/// reads its transposed matrices in f16, as the step reads the forward's.
#[test]
fn f16_model_matches_pytorch_autograd() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let half = dir.path().join("trained-f16.safetensors");
    let out = run(&["convert", f.trained.to_str().unwrap(), "--dtype", "f16", "--out", half.to_str().unwrap()]);
    assert!(out.status.success(), "convert: {}", String::from_utf8_lossy(&out.stderr));
    let prompt = shakespeare(300);
    check(
        &half,
        &prompt,
        &[
            &["--method", "grad", "--step", "280"],
            &["--method", "grad", "--unit", "l0:17", "--step", "150"],
            &["--method", "grad", "--unit", "l1:30:h"],
        ],
    );
}

/// Σ a_s − (f_x − f_baseline) is the midpoint rule's error, which falls as
/// 1/M² for a smooth F: on a trained model it shrinks about fourfold at
/// every doubling of M (measured: 1.4e-4, 3.5e-5, 8.8e-6, 2.2e-6 for a
/// prediction).
#[test]
fn integrated_gradients_complete_as_m_grows() {
    let f = fixture();
    let prompt = shakespeare(300);
    for target in [&["--step", "200"][..], &["--unit", "l1:3", "--step", "250"][..]] {
        let gaps: Vec<f64> = ["8", "16", "32", "64"]
            .iter()
            .map(|m| {
                let mut args: Vec<String> =
                    ["attribute", "--checkpoint", f.trained.to_str().unwrap(), "--prompt", &prompt]
                        .iter()
                        .map(|s| s.to_string())
                        .collect();
                args.extend(["--json", "--method", "ig", "--ig-steps", m].map(String::from));
                args.extend(target.iter().map(|s| s.to_string()));
                let v = run_json(&args);
                let sum: f64 = v["attributions"].as_array().unwrap().iter().map(|a| a.as_f64().unwrap()).sum();
                (sum - (v["f_x"].as_f64().unwrap() - v["f_baseline"].as_f64().unwrap())).abs()
            })
            .collect();
        eprintln!("{target:?}: gaps for M = 8, 16, 32, 64: {gaps:?}");
        // The midpoint rule's 1/M²: each doubling of M divides the gap by about 4.
        for w in gaps.windows(2) {
            assert!(w[1] < w[0] / 3.0, "{target:?}: the gap did not shrink as 1/M²: {gaps:?}");
        }
    }
}

#[test]
fn bad_input_is_one_line_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let ck = tiny_checkpoint(dir.path(), "m.safetensors", "abc de\n", 4, 8, 2);
    let c = ck.to_str().unwrap();
    let before = std::fs::read(&ck).unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["--prompt", "abc", "--step", "3"], "--step 3 is beyond the prompt"),
        (&["--prompt", "abc", "--step", "-1"], "--step"),
        (&["--prompt", "abc", "--target", "Z"], "--target 'Z': not in the model's vocabulary"),
        (&["--prompt", "abc", "--target", "ab"], "--target must be one character"),
        (&["--prompt", "abc", "--target", ""], "--target"),
        (&["--prompt", "abc", "--ig-steps", "0"], "--ig-steps must be from 1 to 1024"),
        (&["--prompt", "abc", "--ig-steps", "1025"], "--ig-steps must be from 1 to 1024"),
        (&["--prompt", "abc", "--ig-steps", "-3"], "--ig-steps"),
        (&["--prompt", "abc", "--ig-steps", "99999999999999999999999"], "--ig-steps"),
        (&["--prompt", "abc", "--ig-steps", "nan"], "--ig-steps"),
        (&["--prompt", "abc", "--method", "grad", "--ig-steps", "8"], "--ig-steps belongs to --method ig"),
        (&["--prompt", "abc", "--method", "both"], "--method"),
        (&["--prompt", "abc", "--unit", "l2:0"], "--unit: unit l2:0"),
        (&["--prompt", "abc", "--unit", "l1:8"], "--unit: unit l1:8"),
        (&["--prompt", "abc", "--unit", "l0:1:x"], "--unit must be lK:U"),
        (&["--prompt", "abc", "--unit", "l0:1", "--target", "a"], "cannot be used with"),
        (&["--prompt", "", "--method", "grad"], "--prompt is empty"),
        (&["--prompt", "abZ"], "--prompt: a character not in the model's vocabulary: 'Z'"),
        (&["--prompt", "abc", "--html", c], "refusing to write over an input"),
    ];
    for (args, want) in cases {
        let mut all = vec!["attribute", "--checkpoint", c];
        all.extend_from_slice(args);
        let out = run(&all);
        let err = one_line_error(&out);
        assert!(err.contains(want), "{args:?}: expected '{want}' in: {err}");
        assert!(out.stdout.is_empty(), "{args:?}: printed on stdout");
    }
    assert_eq!(std::fs::read(&ck).unwrap(), before, "the checkpoint is untouched");
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names.len(), 1, "nothing else written: {names:?}");
}

/// The text's three parts carry the JSON's numbers; the page is written,
/// coloured by the same numbers.
#[test]
fn text_and_page_show_the_attributions() {
    let dir = tempfile::tempdir().unwrap();
    let ck = tiny_checkpoint(dir.path(), "m.safetensors", "abc de\n", 4, 8, 2);
    let c = ck.to_str().unwrap();
    let page = dir.path().join("a.html");
    let base = ["attribute", "--checkpoint", c, "--prompt", "abc\nde ab", "--step", "6", "--method", "grad"];
    let json: Value = serde_json::from_slice(&run(&[&base[..], &["--json"]].concat()).stdout).unwrap();
    let out = run(&[&base[..], &["--html", page.to_str().unwrap()]].concat());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let a: Vec<f64> = json["attributions"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert_eq!(a.len(), 7);
    let want_target = format!("'{}'", json["target"]["char"].as_str().unwrap());
    let first = text.lines().next().unwrap();
    assert!(first.starts_with("target") && first.contains(&want_target), "{text}");
    assert!(first.contains(&format!("{:.4}", json["f_x"].as_f64().unwrap())), "{text}");
    assert!(text.contains("gradient × input"), "{text}");
    // Not a terminal: one line per step with its value.
    for (s, v) in a.iter().enumerate() {
        assert!(
            text.lines().any(|l| l.starts_with(&format!("{s:>4}  ")) && l.ends_with(&format!("{v:+.6}"))),
            "{s}: {text}"
        );
    }
    assert!(!text.contains('\x1b'), "no colour codes when stdout is not a terminal");
    // The ten largest (all seven here), largest |a_s| first.
    let listed: Vec<f64> = text
        .split("largest |a_s|\n")
        .nth(1)
        .unwrap()
        .lines()
        .map(|l| l.split_whitespace().last().unwrap().parse().unwrap())
        .collect();
    assert_eq!(listed.len(), 7);
    assert!(listed.windows(2).all(|w| w[0].abs() >= w[1].abs()), "{listed:?}");
    let html = std::fs::read_to_string(&page).unwrap();
    let top = a.iter().fold(0.0f64, |m, v| m.max(v.abs())) as f32;
    for (s, &v) in a.iter().enumerate() {
        let colour = gatescope::export::html::cell_colour(v as f32 / top);
        assert!(html.contains(&format!("data-t=\"{s}\"")), "step {s} on the page");
        assert!(html.contains(&format!("background:{colour}\" title=\"step {s} ")), "step {s} coloured {colour}");
    }
    assert!(html.contains("data-t=\"7\" class=\"after\""), "after T: grey, uncoloured");
}
