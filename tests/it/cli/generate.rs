//! `gatescope generate`, `info` and `eval` as a user runs them.

use crate::common::{assert_close, one_line_error, reference, reference_model, run, tiny_checkpoint};
use std::process::Command;

const TEXT: &str = "First Citizen:\nBefore we proceed any further, hear me speak.\n";

fn stdout(out: &std::process::Output) -> String {
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn writes_prompt_then_exactly_n_characters_and_same_seed_same_text() {
    let dir = tempfile::tempdir().unwrap();
    let ck = tiny_checkpoint(dir.path(), "m.safetensors", TEXT, 8, 16, 2);
    let ck = ck.to_str().unwrap();
    let gen =
        |seed: &str| stdout(&run(&["generate", "-c", ck, "-p", "Before", "-l", "80", "-t", "1.0", "--seed", seed]));
    let a = gen("3");
    assert!(a.starts_with("Before"));
    assert_eq!(a.chars().count(), "Before".len() + 80);
    assert_eq!(a, gen("3"), "same seed, same text");
    assert_ne!(a, gen("4"), "another seed, other text");
}

#[test]
fn greedy_matches_pytorch_greedy() {
    let dir = tempfile::tempdir().unwrap();
    let ck = reference_model(dir.path(), "m.safetensors", TEXT, 8, 24, 2, 3.0);
    let ours =
        stdout(&run(&["generate", "-c", ck.to_str().unwrap(), "-p", "First", "-l", "200", "--temperature", "0"]));
    let theirs = reference(&["greedy", "--checkpoint", ck.to_str().unwrap(), "--prompt", "First", "--length", "200"]);
    assert_eq!(ours, format!("First{theirs}"));
}

/// Every value of the trace (gates, c, h, norms, top-5) equals what the
/// PyTorch reference computes for the same greedy run.
#[test]
fn trace_values_match_the_pytorch_reference() {
    let dir = tempfile::tempdir().unwrap();
    let ck = reference_model(dir.path(), "m.safetensors", TEXT, 8, 16, 3, 3.0);
    let trace = dir.path().join("t.jsonl");
    let ck = ck.to_str().unwrap();
    stdout(&run(&["generate", "-c", ck, "-p", "hear me", "-l", "25", "-t", "0", "--trace", trace.to_str().unwrap()]));
    let ours: Vec<serde_json::Value> =
        std::fs::read_to_string(&trace).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let theirs: Vec<serde_json::Value> =
        reference(&["trace", "--checkpoint", ck, "--prompt", "hear me", "--length", "25"])
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
    assert_eq!(ours.len(), 7 + 25);
    assert_eq!(ours.len(), theirs.len());
    for (t, (o, r)) in ours.iter().zip(&theirs).enumerate() {
        assert_eq!((&o["t"], &o["char"], &o["prompt"]), (&r["t"], &r["char"], &r["prompt"]), "step {t}");
        for (k, (lo, lr)) in o["layers"].as_array().unwrap().iter().zip(r["layers"].as_array().unwrap()).enumerate() {
            for key in ["i", "f", "g", "o", "c", "h"] {
                let (a, b) = (lo[key].as_array().unwrap(), lr[key].as_array().unwrap());
                assert_eq!(a.len(), 16, "t={t} l{k} {key}");
                assert_close(a, b, 1e-5, &format!("t={t} l{k} {key}"));
            }
            assert_close(&lo["c_norm"], &lr["c_norm"], 1e-5, &format!("t={t} l{k} c_norm"));
            assert_close(&lo["h_norm"], &lr["h_norm"], 1e-5, &format!("t={t} l{k} h_norm"));
        }
        let (to, tr) = (o["top"].as_array().unwrap(), r["top"].as_array().unwrap());
        assert_eq!(to.len(), 5);
        for (a, b) in to.iter().zip(tr) {
            assert_eq!(a[0], b[0], "t={t} top-5 characters");
            assert_close(&a[1], &b[1], 1e-5, &format!("t={t} top-5 probability"));
        }
    }
}

#[test]
fn trace_has_one_object_per_consumed_character() {
    let dir = tempfile::tempdir().unwrap();
    let ck = tiny_checkpoint(dir.path(), "m.safetensors", TEXT, 8, 16, 3);
    let trace = dir.path().join("t.jsonl");
    let out =
        run(&["generate", "-c", ck.to_str().unwrap(), "-p", "hear me", "-l", "25", "--trace", trace.to_str().unwrap()]);
    let text = stdout(&out);
    let lines: Vec<serde_json::Value> =
        std::fs::read_to_string(&trace).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 7 + 25);
    for (t, (line, ch)) in lines.iter().zip(text.chars()).enumerate() {
        assert_eq!(line["t"], t);
        assert_eq!(line["char"], ch.to_string());
        assert_eq!(line["prompt"], t < 7);
        let layers = line["layers"].as_array().unwrap();
        assert_eq!(layers.len(), 3);
        for l in layers {
            for g in ["i", "f", "g", "o"] {
                assert_eq!(l[g].as_array().unwrap().len(), 16, "gate {g}");
            }
        }
        let top = line["top"].as_array().unwrap();
        assert_eq!(top.len(), 5);
        let probs: Vec<f64> = top.iter().map(|p| p[1].as_f64().unwrap()).collect();
        assert!(probs.windows(2).all(|w| w[0] >= w[1]), "likeliest first: {probs:?}");
    }
}

#[test]
fn unknown_prompt_characters_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let ck = tiny_checkpoint(dir.path(), "m.safetensors", TEXT, 8, 16, 1);
    let err = one_line_error(&run(&["generate", "-c", ck.to_str().unwrap(), "-p", "Before ☃ Q"]));
    assert!(err.contains("'☃' (U+2603)") && err.contains("'Q'"), "{err}");
}

#[test]
fn bad_trace_destinations_are_refused_before_work() {
    let dir = tempfile::tempdir().unwrap();
    let ck = tiny_checkpoint(dir.path(), "m.safetensors", TEXT, 8, 16, 1);
    let fifo = dir.path().join("fifo.jsonl");
    crate::common::mkfifo(&fifo);
    for (dest, needle) in [
        (fifo.to_str().unwrap(), "not a regular file"),
        ("/dev/full", "not a regular file"),
        (dir.path().join("missing/t.jsonl").to_str().unwrap(), "does not exist"),
        (dir.path().to_str().unwrap(), "is a directory"),
    ] {
        let out = run(&["generate", "-c", ck.to_str().unwrap(), "-p", "Before", "--trace", dest]);
        let err = one_line_error(&out);
        assert!(err.contains(needle), "{dest}: {err}");
        assert!(out.stdout.is_empty(), "nothing generated when the trace cannot be written");
    }
}

/// Both losses equal the reference's on a model with real structure (trained
/// by the reference for 150 steps, so the loss is far from ln V and the state
/// matters). The validation text, the last 2,100 of 21,000 characters of
/// Shakespeare, is long enough for both passes' batching: the stateful pass
/// reads it in three chunks (1,000, 1,000 and 99 predictions) carrying the
/// state across, and the windowed pass with 16-character windows makes three
/// batches (64, 64 and 3 windows) and a tail. The same comparison against a
/// wrong window, no recurrent state (window 1) or another validation fraction
/// is far outside the tolerance, so those bugs would fail.
#[test]
fn eval_matches_the_pytorch_reference() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d.txt");
    let shakespeare =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/data/tinyshakespeare.txt")).unwrap();
    let text: String = shakespeare.chars().take(21_000).collect();
    std::fs::write(&data, &text).unwrap();
    let ck = dir.path().join("m.safetensors");
    let (ck, data) = (ck.to_str().unwrap(), data.to_str().unwrap());
    let tiny = ["--layers", "2", "--hidden", "16", "--embed", "8", "--seq", "32", "--batch", "16", "--lr", "1e-2"];
    reference(&[&["train", "--data", data, "--steps", "150", "--threads", "1", "--out", ck][..], &tiny].concat());
    let ours = |window: &str, val_frac: &str| {
        let out = stdout(&run(&["eval", "-c", ck, "--data", data, "--window", window, "--val-frac", val_frac]));
        let field = |key: &str| -> f64 {
            out.split_whitespace().find_map(|kv| kv.strip_prefix(&format!("{key}="))).unwrap().parse().unwrap()
        };
        (field(&format!("windowed{window}_loss")), field("stateful_loss"))
    };
    let theirs = |window: &str, val_frac: &str| {
        let out = reference(&["eval", "--checkpoint", ck, "--data", data, "--window", window, "--val-frac", val_frac]);
        let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        if val_frac == "0.1" {
            assert_eq!(v["val_chars"].as_u64(), Some(2_100), "the validation split's length: {v}");
        }
        (v["windowed_loss"].as_f64().unwrap(), v["stateful_loss"].as_f64().unwrap())
    };
    const TOL: f64 = 2e-4;
    let (ow, os) = ours("16", "0.1");
    let (rw, rs) = theirs("16", "0.1");
    assert_close(ow, rw, TOL, "windowed loss (16) against PyTorch's");
    assert_close(os, rs, TOL, "stateful loss against PyTorch's");
    let uniform = (text.chars().collect::<std::collections::BTreeSet<_>>().len() as f64).ln();
    assert!((rw - uniform).abs() > 0.1, "the model has structure: loss {rw} vs ln V {uniform}");
    // Window 1000 is the stateful pass with its state dropped between chunks.
    let dropped = theirs("1000", "0.1");
    for (what, (w, _)) in [
        ("window 256", theirs("256", "0.1")),
        ("no state (window 1)", theirs("1", "0.1")),
        ("the stateful pass's state dropped between its chunks (window 1000)", dropped),
    ] {
        assert!((w - ow).abs() > 10.0 * TOL, "{what} would pass unnoticed: {w} vs {ow}");
    }
    let (w, s) = theirs("16", "0.2");
    assert!((w - ow).abs() > 10.0 * TOL && (s - os).abs() > 10.0 * TOL, "another --val-frac: {w}, {s} vs {ow}, {os}");
}

#[test]
fn info_describes_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let ck = tiny_checkpoint(dir.path(), "m.safetensors", TEXT, 0, 16, 2);
    let out = stdout(&run(&["info", ck.to_str().unwrap()]));
    assert!(out.contains("2 LSTM layers x 16 hidden units"), "{out}");
    assert!(out.contains("one-hot over"), "{out}");
    assert!(out.contains("'\\n'"), "newline escaped: {out}");
}

#[test]
fn a_trace_that_fills_the_disk_fails_cleanly_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let ck = tiny_checkpoint(dir.path(), "m.safetensors", TEXT, 8, 16, 2);
    let trace = dir.path().join("t.jsonl");
    // 64 KiB file-size limit with SIGXFSZ ignored: the write fails with EFBIG.
    let out = Command::new("bash")
        .arg("-c")
        .arg("ulimit -f 64; trap '' XFSZ; exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_gatescope"))
        .args([
            "generate",
            "-c",
            ck.to_str().unwrap(),
            "-p",
            "Before",
            "-l",
            "5000",
            "--trace",
            trace.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let err = one_line_error(&out);
    assert!(err.contains("t.jsonl: write failed"), "{err}");
    assert!(!trace.exists(), "no partial trace");
    let leftovers = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().ends_with(".tmp"))
        .count();
    assert_eq!(leftovers, 0, "temporary file removed");
}

/// On a terminal the continuation ends with a newline; into a pipe, the output
/// is exactly prompt + continuation.
#[test]
fn a_final_newline_only_on_a_terminal() {
    use portable_pty::{native_pty_system, CommandBuilder, PtySize};
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let ck = tiny_checkpoint(dir.path(), "m.safetensors", TEXT, 8, 16, 1);
    let args = ["generate", "-c", ck.to_str().unwrap(), "-p", "hear", "-l", "12", "--seed", "1"];
    let piped = stdout(&run(&args));
    assert_eq!(piped.chars().count(), 4 + 12, "no newline into a pipe: {piped:?}");

    let pair = native_pty_system().openpty(PtySize { rows: 24, cols: 200, pixel_width: 0, pixel_height: 0 }).unwrap();
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_gatescope"));
    cmd.args(args);
    let mut child = pair.slave.spawn_command(cmd).unwrap();
    drop(pair.slave);
    let mut reader = pair.master.try_clone_reader().unwrap();
    let reading = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = reader.read_to_end(&mut out); // ends with EIO once the child has exited
        out
    });
    assert!(child.wait().unwrap().success());
    drop(pair.master);
    let on_terminal = String::from_utf8(reading.join().unwrap()).unwrap();
    // The terminal turns "\n" into "\r\n"; the text itself is the piped text.
    assert_eq!(on_terminal.replace("\r\n", "\n"), format!("{piped}\n"), "one closing newline on a terminal");
}

#[test]
fn a_trace_in_a_read_only_folder_is_refused_before_work() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let ck = tiny_checkpoint(dir.path(), "m.safetensors", TEXT, 8, 16, 1);
    std::fs::set_permissions(&ck, std::fs::Permissions::from_mode(0o644)).unwrap();
    let trace = crate::common::read_only_folder(dir.path()).join("t.jsonl");
    let out = crate::common::run_unprivileged(&[
        "generate",
        "-c",
        ck.to_str().unwrap(),
        "-p",
        "hear",
        "--trace",
        trace.to_str().unwrap(),
    ]);
    let err = one_line_error(&out);
    assert!(err.contains("cannot write in folder"), "{err}");
    assert!(out.stdout.is_empty() && !trace.exists(), "nothing generated, nothing written");
}

/// `--trace t > t`: the shell has created t as stdout before gatescope runs;
/// writing the trace there would interleave it with the text. Refused in one
/// line, and the file the shell made stays empty.
#[test]
fn a_trace_to_the_file_stdout_goes_to_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ck = tiny_checkpoint(dir.path(), "m.safetensors", TEXT, 8, 16, 1);
    let t = dir.path().join("t.jsonl");
    let out = Command::new("bash")
        .arg("-c")
        .arg("exec \"$0\" generate -c \"$1\" -p Before -l 5 --trace \"$2\" > \"$2\"")
        .args([env!("CARGO_BIN_EXE_gatescope"), ck.to_str().unwrap(), t.to_str().unwrap()])
        .output()
        .unwrap();
    let err = one_line_error(&out);
    assert!(err.contains("--trace") && err.contains("stdout"), "{err}");
    assert_eq!(std::fs::metadata(&t).unwrap().len(), 0);
    // Another file is fine.
    let other = dir.path().join("o.txt");
    let out = Command::new("bash")
        .arg("-c")
        .arg("exec \"$0\" generate -c \"$1\" -p Before -l 5 --trace \"$2\" > \"$3\"")
        .args([env!("CARGO_BIN_EXE_gatescope"), ck.to_str().unwrap(), t.to_str().unwrap(), other.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read_to_string(&t).unwrap().lines().count(), 6 + 5);
}
