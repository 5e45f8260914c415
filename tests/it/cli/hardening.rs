//! What a hostile new user tries on the command line: each is one line and
//! exit 1 (or a quiet, documented end), with nothing overwritten
//! and nothing left behind.

use crate::common::{gatescope, last_line_error, one_line_error, run, temp_files, tiny_checkpoint, tiny_train};
use clap::Parser;
use gatescope::model::{load_checkpoint, save_checkpoint, CharLstm};
use gatescope::vocab::Vocab;
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TEXT: &str = "First Citizen:\nBefore we proceed any further, hear me speak.\n-abc\n";

/// A small training text.
fn corpus(dir: &Path) -> PathBuf {
    let data = dir.join("d.txt");
    std::fs::write(&data, "the cat sat on the mat. ".repeat(200)).unwrap();
    data
}

// Every number is range-checked, by name.
#[test]
fn bad_numbers_name_the_option_and_its_range() {
    let train = ["train", "--data", "d.txt", "--out", "m.safetensors"];
    let cases: &[(&[&str], &str)] = &[
        (&["--lr", "-1"], "--lr must be"),
        (&["--lr=NaN"], "--lr must be"),
        (&["--lr=inf"], "--lr must be"),
        (&["--lr", "0"], "--lr must be"),
        (&["--grad-clip", "-1"], "--grad-clip must be"),
        (&["--grad-clip=0"], "--grad-clip must be"),
        (&["--weight-decay=-1"], "--weight-decay must be"),
        (&["--weight-decay", "NaN"], "--weight-decay must be"),
        (&["--min-lr-frac", "1.5"], "--min-lr-frac must be"),
        (&["--min-lr-frac=NaN"], "--min-lr-frac must be"),
        (&["--threads", "0"], "--threads must be"),
        (&["--threads", "100000"], "--threads must be"),
        (&["--epochs", "0"], "--epochs must be"),
        (&["--steps", "0"], "--steps must be"),
        (&["--layers", "0"], "--layers must be"),
        (&["--hidden", "10000000"], "--hidden must be"),
        (&["--embed", "-3"], "--embed must be"),
        (&["--seq", "0"], "--seq must be"),
        (&["--batch", "0"], "--batch must be"),
        (&["--dropout", "1"], "--dropout must be"),
        (&["--weight-drop", "-0.1"], "--weight-drop must be"),
        (&["--input-dropout", "1"], "--input-dropout must be"),
        (&["--input-dropout=NaN"], "--input-dropout must be"),
        (&["--val-frac", "1"], "--val-frac must be"),
        (&["--warmup", "-1"], "--warmup must be"),
        (&["--eval-every", "-1"], "--eval-every must be"),
        (&["--seed", "-1"], "--seed must be"),
    ];
    // Parsed in process (as `main` parses), which is fast; the binary's exit
    // status and line format are checked below on a few of them.
    let message = |args: &[&str]| -> String {
        let argv = std::iter::once("gatescope").chain(args.iter().copied());
        match gatescope::cli::Cli::try_parse_from(argv) {
            Ok(_) => panic!("{args:?} was accepted"),
            Err(e) => gatescope::cli::one_line(&e),
        }
    };
    for (extra, needle) in cases {
        let args: Vec<&str> = train.iter().chain(extra.iter()).copied().collect();
        let err = message(&args);
        assert!(err.starts_with(needle) && !err.contains('\n'), "{extra:?}: {err}");
    }
    let gen: &[(&[&str], &str)] = &[
        (&["--length", "-5"], "--length must be"),
        (&["--temperature", "1e39"], "--temperature must be"),
        (&["--temperature", "-1"], "--temperature must be"),
        (&["--top-p", "0"], "--top-p must be"),
        (&["--top-k", "-2"], "--top-k must be"),
    ];
    for (extra, needle) in gen {
        let args: Vec<&str> = ["generate", "-p", "a"].iter().chain(extra.iter()).copied().collect();
        assert!(message(&args).starts_with(needle), "{extra:?}: {}", message(&args));
    }
    for args in [
        ["train", "--data", "d.txt", "--out", "m.safetensors", "--lr", "-1"].as_slice(),
        ["generate", "-p", "a", "--top-k", "1000"].as_slice(),
        ["generate", "-p", "a", "--length", "-5"].as_slice(),
    ] {
        let err = one_line_error(&run(args));
        assert!(err.starts_with("gatescope: --") && err.contains(" must be "), "{args:?}: {err}");
    }
    let err = one_line_error(&run(&["eval", "--data", "d.txt", "--window", "0"]));
    assert!(err.contains("--window must be from 1"), "{err}");
}

#[test]
fn every_numeric_option_states_its_range_in_help() {
    use clap::builder::ValueParser;
    use clap::CommandFactory;
    let numeric = |p: &ValueParser| {
        let t = p.type_id();
        [
            ValueParser::from(clap::value_parser!(u64)).type_id(),
            ValueParser::from(clap::value_parser!(usize)).type_id(),
            ValueParser::from(clap::value_parser!(f32)).type_id(),
            ValueParser::from(clap::value_parser!(f64)).type_id(),
            ValueParser::from(clap::value_parser!(u32)).type_id(),
            ValueParser::from(clap::value_parser!(i64)).type_id(),
        ]
        .contains(&t)
    };
    let mut checked = 0;
    for sub in gatescope::cli::Cli::command().get_subcommands() {
        for arg in sub.get_arguments() {
            if !numeric(arg.get_value_parser()) {
                continue;
            }
            checked += 1;
            let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
            assert!(help.contains("Range: "), "{} {}: help states no range: {help:?}", sub.get_name(), arg.get_id());
            assert!(arg.is_allow_negative_numbers_set(), "{} {}: -1 must reach the range check", sub.get_name(), arg);
        }
    }
    assert!(checked >= 25, "only {checked} numeric options found");
}

// A prompt may start with '-'.
#[test]
fn a_prompt_may_start_with_a_dash() {
    let dir = tempfile::tempdir().unwrap();
    let ck = tiny_checkpoint(dir.path(), "m.safetensors", TEXT, 4, 8, 1);
    for args in [["-p", "-abc"].as_slice(), ["-p=-abc"].as_slice(), ["--prompt", "-abc"].as_slice()] {
        let mut all = vec!["generate", "-c", ck.to_str().unwrap(), "-l", "3"];
        all.extend_from_slice(args);
        let out = run(&all);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).starts_with("-abc"), "{args:?}");
    }
}

// An output that is an input, however it is spelled, is refused and the input kept.
#[test]
fn an_output_that_is_an_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = corpus(d);
    let original = std::fs::read(&data).unwrap();
    std::os::unix::fs::symlink(&data, d.join("link.txt")).unwrap();
    std::fs::hard_link(&data, d.join("hard.txt")).unwrap();
    std::fs::create_dir(d.join("sub")).unwrap();
    let dotted = d.join("sub/../d.txt");
    for out in [data.clone(), d.join("./d.txt"), dotted, d.join("link.txt"), d.join("hard.txt")] {
        let err = one_line_error(&run(&tiny_train(&data, &out, &["--steps", "2"])));
        assert!(err.contains("is the same file as --data"), "{}: {err}", out.display());
        assert_eq!(std::fs::read(&data).unwrap(), original, "the text is untouched");
    }
    // The latest-state file beside --out counts too.
    let last_named = d.join("m.last.safetensors");
    std::fs::copy(&data, &last_named).unwrap();
    let err = one_line_error(&run(&tiny_train(&last_named, d.join("m.safetensors"), &["--steps", "2"])));
    assert!(err.contains("latest-state file") && err.contains("--data"), "{err}");

    let ck = tiny_checkpoint(d, "m.safetensors", TEXT, 4, 8, 1);
    let before = std::fs::read(&ck).unwrap();
    std::fs::hard_link(&ck, d.join("m2.safetensors")).unwrap();
    std::os::unix::fs::symlink(&ck, d.join("m3.safetensors")).unwrap();
    for trace in [ck.clone(), d.join("m2.safetensors"), d.join("m3.safetensors"), d.join("sub/../m.safetensors")] {
        let args =
            ["generate", "-c", ck.to_str().unwrap(), "-p", "hear", "-l", "5", "--trace", trace.to_str().unwrap()];
        let err = one_line_error(&run(&args));
        assert!(err.contains("--trace") && err.contains("same file as --checkpoint"), "{err}");
        assert_eq!(std::fs::read(&ck).unwrap(), before, "the checkpoint is untouched");
    }
    assert!(temp_files(d).is_empty());
}

/// A trace, page or picture is never written over a model checkpoint, whatever
/// the checkpoint is called; an ordinary file in the same place is replaced.
#[test]
fn a_report_is_never_written_over_a_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ck = tiny_checkpoint(d, "m.safetensors", TEXT, 4, 8, 1);
    let c = ck.to_str().unwrap();
    let trace = d.join("t.jsonl");
    let made = run(&["generate", "-c", c, "-p", "hear", "-l", "3", "--trace", trace.to_str().unwrap()]);
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let t = trace.to_str().unwrap();
    // Another checkpoint under a report's name, and a torch.save zip's first bytes.
    let other = d.join("other.html");
    std::fs::copy(&ck, &other).unwrap();
    let zip = d.join("zip.svg");
    std::fs::write(&zip, b"PK\x03\x04 the rest of a torch.save file").unwrap();
    for victim in [&other, &zip] {
        let v = victim.to_str().unwrap();
        let before = std::fs::read(victim).unwrap();
        let cases: [(&[&str], &str); 5] = [
            (&["generate", "-c", c, "-p", "hear", "-l", "3", "--trace", v], "--trace"),
            (&["explain", "-c", c, "--prompt", "hear", "--unit", "l0:1", "--html", v], "--html"),
            (&["attribute", "-c", c, "--prompt", "hear", "--html", v], "--html"),
            (&["export", t, "--unit", "l0:1", "--html", v], "--html"),
            (&["export", t, "--layer", "l0", "--gate", "o", "--svg", v], "--svg"),
        ];
        for (args, flag) in cases {
            let err = one_line_error(&run(args));
            assert!(err.contains(&format!("{flag} {v}: looks like a model checkpoint")), "{args:?}: {err}");
            assert_eq!(std::fs::read(victim).unwrap(), before, "{args:?}: the file is untouched");
        }
    }
    // A file that is not a checkpoint is an ordinary destination.
    let page = d.join("page.html");
    std::fs::write(&page, "an old page").unwrap();
    let out = run(&["export", t, "--unit", "l0:1", "--html", page.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(std::fs::read_to_string(&page).unwrap().starts_with("<!DOCTYPE html>"));
    assert!(temp_files(d).is_empty());
}

/// Start a long traced generation and wait until its temporary file is growing.
/// The caller signals and waits for the child it gets back.
#[allow(clippy::zombie_processes)]
fn start_long_trace(dir: &Path) -> std::process::Child {
    let ck = tiny_checkpoint(dir, "m.safetensors", TEXT, 4, 32, 2);
    let trace = dir.join("t.jsonl");
    let args =
        ["generate", "-c", ck.to_str().unwrap(), "-p", "hear", "-l", "1000000000", "--trace", trace.to_str().unwrap()];
    let mut child = gatescope().args(args).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let t0 = Instant::now();
    loop {
        let growing = std::fs::read_dir(dir).unwrap().any(|e| {
            let e = e.unwrap();
            e.file_name().to_string_lossy().ends_with(".tmp") && e.metadata().unwrap().len() > 100_000
        });
        if growing {
            return child;
        }
        if t0.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("the trace never started");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

// SIGINT, SIGTERM and SIGHUP during `generate --trace` remove the temporary file and exit 130 / 143 / 129.
#[test]
fn a_signal_during_a_trace_removes_its_temporary_file() {
    for (sig, code) in [(libc::SIGINT, 130), (libc::SIGTERM, 143), (libc::SIGHUP, 129)] {
        let dir = tempfile::tempdir().unwrap();
        let mut child = start_long_trace(dir.path());
        unsafe { libc::kill(child.id() as i32, sig) };
        let mut err = String::new();
        child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(code), "signal {sig}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains("was not written") && err.contains("interrupted by SIG"), "{err}");
        assert!(temp_files(dir.path()).is_empty(), "signal {sig}: temporary file left");
        assert!(!dir.path().join("t.jsonl").exists(), "no partial trace");
    }
}

/// A stdout whose reader has already gone: every write fails with EPIPE.
fn closed_stdout() -> Stdio {
    let mut fds = [0; 2];
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    unsafe { libc::close(fds[0]) };
    Stdio::from(unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fds[1]) })
}

// A closed pipe ends the run quietly with status 0.
#[test]
fn a_closed_pipe_ends_quietly() {
    let out = Command::new("bash")
        .arg("-c")
        .arg("\"$0\" generate -p ROMEO: -l 100000 | head -c 100 >/dev/null; echo \"${PIPESTATUS[0]}\"")
        .arg(env!("CARGO_BIN_EXE_gatescope"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0", "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "", "quiet");
    for args in [["generate", "-p", "ROMEO:", "-l", "100"].as_slice(), ["info"].as_slice()] {
        let out = gatescope().args(args).stdout(closed_stdout()).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "{args:?}: quiet");
    }
    // With a trace, the run stops, says so, and leaves no partial trace.
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("t.jsonl");
    let out = gatescope()
        .args(["generate", "-p", "ROMEO:", "-l", "100000", "--trace", trace.to_str().unwrap()])
        .stdout(closed_stdout())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("stdout was closed"));
    assert!(!trace.exists() && temp_files(dir.path()).is_empty());
}

// NaN weights give NaN next-character probabilities (null in JSON), not a flat distribution.
#[test]
fn nan_weights_give_nan_probabilities() {
    let dir = tempfile::tempdir().unwrap();
    let model = CharLstm::random(Vocab::from_text(TEXT).unwrap(), 4, 8, 1, 1);
    tch::no_grad(|| {
        let _ = model.head_b.shallow_clone().fill_(f64::NAN);
    });
    let ck = dir.path().join("nan.safetensors");
    save_checkpoint(&model, &Default::default(), &ck).unwrap();
    let trace = dir.path().join("t.jsonl");
    let out =
        run(&["generate", "-c", ck.to_str().unwrap(), "-p", "hear", "-l", "3", "--trace", trace.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for line in std::fs::read_to_string(&trace).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let top = v["top"].as_array().unwrap();
        assert_eq!(top.len(), 5);
        assert!(top.iter().all(|pair| pair[1].is_null()), "NaN probabilities, shown as null: {top:?}");
    }
    let loaded = load_checkpoint(&ck).unwrap();
    let mut g = gatescope::generate::Generator::new(&loaded.model, Default::default());
    let steps = g.feed_prompt("hear").unwrap();
    assert!(steps.iter().all(|s| s.top.iter().all(|(_, p)| p.is_nan())), "Step::top carries NaN");
    assert!(steps[1].prob.unwrap().is_nan());
}

// A text file is named for what it is, wherever a checkpoint is read;
// a PyTorch file is read as one (tests/pt.rs), and one that holds no LSTM says so.
#[test]
fn pytorch_and_text_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let zip = d.join("m.pt");
    let legacy = d.join("legacy.pt");
    let script = format!(
        "import torch; sd = {{'w': torch.zeros(3)}}; torch.save(sd, {:?}); \
         torch.save(sd, {:?}, _use_new_zipfile_serialization=False)",
        zip.to_str().unwrap(),
        legacy.to_str().unwrap()
    );
    let py = crate::common::python().args(["-c", &script]).output().unwrap();
    assert!(py.status.success(), "{}", String::from_utf8_lossy(&py.stderr));
    let text = corpus(d);
    for (file, needle) in [(&zip, "no LSTM found"), (&legacy, "no LSTM found"), (&text, "this is a text file")] {
        let f = file.to_str().unwrap();
        let out_file = d.join("o.safetensors");
        let uses: [Vec<&str>; 4] = [
            vec!["info", f],
            vec!["generate", "-c", f, "-p", "a"],
            vec!["eval", "-c", f, "--data", text.to_str().unwrap()],
            vec!["train", "--resume", f, "--data", text.to_str().unwrap(), "--out", out_file.to_str().unwrap()],
        ];
        for args in uses {
            let err = one_line_error(&run(&args));
            assert!(err.contains(needle) && err.contains(file.to_str().unwrap()), "{args:?}: {err}");
        }
    }
}

// `info` with no file describes the built-in model, not a path the user lacks.
#[test]
fn info_without_a_file_names_the_built_in_model() {
    let out = run(&["info"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().next(), Some("checkpoint  built-in model (default)"), "{text}");
    assert!(!text.contains("assets/"), "{text}");
}

// A size that cannot be allocated is one line, quickly, whichever allocation fails.
#[test]
fn sizes_that_cannot_be_allocated_fail_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d.txt");
    std::fs::write(&data, "a longer text, so that long sequences fit. ".repeat(100)).unwrap();
    let out = dir.path().join("m.safetensors");
    let cases: [(&[&str], &str); 3] = [
        // Model construction: one 240000×60000 weight matrix is 57.6 GB.
        (&["--layers", "2", "--hidden", "60000", "--embed", "8"], "not enough memory for a 2×60000 model"),
        // The first forward pass: an embedding of 10^8 characters × 4096 is 1.6 TB.
        (
            &["--layers", "1", "--hidden", "8", "--embed", "4096", "--batch", "100000", "--seq", "1000"],
            "not enough memory for a 1×8",
        ),
        // The batch itself (16 GB of ids), before libtorch sees it.
        (&["--layers", "1", "--hidden", "8", "--batch", "1000000", "--seq", "2000"], "not enough memory for a batch"),
    ];
    for (extra, needle) in cases {
        let mut args: Vec<&str> = vec!["train", "--data", data.to_str().unwrap(), "--out", out.to_str().unwrap()];
        args.extend(["--steps", "2", "--threads", "1"]);
        args.extend_from_slice(extra);
        let t0 = Instant::now();
        // 8 GiB of address space: what cannot fit fails at once, never swaps.
        let res = Command::new("bash")
            .arg("-c")
            .arg("ulimit -v 8388608; exec \"$0\" \"$@\"")
            .arg(env!("CARGO_BIN_EXE_gatescope"))
            .args(&args)
            .output()
            .unwrap();
        let err = last_line_error(&res);
        assert!(err.contains(needle), "{extra:?}: {err}");
        assert!(!String::from_utf8_lossy(&res.stderr).contains("frame #"), "no C++ frames");
        assert!(t0.elapsed() < Duration::from_secs(60), "{extra:?} took {:?}", t0.elapsed());
        assert!(!out.exists() && temp_files(dir.path()).is_empty());
    }
}

// --eval-every 0 and --checkpoint-every 0 mean "only at the end".
#[test]
fn zero_intervals_mean_only_at_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let data = corpus(dir.path());
    let out = dir.path().join("m.safetensors");
    let res = run(&tiny_train(&data, &out, &["--steps", "6", "--eval-every", "0", "--checkpoint-every", "0"]));
    let err = String::from_utf8_lossy(&res.stderr);
    assert!(res.status.success(), "{err}");
    let evals: Vec<&str> = err.lines().filter(|l| l.starts_with("step ") && l.contains(" val ")).collect();
    assert_eq!(evals.len(), 1, "one evaluation, at the end: {err}");
    assert!(evals[0].starts_with("step 6/6"), "{err}");
    assert_eq!(load_checkpoint(&dir.path().join("m.last.safetensors")).unwrap().metadata["steps"], "6");
}

// A run too short to time shows no "NaN chars/s" (nor "val NaN").
#[test]
fn short_runs_show_no_nan_rates() {
    let dir = tempfile::tempdir().unwrap();
    let data = corpus(dir.path());
    let res = run(&tiny_train(&data, dir.path().join("m.safetensors"), &["--steps", "2", "--eval-every", "1"]));
    let err = String::from_utf8_lossy(&res.stderr);
    assert!(res.status.success(), "{err}");
    assert!(err.contains("step 1/2") && !err.contains("NaN"), "{err}");
}

// Divergence names a checkpoint only if this run wrote it.
#[test]
fn divergence_names_only_files_this_run_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let data = corpus(dir.path());
    let out = dir.path().join("fresh.safetensors");
    std::fs::write(&out, b"a stale file from an earlier run").unwrap();
    // AdamW's decay of lr × wd = 10^6 per step overflows f32 within a few steps.
    let extra = ["--steps", "500", "--eval-every", "1000", "--lr", "1000", "--weight-decay", "1000", "--warmup", "0"];
    let err = last_line_error(&run(&tiny_train(&data, &out, &extra)));
    assert!(err.contains("diverged") && err.contains("this run wrote no checkpoint"), "{err}");
    assert!(!err.contains("fresh.safetensors"), "{err}");
    assert_eq!(std::fs::read(&out).unwrap(), b"a stale file from an earlier run");
}

// SIGINT, SIGTERM or SIGHUP before the first evaluation says what was written.
#[test]
fn a_stop_before_the_first_evaluation_says_what_was_written() {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        let dir = tempfile::tempdir().unwrap();
        let data = corpus(dir.path());
        let out = dir.path().join("m.safetensors");
        let mut child = gatescope()
            .args(tiny_train(&data, &out, &["--steps", "100000000", "--eval-every", "100000000"]))
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
        let mut log = String::new();
        while !log.lines().last().unwrap_or("").starts_with("step ") {
            assert!(stderr.read_line(&mut log).unwrap() > 0, "train ended early: {log}");
        }
        unsafe { libc::kill(child.id() as i32, sig) };
        stderr.read_to_string(&mut log).unwrap();
        assert!(child.wait().unwrap().success(), "{log}");
        assert!(log.contains("interrupted at step") && log.contains("m.safetensors was not written"), "{log}");
        assert!(!log.contains("best in"), "{log}");
        assert!(!out.exists());
        assert!(load_checkpoint(&dir.path().join("m.last.safetensors")).is_ok());
        assert!(temp_files(dir.path()).is_empty());
    }
}

// --resume refuses architecture flags that contradict the checkpoint.
#[test]
fn resume_refuses_flags_that_contradict_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let data = corpus(dir.path());
    let out = dir.path().join("m.safetensors");
    assert!(run(&tiny_train(&data, &out, &["--steps", "2"])).status.success());
    let last = dir.path().join("m.last.safetensors");
    let resume = |extra: &[&str]| {
        let mut args: Vec<&str> = vec!["train", "--data", data.to_str().unwrap(), "--out", out.to_str().unwrap()];
        args.extend(["--resume", last.to_str().unwrap(), "--steps", "4", "--threads", "1", "--seq", "8"]);
        args.extend_from_slice(extra);
        run(&args)
    };
    let err = one_line_error(&resume(&["--hidden", "128", "--layers", "1"]));
    assert!(err.contains("--hidden 128 conflicts") && err.contains("has --hidden 16"), "{err}");
    let err = one_line_error(&resume(&["--embed", "0"]));
    assert!(err.contains("--embed 0 conflicts") && err.contains("has --embed 4"), "{err}");
    let agreeing = resume(&["--hidden", "16", "--layers", "1"]);
    assert!(agreeing.status.success(), "{}", String::from_utf8_lossy(&agreeing.stderr));
}
