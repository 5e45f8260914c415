//! `gatescope generate`, `info` and `eval` as a user runs them.

mod common;

use common::{one_line_error, run, tiny_checkpoint, venv_python};
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
    let ck = tiny_checkpoint(dir.path(), "m.safetensors", TEXT, 8, 24, 2);
    let ours =
        stdout(&run(&["generate", "-c", ck.to_str().unwrap(), "-p", "First", "-l", "200", "--temperature", "0"]));
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/bench/pytorch_ref.py");
    if !std::path::Path::new(script).exists() {
        eprintln!("skipping: {script} not found");
        return;
    }
    let theirs = Command::new(venv_python())
        .args([script, "greedy", "--checkpoint", ck.to_str().unwrap(), "--prompt", "First", "--length", "200"])
        .output()
        .unwrap();
    let theirs = String::from_utf8(theirs.stdout).unwrap();
    assert_eq!(ours, format!("First{}", theirs.trim_end_matches('\n')));
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
            assert!(l["c_norm"].as_f64().unwrap() >= 0.0 && l["h_norm"].as_f64().unwrap() >= 0.0);
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
    common::mkfifo(&fifo);
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

#[test]
fn eval_matches_the_pytorch_reference() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d.txt");
    let text: String = TEXT.repeat(40);
    std::fs::write(&data, &text).unwrap();
    let ck = tiny_checkpoint(dir.path(), "m.safetensors", TEXT, 8, 16, 2);
    let ours = stdout(&run(&["eval", "-c", ck.to_str().unwrap(), "--data", data.to_str().unwrap(), "--window", "64"]));
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/bench/pytorch_ref.py");
    if !std::path::Path::new(script).exists() {
        eprintln!("skipping: {script} not found");
        return;
    }
    let theirs = Command::new(venv_python())
        .args([
            script,
            "eval",
            "--checkpoint",
            ck.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
            "--window",
            "64",
        ])
        .output()
        .unwrap();
    let theirs = String::from_utf8(theirs.stdout).unwrap();
    let field = |s: &str, key: &str| -> f64 {
        s.split_whitespace().find_map(|kv| kv.strip_prefix(&format!("{key}="))).unwrap().parse().unwrap()
    };
    for key in ["windowed64_loss", "stateful_loss"] {
        let (a, b) = (field(&ours, key), field(&theirs, key));
        assert!((a - b).abs() < 2e-4, "{key}: ours {a}, PyTorch {b}");
    }
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
