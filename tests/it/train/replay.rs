//! Training snapshots (`train --snapshot-every`) and `gatescope replay`: the
//! replay's numbers against `cells` and `eval` run on each snapshot and
//! against the PyTorch + numpy reference on two, snapshots as checkpoints
//! everywhere, a resumed run's folder, kills during snapshot writes, and
//! bad input.

use crate::common::{
    feature_text, gatescope, kill_during_training, one_line_error, python, reference_runs, run, tiny_checkpoint,
    tiny_train,
};
use gatescope::model::load_checkpoint;
use gatescope::model::snapshot::list_snapshots;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A tiny training run's arguments: 2×16, 40 steps, evaluated every 20 steps.
fn train_args(data: &Path, out: &Path, extra: &[&str]) -> Vec<String> {
    let sizes = [
        "--layers",
        "2",
        "--embed",
        "8",
        "--seq",
        "32",
        "--batch",
        "8",
        "--dropout",
        "0.2",
        "--steps",
        "40",
        "--eval-every",
        "20",
        "--checkpoint-every",
        "20",
        "--lr",
        "2e-2",
        "--warmup",
        "5",
    ];
    tiny_train(data, out, &[&sizes[..], extra].concat())
}

fn run_s<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> std::process::Output {
    gatescope().args(args).output().expect("gatescope runs")
}

fn ok<S: AsRef<std::ffi::OsStr> + std::fmt::Debug>(args: &[S]) -> std::process::Output {
    let out = run_s(args);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

struct Fixture {
    data: PathBuf,
    chars: usize,
    /// The folder of snapshots at steps 1, 10, 20, 30 and 40.
    snapshots: PathBuf,
}

/// One training run with snapshots every 10 steps, shared by the tests.
fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("replay-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let data = dir.join("text.txt");
        let text = feature_text();
        std::fs::write(&data, &text).unwrap();
        let out = dir.join("m.safetensors");
        ok(&train_args(&data, &out, &["--snapshot-every", "10"]));
        Fixture { data, chars: text.chars().count(), snapshots: dir.join("m.snapshots") }
    })
}

fn snapshot_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .collect();
    v.sort();
    v
}

fn json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The (unit, state) → r of every unit state a catalogue lists, per feature.
fn listed(cat: &Value, feature: &str) -> Vec<(String, String, f64)> {
    let f = cat["features"].as_array().unwrap().iter().find(|f| f["name"] == feature).unwrap();
    f["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["unit"].as_str().unwrap().into(), u["state"].as_str().unwrap().into(), u["r"].as_f64().unwrap()))
        .collect()
}

/// The reference's stateful loss (reference/charlstm.py eval) over a whole file.
fn reference_stateful_loss(ck: &Path, text: &Path) -> f64 {
    let out = python()
        .arg(Path::new(ROOT).join("reference/charlstm.py"))
        .args(["eval", "--checkpoint", ck.to_str().unwrap(), "--data", text.to_str().unwrap()])
        .args(["--val-frac", "0.99999"])
        .output()
        .unwrap();
    assert!(out.status.success(), "reference eval: {}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["stateful_loss"].as_f64().unwrap()
}

#[test]
fn replay_equals_cells_and_eval_on_every_snapshot_and_the_reference_on_two() {
    let f = fixture();
    let n = f.chars.to_string();
    let (dir, data) = (f.snapshots.to_str().unwrap(), f.data.to_str().unwrap());
    let replay = json(&ok(&["replay", dir, "--data", data, "--chars", &n, "--json"]));
    let files = snapshot_files(&f.snapshots);
    let steps: Vec<u64> =
        files.iter().map(|p| p.file_name().unwrap().to_str().unwrap()[5..11].parse().unwrap()).collect();
    assert_eq!(steps, [1, 10, 20, 30, 40]);
    // `cells` on each snapshot, every unit state listed (2 layers × 16 units × c, h).
    let cells: Vec<Value> = files
        .iter()
        .map(|p| {
            let args =
                ["cells", "--checkpoint", p.to_str().unwrap(), "--data", data, "--chars", &n, "--top", "64", "--json"];
            json(&ok(&args))
        })
        .collect();
    // nats_per_char is eval's stateful loss over the same characters: `eval`
    // on a file of exactly them, all of it validation.
    let prefix = f.snapshots.parent().unwrap().join("prefix.txt");
    std::fs::write(&prefix, feature_text().chars().take(f.chars).collect::<String>()).unwrap();
    let features = replay["features"].as_array().unwrap();
    assert_eq!(features.len(), gatescope::analysis::features::FEATURES, "every catalogue feature by default");
    let mut compared = 0;
    for (k, p) in files.iter().enumerate() {
        let args = ["eval", "--checkpoint", p.to_str().unwrap(), "--data", prefix.to_str().unwrap()];
        let out = ok(&[&args[..], &["--val-frac", "0.99999"]].concat());
        let line = String::from_utf8(out.stdout).unwrap();
        assert!(line.contains(&format!("val_chars={}", f.chars)), "{line}");
        let eval: f64 = line.split("stateful_loss=").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
        for feat in features {
            let point = &feat["snapshots"][k];
            assert_eq!(point["step"], steps[k]);
            let loss = point["nats_per_char"].as_f64().unwrap();
            assert!((loss - eval).abs() < 6e-5, "step {}: {loss} against eval's {eval}", steps[k]);
        }
    }
    let mut measured = 0;
    for feat in features {
        let name = feat["name"].as_str().unwrap();
        let last = listed(&cells[files.len() - 1], name);
        if last.is_empty() {
            // Constant over the text (no '#' in it, say): no unit at any step.
            assert!(feat["final"].is_null(), "{name}");
            continue;
        }
        measured += 1;
        let (fu, fs) = (&last[0].0, &last[0].1);
        assert_eq!(feat["final"]["unit"], fu.as_str(), "{name}");
        assert_eq!(feat["final"]["state"], fs.as_str(), "{name}");
        let points = feat["snapshots"].as_array().unwrap();
        assert_eq!(points.len(), files.len());
        for (point, cat) in points.iter().zip(&cells) {
            let all = listed(cat, name);
            let (best, top) = (&point["best"], &all[0]);
            assert_eq!((best["unit"].as_str().unwrap(), best["state"].as_str().unwrap()), (&*top.0, &*top.1));
            assert!((best["r"].as_f64().unwrap() - top.2).abs() < 1e-3, "{name}: best r");
            let final_r = all.iter().find(|(u, s, _)| u == fu && s == fs).map(|c| c.2);
            match final_r {
                Some(r) => assert!((point["final_r"].as_f64().unwrap() - r).abs() < 1e-3, "{name}: final_r"),
                None => assert!(point["final_r"].is_null(), "{name}"),
            }
            compared += 2;
        }
        // The last snapshot's best is its own final unit: its r twice.
        let end = points.last().unwrap();
        assert_eq!(end["best"]["r"], end["final_r"], "{name}");
    }
    assert!(measured >= 12, "the text varies every Shakespeare feature");
    assert_eq!(compared, measured * 5 * 2);
    // Some feature's best unit must change over training, or `final_r` was never more than `best` again.
    assert!(
        features.iter().any(|f| f["snapshots"].as_array().unwrap().iter().any(|p| p["best"]["r"] != p["final_r"])),
        "no feature's best unit changed between snapshots; the test cannot tell final_r from best"
    );

    // The reference's catalogue and loss on two snapshots (steps 10 and 40).
    let picks = [1, files.len() - 1];
    let runs: Vec<Vec<String>> = picks
        .iter()
        .map(|&k| {
            ["cells", "--checkpoint", files[k].to_str().unwrap(), "--data", data, "--chars", &n, "--top", "64"]
                .map(String::from)
                .to_vec()
        })
        .collect();
    let theirs = reference_runs("analysis", &runs);
    assert_eq!(theirs.len(), 2);
    for (&k, cat) in picks.iter().zip(&theirs) {
        let loss = reference_stateful_loss(&files[k], &prefix);
        for feat in features {
            let name = feat["name"].as_str().unwrap();
            let point = &feat["snapshots"][k];
            assert!((point["nats_per_char"].as_f64().unwrap() - loss).abs() < 1e-4, "step {}: loss", steps[k]);
            let all = listed(cat, name);
            let best = &point["best"];
            if feat["final"].is_null() {
                assert!(all.is_empty() && best.is_null(), "{name}: constant for the reference too");
                continue;
            }
            assert_eq!(best["unit"].as_str().unwrap(), all[0].0, "{name} at step {}", steps[k]);
            assert_eq!(best["state"].as_str().unwrap(), all[0].1, "{name} at step {}", steps[k]);
            assert!((best["r"].as_f64().unwrap() - all[0].2).abs() < 1e-3, "{name}");
            let (fu, fs) = (feat["final"]["unit"].as_str().unwrap(), feat["final"]["state"].as_str().unwrap());
            let r = all.iter().find(|(u, s, _)| u == fu && s == fs).map(|c| c.2).unwrap();
            assert!((point["final_r"].as_f64().unwrap() - r).abs() < 1e-3, "{name}: final_r against the reference");
        }
    }
}

#[test]
fn snapshots_are_checkpoints_with_their_step_and_losses() {
    let f = fixture();
    let files = snapshot_files(&f.snapshots);
    for p in &files {
        let ck = load_checkpoint(p).unwrap();
        let step: usize = ck.metadata["step"].parse().unwrap();
        assert_eq!(ck.metadata["steps"], ck.metadata["step"]);
        assert!(ck.metadata["train_loss"].parse::<f64>().unwrap().is_finite());
        // val_loss only where that step evaluated (--eval-every 20).
        assert_eq!(ck.metadata.contains_key("val_loss"), step.is_multiple_of(20), "step {step}");
        assert_eq!(ck.model.dims.layers, 2);
        let shown = p.to_str().unwrap();
        let info = ok(&["info", shown]);
        assert!(String::from_utf8_lossy(&info.stdout).contains(&format!("step = {step}")));
        let gen = ok(&["generate", "--checkpoint", shown, "--prompt", "ROMEO", "--length", "20"]);
        assert_eq!(String::from_utf8(gen.stdout).unwrap().chars().count(), 25);
        let cells =
            ok(&["cells", "--checkpoint", shown, "--data", f.data.to_str().unwrap(), "--chars", "500"]
                .map(String::from));
        assert!(String::from_utf8_lossy(&cells.stdout).contains("line_position"));
    }
    // The last snapshot holds the last step's weights: --out's latest state.
    let last = load_checkpoint(&f.snapshots.parent().unwrap().join("m.last.safetensors")).unwrap();
    let snap = load_checkpoint(files.last().unwrap()).unwrap();
    for ((n, a), (_, b)) in last.model.named_tensors().iter().zip(snap.model.named_tensors()) {
        assert!(a.equal(b), "{n}");
    }
}

#[test]
fn f16_snapshots_are_half_the_size_and_load_and_replay() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("h.safetensors");
    let mut args = train_args(&f.data, &out, &["--snapshot-every", "20", "--snapshot-dtype", "f16"]);
    let at = args.iter().position(|a| a == "--steps").unwrap();
    args[at + 1] = "20".into();
    ok(&args);
    let half = snapshot_files(&dir.path().join("h.snapshots"));
    assert_eq!(half.len(), 2, "steps 1 and 20");
    let full = std::fs::metadata(snapshot_files(&f.snapshots)[2].clone()).unwrap().len() as f64;
    let size = std::fs::metadata(&half[1]).unwrap().len() as f64;
    assert!(size < 0.6 * full && size > 0.4 * full, "f16 {size} bytes against f32 {full}");
    assert_eq!(gatescope::model::stored_lstm_dtype(&half[1]).as_deref(), Some("F16"));
    let shown = half[1].to_str().unwrap();
    ok(&["info", shown]);
    ok(&["generate", "--checkpoint", shown, "--prompt", "RO", "--length", "5"]);
    ok(&["cells", "--checkpoint", shown, "--data", f.data.to_str().unwrap(), "--chars", "300"]);
    let dir_s = dir.path().join("h.snapshots");
    let r =
        json(&ok(&["replay", dir_s.to_str().unwrap(), "--data", f.data.to_str().unwrap(), "--chars", "300", "--json"]
            .map(String::from)));
    assert_eq!(r["features"][0]["snapshots"].as_array().unwrap().len(), 2);
}

#[test]
fn a_resumed_run_adds_to_its_folder_and_a_new_run_refuses_it() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.safetensors");
    let snaps = dir.path().join("m.snapshots");
    ok(&train_args(&f.data, &out, &["--snapshot-every", "10", "--stop-at", "20"]));
    let names = |d: &Path| -> Vec<String> {
        snapshot_files(d).iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect()
    };
    assert_eq!(names(&snaps), ["step-000001.safetensors", "step-000010.safetensors", "step-000020.safetensors"]);
    let first = std::fs::read(snaps.join("step-000001.safetensors")).unwrap();
    let last = dir.path().join("m.last.safetensors");
    ok(&train_args(&f.data, &out, &["--snapshot-every", "10", "--resume", last.to_str().unwrap()]));
    assert_eq!(names(&snaps).len(), 5, "{:?}", names(&snaps));
    assert_eq!(std::fs::read(snaps.join("step-000001.safetensors")).unwrap(), first, "earlier snapshots kept");
    assert_eq!(list_snapshots(&snaps).unwrap().iter().map(|s| s.step).collect::<Vec<_>>(), [1, 10, 20, 30, 40]);
    // A new run would mix two histories in one folder.
    let err = one_line_error(&run_s(&train_args(&f.data, &out, &["--snapshot-every", "10"])));
    assert!(err.contains("m.snapshots") && err.contains("earlier run"), "{err}");
    assert_eq!(names(&snaps).len(), 5);
}

/// Every file in `dir`, by name.
fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

#[test]
fn bad_input_is_one_line_naming_what_is_wrong() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = f.data.to_str().unwrap();
    let replay = |folder: &Path, extra: &[&str]| -> String {
        let mut args = vec!["replay", folder.to_str().unwrap(), "--data", data];
        args.extend(extra);
        one_line_error(&run(&args))
    };
    // An empty folder; a file that is not a folder.
    let empty = d.join("empty");
    std::fs::create_dir(&empty).unwrap();
    let err = replay(&empty, &[]);
    assert!(err.contains("empty") && err.contains("no snapshots"), "{err}");
    assert!(replay(&f.data, &[]).contains("not a folder"));
    // One foreign file among the snapshots.
    let foreign = d.join("foreign");
    std::fs::create_dir(&foreign).unwrap();
    for p in snapshot_files(&f.snapshots) {
        std::fs::copy(&p, foreign.join(p.file_name().unwrap())).unwrap();
    }
    std::fs::write(foreign.join("notes.txt"), "x").unwrap();
    let err = replay(&foreign, &[]);
    assert!(err.contains("notes.txt") && err.contains("not a snapshot"), "{err}");
    std::fs::remove_file(foreign.join("notes.txt")).unwrap();
    std::fs::copy(foreign.join("step-000010.safetensors"), foreign.join("step-10.safetensors")).unwrap();
    assert!(replay(&foreign, &[]).contains("step-10.safetensors"));
    std::fs::remove_file(foreign.join("step-10.safetensors")).unwrap();
    // A renamed snapshot: its metadata's step is not its name's.
    std::fs::rename(foreign.join("step-000040.safetensors"), foreign.join("step-000050.safetensors")).unwrap();
    let err = replay(&foreign, &[]);
    assert!(err.contains("step-000050.safetensors") && err.contains("step 40"), "{err}");
    // Snapshots of another architecture, and of another vocabulary of the same size.
    let text = "the quick brown fox\n";
    let arch = d.join("arch");
    std::fs::create_dir(&arch).unwrap();
    tiny_checkpoint(&arch, "step-000001.safetensors", text, 4, 8, 1);
    tiny_checkpoint(&arch, "step-000002.safetensors", text, 4, 12, 1);
    let err = replay(&arch, &[]);
    assert!(err.contains("step-000002.safetensors") && err.contains("1×12") && err.contains("1×8"), "{err}");
    let vocab = d.join("vocab");
    std::fs::create_dir(&vocab).unwrap();
    tiny_checkpoint(&vocab, "step-000001.safetensors", text, 4, 8, 1);
    tiny_checkpoint(&vocab, "step-000002.safetensors", &text.replace('q', "Q"), 4, 8, 1);
    let err = replay(&vocab, &[]);
    assert!(err.contains("step-000002.safetensors") && err.contains("vocabulary"), "{err}");
    let sizes = d.join("sizes");
    std::fs::create_dir(&sizes).unwrap();
    tiny_checkpoint(&sizes, "step-000001.safetensors", text, 4, 8, 1);
    tiny_checkpoint(&sizes, "step-000002.safetensors", "abc", 4, 8, 1);
    let err = replay(&sizes, &[]);
    assert!(err.contains("vocabulary 3") && err.contains("step-000002.safetensors"), "{err}");
    // Options.
    let good = &f.snapshots;
    assert!(replay(good, &["--chars", "0"]).contains("--chars must be from 1"));
    assert!(replay(good, &["--chars", "-3"]).contains("--chars must be from 1"));
    assert!(replay(good, &["--chars", "99999999"]).contains("has only"));
    let err = replay(good, &["--feature", "nope"]);
    assert!(err.contains("'nope' is not a feature") && err.contains("line_position"), "{err}");
    assert!(replay(good, &["--feature", "indent,indent"]).contains("--feature names 'indent' twice"));
    assert!(replay(good, &["--feature", ""]).contains("--feature has an empty name"));
    assert!(replay(good, &["--feature", "indent,"]).contains("--feature has an empty name"));
    // --svg over an input: the text, a snapshot, or into the snapshot folder.
    let before = std::fs::read(&f.data).unwrap();
    assert!(replay(good, &["--svg", data]).contains("same file as --data"));
    assert_eq!(std::fs::read(&f.data).unwrap(), before);
    let snap = snapshot_files(good)[0].clone();
    let snap_bytes = std::fs::read(&snap).unwrap();
    assert!(replay(good, &["--svg", snap.to_str().unwrap()]).contains("same file as the snapshot"));
    assert_eq!(std::fs::read(&snap).unwrap(), snap_bytes);
    let inside = good.join("plot.svg");
    assert!(replay(good, &["--svg", inside.to_str().unwrap()]).contains("inside the snapshot folder"));
    assert!(!inside.exists());
    // --svg over a checkpoint that is not an input.
    let other = d.join("other.svg");
    std::fs::copy(&snap, &other).unwrap();
    let err = replay(good, &["--svg", other.to_str().unwrap()]);
    assert!(err.contains("other.svg: looks like a model checkpoint"), "{err}");
    assert_eq!(std::fs::read(&other).unwrap(), snap_bytes);
    std::fs::remove_file(&other).unwrap();
    // train's options.
    let out = d.join("t.safetensors");
    let train = |extra: &[&str]| one_line_error(&run_s(&train_args(&f.data, &out, extra)));
    assert!(train(&["--snapshot-every", "0"]).contains("--snapshot-every must be from 1"));
    assert!(train(&["--snapshot-every", "-1"]).contains("--snapshot-every must be from 1"));
    let err = train(&["--snapshot-every", "41"]);
    assert!(err.contains("--snapshot-every 41") && err.contains("40 steps"), "{err}");
    assert!(train(&["--snapshot-dtype", "f16"]).contains("needs --snapshot-every"));
    assert!(train(&["--snapshot-dtype", "bf16", "--snapshot-every", "5"]).contains("--snapshot-dtype"));
    std::fs::write(d.join("t.snapshots"), "a file in the way").unwrap();
    assert!(train(&["--snapshot-every", "5"]).contains("t.snapshots: not a folder"));
    assert!(!out.exists(), "no run started");
    assert_eq!(
        entries(d),
        ["arch", "empty", "foreign", "sizes", "t.snapshots", "vocab"],
        "no output, no temporary file left"
    );
}

#[test]
fn the_text_shows_a_table_and_sparklines_per_feature_and_the_svg_is_written_whole() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("r.svg");
    let (snaps, data) = (f.snapshots.to_str().unwrap(), f.data.to_str().unwrap());
    let base = ["replay", snaps, "--data", data, "--feature", "line_position,in_quotes", "--chars", "2000"];
    let out = ok(&[&base[..], &["--svg", svg.to_str().unwrap()]].concat());
    let text = String::from_utf8(out.stdout).unwrap();
    let j = json(&ok(&[&base[..], &["--json"]].concat()));
    let features = j["features"].as_array().unwrap();
    assert_eq!(
        features.iter().map(|f| f["name"].as_str().unwrap()).collect::<Vec<_>>(),
        ["line_position", "in_quotes"]
    );
    for feat in features {
        let name = feat["name"].as_str().unwrap();
        let (unit, state) = (feat["final"]["unit"].as_str().unwrap(), feat["final"]["state"].as_str().unwrap());
        assert!(text.contains(&format!("{name}  (final best: {unit} {state})")), "{text}");
        let points = feat["snapshots"].as_array().unwrap();
        let r = |p: &Value, key: &str| p[key].as_f64().or_else(|| p[key]["r"].as_f64());
        let best = gatescope::replay::report::sparkline(points.iter().map(|p| r(p, "best")));
        let fin = gatescope::replay::report::sparkline(points.iter().map(|p| r(p, "final_r")));
        assert!(text.contains(&format!("|best r|   {best}\n")), "{text}");
        assert!(text.contains(&format!("|final r|  {fin}\n")), "{text}");
        assert_eq!(best.chars().count(), 5);
        for p in points {
            let row = format!("{:>4}  {:>9.4}", p["step"], p["nats_per_char"].as_f64().unwrap());
            assert!(text.contains(&row), "{row:?} in {text}");
        }
    }
    let svg_text = std::fs::read_to_string(&svg).unwrap();
    assert!(svg_text.starts_with("<?xml") && svg_text.trim_end().ends_with("</svg>"));
    assert!(svg_text.contains("<g id=\"line_position\">") && svg_text.contains("<g id=\"in_quotes\">"));
    assert!(svg_text.contains("step (log scale)") && svg_text.contains("nats/char"));
    assert_eq!(entries(dir.path()), ["r.svg"], "no temporary file left");
}

/// Snapshots are written as every checkpoint is (a temporary file, then a
/// rename), so a kill at any moment leaves whole snapshots only: the kill
/// loop of `train::robustness`, with a snapshot every step.
#[test]
fn killed_at_random_moments_every_snapshot_loads_and_the_folder_replays() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d.txt");
    std::fs::write(&data, "all the world's a stage, and all the men and women merely players. ".repeat(30)).unwrap();
    let out = dir.path().join("m.safetensors");
    let last = dir.path().join("m.last.safetensors");
    let snaps = dir.path().join("m.snapshots");
    let iterations = 12;
    let mut unfinished = 0;
    let mut loaded = std::collections::HashSet::new();
    for i in 0..iterations {
        // A 1×192 model: each snapshot is about 0.6 MB, written and synced every step.
        let sizes = ["--hidden", "192", "--embed", "8", "--batch", "2", "--steps", "100000", "--eval-every", "1000"];
        let mut args =
            tiny_train(&data, &out, &[&sizes[..], &["--checkpoint-every", "1", "--snapshot-every", "1"]].concat());
        if last.exists() {
            args.extend(["--resume".to_string(), last.to_str().unwrap().to_string()]);
        } else if snaps.exists() {
            // Killed after its first snapshot and before its first checkpoint:
            // nothing to resume, and a new run refuses the old run's folder.
            std::fs::remove_dir_all(&snaps).unwrap();
            loaded.clear();
        }
        let delay = Duration::from_millis(30 + (i * 37 % 11) * 30);
        if !kill_during_training(&args, &dir.path().join("m.last.optim.safetensors"), delay) {
            continue;
        }
        if !snaps.exists() {
            continue;
        }
        for name in entries(&snaps) {
            let p = snaps.join(&name);
            if name.starts_with(".gatescope-") && name.ends_with(".tmp") {
                unfinished += 1; // a write the kill cut short, under a name no reader takes for a snapshot
                continue;
            }
            assert!(name.starts_with("step-") && name.ends_with(".safetensors"), "iteration {i}: {name}");
            // Each snapshot is loaded after the kill that followed its write;
            // the replay at the end reads them all again.
            if !loaded.insert(name.clone()) {
                continue;
            }
            if let Err(e) = load_checkpoint(&p) {
                panic!("iteration {i}: {} does not load after SIGKILL: {e}", p.display());
            }
        }
    }
    let listed = list_snapshots(&snaps).expect("the folder lists after the kills");
    // The next run of the folder removes what the kills cut short.
    if last.exists() {
        let step: usize = load_checkpoint(&last).unwrap().metadata["steps"].parse().unwrap();
        let stop = (step + 1).to_string();
        let sizes = ["--hidden", "192", "--embed", "8", "--batch", "2", "--steps", "100000", "--snapshot-every", "1"];
        let resume = ["--resume", last.to_str().unwrap(), "--stop-at", &stop];
        let r = run(&tiny_train(&data, &out, &[&sizes[..], &resume].concat()));
        let log = String::from_utf8_lossy(&r.stderr);
        if r.status.success() {
            assert!(entries(&snaps).iter().all(|n| n.starts_with("step-")), "{:?}", entries(&snaps));
        } else {
            assert!(log.contains("the optimizer moments are of step"), "{log}");
        }
    }
    assert!(listed.len() >= 3, "only {} snapshots: the kills came too early to test anything", listed.len());
    let r = run(&["replay", snaps.to_str().unwrap(), "--data", data.to_str().unwrap(), "--chars", "200", "--json"]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    eprintln!("{} snapshots, {unfinished} cut-short temporary files seen over {iterations} kills", listed.len());
}

/// A progress bar over the snapshots on a terminal (run under `script`, which
/// gives it one and logs what it drew), and none when stderr is a pipe.
#[test]
fn a_terminal_gets_a_progress_bar_over_the_snapshots_and_a_pipe_none() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("tty.log");
    let cmd = format!(
        "'{}' replay '{}' --data '{}' --chars 500 --feature indent > /dev/null",
        env!("CARGO_BIN_EXE_gatescope"),
        f.snapshots.display(),
        f.data.display()
    );
    let out = Command::new("script").args(["-qec", &cmd, log.to_str().unwrap()]).output().expect("script runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let drawn = String::from_utf8_lossy(&std::fs::read(&log).unwrap()).into_owned();
    assert!(drawn.contains("0/5 snapshots") && drawn.contains("5/5 snapshots"), "{drawn}");
    let piped = ok(&["replay", f.snapshots.to_str().unwrap(), "--data", f.data.to_str().unwrap(), "--chars", "500"]);
    assert!(piped.stderr.is_empty(), "{}", String::from_utf8_lossy(&piped.stderr));
}

/// `load_into`, the call a reader of many snapshots makes: the values land
/// in the model's own tensors (same memory, seen through every clone), and a
/// snapshot of another shape or vocabulary is refused by name.
#[test]
fn loading_a_snapshot_copies_into_the_models_own_tensors() {
    use gatescope::model::snapshot::load_into;
    let f = fixture();
    let files = snapshot_files(&f.snapshots);
    let ck = load_checkpoint(&files[0]).unwrap();
    let clone = ck.model.clone();
    let before: Vec<usize> = ck.model.named_tensors().iter().map(|(_, t)| t.data_ptr() as usize).collect();
    let meta = load_into(&ck.model, &files[4]).unwrap();
    assert_eq!(meta["step"], "40");
    let want = load_checkpoint(&files[4]).unwrap();
    for ((n, got), (_, w)) in clone.named_tensors().iter().zip(want.model.named_tensors()) {
        assert!(got.equal(w), "{n}: the clone sees the loaded values");
    }
    let after: Vec<usize> = ck.model.named_tensors().iter().map(|(_, t)| t.data_ptr() as usize).collect();
    assert_eq!(before, after, "the same memory");
    let dir = tempfile::tempdir().unwrap();
    let other = tiny_checkpoint(dir.path(), "other.safetensors", &feature_text(), 8, 12, 2);
    let err = load_into(&ck.model, &other).unwrap_err().to_string();
    assert!(err.contains("other.safetensors") && err.contains("shape"), "{err}");
    let vocab = tiny_checkpoint(dir.path(), "vocab.safetensors", "abc", 8, 16, 2);
    let err = load_into(&ck.model, &vocab).unwrap_err().to_string();
    assert!(err.contains("vocab.safetensors") && err.contains("vocabulary"), "{err}");
}
