//! The shipped models' figures in docs/models.md are what `gatescope eval` and the
//! PyTorch reference measure on it. Slow (two full passes of a 2x512 model
//! over the 111,540 validation characters, in Rust and in Python; minutes on
//! a busy 2-core machine), so it is ignored by `make test` and run by
//! `make test-slow`.

use crate::common::{assert_close, reference, run};

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

/// The code model's figures in docs/models.md: its validation loss on the held-out end
/// of data/python-stdlib.txt (gatescope and PyTorch agree on the f16 file),
/// and its catalogue over code it never saw (the start of the pinned torch
/// wheel's nn/modules/rnn.py) equals the one stored in the file, with the
/// units docs/models.md names.
#[test]
#[ignore = "slow: run with make test-slow"]
fn the_code_models_readme_figures_are_measured() {
    let root = env!("CARGO_MANIFEST_DIR");
    let data = format!("{root}/data/python-stdlib.txt");
    let shipped = format!("{root}/assets/python.safetensors");
    let ((windowed, _), (their_w, _)) = losses(Some("python"), &shipped, &data);
    assert_close(windowed, their_w, 1e-4, "windowed loss against PyTorch's");
    let readme = std::fs::read_to_string(format!("{root}/docs/models.md")).unwrap();
    assert!(readme.contains(&format!("{windowed:.4} nats/char")), "docs/models.md states {windowed:.4}");

    let held_out = format!("{root}/.venv/lib/python3.11/site-packages/torch/nn/modules/rnn.py");
    let out = run(&["cells", "-c", "python", "--data", &held_out, "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let fresh: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let info = String::from_utf8(run(&["info", "python"]).stdout).unwrap();
    let stored = info.lines().find_map(|l| l.strip_prefix("meta        cells = ")).expect("a stored catalogue");
    let stored: serde_json::Value = serde_json::from_str(stored).unwrap();
    assert_eq!(stored["measured_on"]["file"], "rnn.py");
    let (fresh, stored) = (fresh["features"].as_array().unwrap(), stored["features"].as_array().unwrap());
    // The stored catalogue may predate the last features added to the list;
    // every feature it holds is measured again, in the same order.
    assert!(!stored.is_empty() && fresh.len() >= stored.len(), "the stored features are measured again");
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
