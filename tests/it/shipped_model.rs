//! The shipped models' figures in docs/models.md are what `gatescope eval` and the
//! PyTorch reference measure on it. Slow (two full passes of a 2x512 model
//! over the 111,540 validation characters, in Rust and in Python; minutes on
//! a busy 2-core machine), so it is ignored by `make test` and run by
//! `make test-slow`.

use crate::common::{assert_close, reference, run, venv_python};

/// (windowed-256, stateful) validation losses of a built-in model (None: the
/// default) by `gatescope eval`, and of its file by the PyTorch reference.
fn losses(builtin: Option<&str>, file: &str, data: &str) -> ((f64, f64), (f64, f64)) {
    let mut args = vec!["eval", "--data", data];
    args.extend(builtin.map(|name| ["-c", name]).into_iter().flatten());
    let out = run(&args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let ours = String::from_utf8(out.stdout).unwrap();
    let field = |key: &str| -> f64 {
        ours.split_whitespace().find_map(|kv| kv.strip_prefix(&format!("{key}="))).unwrap().parse().unwrap()
    };
    let theirs: serde_json::Value =
        serde_json::from_str(reference(&["eval", "--checkpoint", file, "--data", data]).trim()).unwrap();
    let theirs_f = |key: &str| theirs[key].as_f64().unwrap();
    ((field("windowed256_loss"), field("stateful_loss")), (theirs_f("windowed_loss"), theirs_f("stateful_loss")))
}

#[test]
#[ignore = "slow: run with make test-slow"]
fn the_readme_losses_are_measured_by_gatescope_and_by_pytorch() {
    let root = env!("CARGO_MANIFEST_DIR");
    let data = format!("{root}/data/tinyshakespeare.txt");
    let shipped = format!("{root}/assets/default.safetensors");
    let ((windowed, stateful), (their_w, their_s)) = losses(None, &shipped, &data);
    assert_close(windowed, their_w, 1e-4, "windowed loss against PyTorch's");
    assert_close(stateful, their_s, 1e-4, "stateful loss against PyTorch's");
    let readme = std::fs::read_to_string(format!("{root}/docs/models.md")).unwrap();
    for figure in [format!("{windowed:.4} nats/char"), format!("{stateful:.4} nats/char")] {
        assert!(readme.contains(&figure), "docs/models.md states {figure}");
    }
}

/// The code model's figures in docs/models.md, on code it never saw.
/// `tools/held_out.py` on the shipped file gives, per feature, the best |r|
/// on each of eight modules of the pinned torch wheel, their mean and range,
/// and the unit that is the best (or within 0.02 of it) on the most files;
/// and the loss on each file, which PyTorch's reference measures the same.
/// docs/models.md's table states every figure, and the README's summary its
/// last three rows. The validation loss `train` stored in the file is the one
/// docs/models.md states. Then the catalogue stored in the file, with its
/// pins, is the one `cells` measures again over the same eight files
/// pooled, with the units docs/models.md names.
#[test]
#[ignore = "slow: run with make test-slow"]
fn the_code_models_readme_figures_are_measured() {
    let root = env!("CARGO_MANIFEST_DIR");
    let shipped = format!("{root}/assets/python.safetensors");
    let readme = std::fs::read_to_string(format!("{root}/docs/models.md")).unwrap();
    let out = std::process::Command::new(venv_python())
        .args([&format!("{root}/tools/held_out.py"), &shipped, "--json"])
        .env("GATESCOPE", env!("CARGO_BIN_EXE_gatescope"))
        .output()
        .unwrap();
    assert!(out.status.success(), "tools/held_out.py: {}", String::from_utf8_lossy(&out.stderr));
    let table: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let table = &table[&shipped];
    // Each cell of the table is "this model / the model before"; the first
    // figure is the one measured here.
    let front = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let row_in = |doc: &str, label: &str| -> Vec<String> {
        let line = doc.lines().find(|l| l.starts_with(&format!("| {label} |")));
        let line = line.unwrap_or_else(|| panic!("the held-out table has a row {label}"));
        let cells = line.trim_matches('|').split(" | ").skip(1);
        cells.map(|c| c.split(" / ").next().unwrap().replace("**", "").trim().to_string()).collect()
    };
    let row = |label: &str| row_in(&readme, label);
    let features = ["bracket_depth", "indent", "in_string", "in_comment"];
    let figure = |feature: &str, key: &str| table["features"][feature][key].as_f64().unwrap();
    let files: Vec<&str> = table["files"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
    assert_eq!(files.len(), 8, "eight held-out modules");
    let losses = table["losses"].as_array().unwrap();
    for (i, name) in files.iter().enumerate() {
        let mut measured: Vec<String> =
            features.iter().map(|f| format!("{:.3}", table["features"][f]["best"][i].as_f64().unwrap())).collect();
        measured.push(format!("{:.4}", losses[i].as_f64().unwrap()));
        assert_eq!(row(&format!("`{name}`")), measured, "docs/models.md's held-out row for {name}");
    }
    let mut means: Vec<String> = features.iter().map(|f| format!("{:.3}", figure(f, "mean"))).collect();
    means.push(format!("{:.4}", table["loss"].as_f64().unwrap()));
    assert_eq!(row("mean of the eight"), means, "docs/models.md's held-out means");
    let lowest: Vec<String> = features.iter().map(|f| format!("{:.3}", figure(f, "min"))).collect();
    assert_eq!(row("lowest of the eight")[..4], lowest, "docs/models.md's lowest held-out figures");
    let steady: Vec<String> = features
        .iter()
        .map(|f| {
            let s = &table["features"][f];
            let (unit, state) = s["steady"].as_str().unwrap().rsplit_once(':').unwrap();
            format!("`{unit}` {state}, {} of {}", s["steady_files"], files.len())
        })
        .collect();
    assert_eq!(row("steadiest unit")[..4], steady, "docs/models.md's steadiest units");
    // The README's summary repeats those three rows.
    for label in ["mean of the eight", "lowest of the eight", "steadiest unit"] {
        assert_eq!(row_in(&front, label), row(label), "README.md's held-out row {label}");
    }
    let dir = tempfile::tempdir().unwrap();
    for (name, ours) in files.iter().zip(losses) {
        let text = std::fs::read_to_string(format!("{root}/.venv/lib/python3.11/site-packages/torch/{name}")).unwrap();
        let head = dir.path().join("head.py");
        std::fs::write(&head, text.chars().take(20_000).collect::<String>()).unwrap();
        let theirs: serde_json::Value = serde_json::from_str(
            reference(&["score", "--checkpoint", &shipped, "--data", head.to_str().unwrap()]).trim(),
        )
        .unwrap();
        assert_close(ours, &theirs["nats_per_char"], 1e-4, &format!("{name}: the loss against PyTorch's"));
    }

    let paths: Vec<String> =
        files.iter().map(|name| format!("{root}/.venv/lib/python3.11/site-packages/torch/{name}")).collect();
    let mut args = vec!["cells", "-c", "python", "--json", "--data"];
    args.extend(paths.iter().map(String::as_str));
    let out = run(&args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let fresh: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let info = String::from_utf8(run(&["info", "python"]).stdout).unwrap();
    // The run's validation loss, as `train` measured it on the f32 weights
    // and stored it (its text, the end of data/python-varied.txt, is not
    // committed).
    let val_loss = info.lines().find_map(|l| l.strip_prefix("meta        val_loss = ")).expect("a validation loss");
    let val_loss: f64 = val_loss.parse().unwrap();
    assert!(readme.contains(&format!("validation {val_loss:.4} nats/char")), "docs/models.md states {val_loss:.4}");
    let stored = info.lines().find_map(|l| l.strip_prefix("meta        cells = ")).expect("a stored catalogue");
    let stored: serde_json::Value = serde_json::from_str(stored).unwrap();
    let base = |name: &&str| name.rsplit('/').next().unwrap().to_string();
    assert_eq!(stored["measured_on"]["file"], base(&files[0]));
    let also: Vec<serde_json::Value> =
        files[1..].iter().map(|f| serde_json::json!({"file": base(f), "chars": 20_000})).collect();
    assert_eq!(stored["measured_on"]["also"], serde_json::Value::Array(also), "the other seven files");
    assert_eq!(stored["measured_on"]["chars"], 20_000);
    assert_eq!(stored["pin"], serde_json::json!(["bracket_depth", "indent", "in_string"]), "the stored pins");
    let (fresh, stored) = (fresh["features"].as_array().unwrap(), stored["features"].as_array().unwrap());
    assert_eq!(fresh.len(), stored.len(), "the stored catalogue has every feature");
    for (f, s) in fresh.iter().zip(stored) {
        assert_eq!(f["name"], s["name"]);
        let (fu, su) = (f["units"].as_array().unwrap(), s["units"].as_array().unwrap());
        assert_eq!(fu.len(), su.len(), "{}: as many units", f["name"]);
        for (a, b) in fu.iter().zip(su) {
            assert_eq!((&a["unit"], &a["state"]), (&b["unit"], &b["state"]), "{}", f["name"]);
            assert_close(&a["r"], &b["r"], 1e-6, &format!("{} {}: r", f["name"], a["unit"]));
        }
        if let Some(best) = f["units"].as_array().unwrap().first() {
            let (unit, r) = (best["unit"].as_str().unwrap(), best["r"].as_f64().unwrap());
            let line =
                format!("{:<14} {unit:<8} {} {:+.3}", f["name"].as_str().unwrap(), best["state"].as_str().unwrap(), r);
            assert!(readme.contains(&line), "docs/models.md's catalogue has {line:?}");
        }
    }
}
