//! `gatescope train`: it learns, resumes, survives interruption, and refuses bad data.

use crate::common::{gatescope, one_line_error, run, tiny_train};
use gatescope::model::load_checkpoint;
use std::io::{BufRead, Read};
use std::path::Path;

fn meta(path: &Path, key: &str) -> f64 {
    load_checkpoint(path).unwrap().metadata[key].parse().unwrap()
}

/// Big enough to learn a short pattern in a few hundred steps: 32 units,
/// batches of 16 × 32 characters.
const LEARNER: &[&str] = &[
    "--hidden",
    "32",
    "--embed",
    "8",
    "--seq",
    "32",
    "--batch",
    "16",
    "--eval-every",
    "50",
    "--checkpoint-every",
    "50",
    "--lr",
    "1e-2",
    "--warmup",
    "10",
];

/// `tiny_train` at the learner's sizes for `steps` steps, then `extra`.
fn learner(data: &str, out: &str, steps: &str, extra: &[&str]) -> Vec<String> {
    tiny_train(data, out, &[LEARNER, &["--steps", steps], extra].concat())
}

#[test]
fn learns_a_repeating_pattern_then_resumes_from_its_step_count() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("pattern.txt");
    std::fs::write(&data, "abcdefghij\n".repeat(300)).unwrap();
    let out = dir.path().join("m.safetensors");
    let (d, o) = (data.to_str().unwrap(), out.to_str().unwrap());

    let first = run(&learner(d, o, "100", &[]));
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let after_100 = meta(&out, "val_loss");
    assert_eq!(meta(&out, "steps"), 100.0);

    let last = dir.path().join("m.last.safetensors");
    let second = run(&learner(d, o, "300", &["--resume", last.to_str().unwrap()]));
    let log = String::from_utf8_lossy(&second.stderr);
    assert!(second.status.success(), "{log}");
    assert!(log.contains("300 steps from step 100"), "{log}");
    assert!(!log.contains("does not carry over"), "the same text: the best carries over: {log}");
    assert_eq!(meta(&last, "steps"), 300.0);
    let after_300 = meta(&out, "val_loss");
    assert!(after_300 < after_100, "resume improves: {after_100} -> {after_300}");
    assert!(after_300 < 0.05, "the pattern is learned: val loss {after_300}");
    let ck = load_checkpoint(&out).unwrap();
    assert_eq!(ck.metadata["tokenizer"], "char");
    assert_eq!(ck.metadata["trained_on"], "pattern.txt");
}

/// A run resumed on another text validates on other characters: the best
/// it resumed with (measured on the first text) does not carry over, so
/// the first evaluation writes --out, though its loss is higher than the
/// old best. The same text and split keep the best, as above.
#[test]
fn a_run_resumed_on_another_text_starts_its_best_afresh() {
    let dir = tempfile::tempdir().unwrap();
    let (easy, hard) = (dir.path().join("easy.txt"), dir.path().join("hard.txt"));
    std::fs::write(&easy, "abcdefghij\n".repeat(300)).unwrap();
    let scrambled: String =
        (0..3300u64).map(|i| b"abcdefghij\n"[((i * 7919 + i * i * 31) % 11) as usize] as char).collect();
    std::fs::write(&hard, scrambled).unwrap();
    let (first, second) = (dir.path().join("a.safetensors"), dir.path().join("b.safetensors"));
    let a = run(&learner(easy.to_str().unwrap(), first.to_str().unwrap(), "100", &[]));
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    let easy_best = meta(&first, "best_val_loss");
    let last = dir.path().join("a.last.safetensors");
    let b =
        run(&learner(hard.to_str().unwrap(), second.to_str().unwrap(), "150", &["--resume", last.to_str().unwrap()]));
    let log = String::from_utf8_lossy(&b.stderr);
    assert!(b.status.success(), "{log}");
    assert!(log.contains("its best does not carry over"), "{log}");
    let hard_best = meta(&second, "best_val_loss");
    assert!(hard_best > easy_best, "the scrambled text is harder: {easy_best} -> {hard_best}");
    assert_eq!(meta(&second, "steps"), 150.0, "the best of this run, written at its last evaluation or before");
    assert_eq!(load_checkpoint(&second).unwrap().metadata["trained_on"], "hard.txt");
}

/// The weights of a checkpoint, by name, as bytes.
fn weights(path: &Path) -> Vec<(String, Vec<f32>)> {
    let ck = load_checkpoint(path).unwrap();
    ck.model.named_tensors().into_iter().map(|(n, t)| (n, Vec::<f32>::try_from(t.flatten(0, -1)).unwrap())).collect()
}

/// A run stopped with --stop-at and resumed ends with the very weights of
/// the same run taken straight through: the batches and dropout masks of a
/// step depend on the seed and the step, and Adam's moments are resumed from
/// NAME.last.optim.safetensors. Moments of another step are refused.
#[test]
fn a_run_stopped_and_resumed_ends_where_the_straight_run_does() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d.txt");
    std::fs::write(&data, "the cat sat on the mat; the dog sat on the log.\n".repeat(40)).unwrap();
    let d = data.to_str().unwrap();
    let (straight, split) = (dir.path().join("a.safetensors"), dir.path().join("b.safetensors"));
    let with = |out: &Path, extra: &[&str]| {
        let drops = ["--dropout", "0.2", "--weight-drop", "0.3", "--input-dropout", "0.1", "--weight-decay", "0.1"];
        run(&learner(d, out.to_str().unwrap(), "40", &[&drops[..], &["--seed", "5"], extra].concat()))
    };
    let a = with(&straight, &[]);
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    let b1 = with(&split, &["--stop-at", "15"]);
    let log = String::from_utf8_lossy(&b1.stderr);
    assert!(b1.status.success() && log.contains("stopped at step 15 (--stop-at)"), "{log}");
    let (b_last, b_moments) = (dir.path().join("b.last.safetensors"), dir.path().join("b.last.optim.safetensors"));
    assert_eq!(meta(&b_last, "steps"), 15.0);
    let moments_at_15 = std::fs::read(&b_moments).unwrap();
    let b2 = with(&split, &["--resume", b_last.to_str().unwrap()]);
    let log = String::from_utf8_lossy(&b2.stderr);
    assert!(b2.status.success() && log.contains("40 steps from step 15"), "{log}");
    assert!(!log.contains("start from zero"), "the moments were found: {log}");
    let (wa, wb) = (weights(&dir.path().join("a.last.safetensors")), weights(&b_last));
    assert_eq!(wa.len(), wb.len());
    for ((name, x), (_, y)) in wa.iter().zip(&wb) {
        assert!(x == y, "{name} differs between the straight and the resumed run");
    }

    // Moments of step 15 beside the checkpoint of step 40: refused, by name.
    std::fs::write(&b_moments, moments_at_15).unwrap();
    let args = learner(d, split.to_str().unwrap(), "60", &["--resume", b_last.to_str().unwrap()]);
    let err = one_line_error(&run(&args));
    assert!(err.contains("b.last.optim.safetensors") && err.contains("of step 15") && err.contains("step 40"), "{err}");
    // Without a moments file the run resumes, and says the moments restart.
    std::fs::remove_file(&b_moments).unwrap();
    let again = run(&args);
    let log = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success() && log.contains("start from zero, with a new warm-up"), "{log}");

    // --stop-at outside the run (now from step 60 to 100).
    for bad in ["0", "60", "101", "-3", "nan"] {
        let args =
            learner(d, split.to_str().unwrap(), "100", &["--resume", b_last.to_str().unwrap(), "--stop-at", bad]);
        let err = one_line_error(&run(&args));
        assert!(err.contains("--stop-at"), "{bad}: {err}");
    }
}

/// `--resume` with nothing but `--data`, `--out` and the file continues the
/// run it resumes: the training options stored in the checkpoint apply (and
/// are named), so it ends with the straight run's very weights. An option
/// given again replaces the stored one, and is named too.
#[test]
fn a_resumed_run_takes_its_own_options_unless_given() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d.txt");
    std::fs::write(&data, "the cat sat on the mat; the dog sat on the log.\n".repeat(40)).unwrap();
    let d = data.to_str().unwrap();
    let (straight, split) = (dir.path().join("a.safetensors"), dir.path().join("b.safetensors"));
    let options = [
        "--dropout",
        "0.1",
        "--weight-drop",
        "0.3",
        "--weight-decay",
        "0.1",
        "--seed",
        "9",
        "--snapshot-every",
        "10",
        "--snapshot-dtype",
        "f16",
    ];
    let a = run(&learner(d, straight.to_str().unwrap(), "30", &options));
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    let b1 = run(&learner(d, split.to_str().unwrap(), "30", &[&options[..], &["--stop-at", "12"]].concat()));
    assert!(b1.status.success(), "{}", String::from_utf8_lossy(&b1.stderr));
    let b_last = dir.path().join("b.last.safetensors");
    let resume = |out: &str, last: &str, extra: &[&str]| {
        let (out, last) = (dir.path().join(out), dir.path().join(last));
        let base = ["train", "--data", d, "--out", out.to_str().unwrap(), "--resume", last.to_str().unwrap()];
        run(&[&base[..], extra].concat())
    };
    // A replaced option is named, and the run goes on with it (on a copy
    // of the stopped run, for one step).
    for (from, to) in [("b.last", "c.last"), ("b.last.optim", "c.last.optim")] {
        let name = |n: &str| dir.path().join(format!("{n}.safetensors"));
        std::fs::copy(name(from), name(to)).unwrap();
    }
    let other = resume("c.safetensors", "c.last.safetensors", &["--lr", "5e-3", "--stop-at", "13"]);
    let log = String::from_utf8_lossy(&other.stderr);
    assert!(other.status.success(), "{log}");
    assert!(log.contains("options changed from the run's: --lr 0.005 (the run's 0.01)"), "{log}");
    let b3 = resume("b.safetensors", "b.last.safetensors", &[]);
    let log = String::from_utf8_lossy(&b3.stderr);
    assert!(b3.status.success() && log.contains("30 steps from step 12"), "{log}");
    for taken in
        ["--seq 32", "--batch 16", "--weight-drop 0.3", "--lr 0.01", "--steps 30", "--seed 9", "--snapshot-every 10"]
    {
        assert!(log.contains(taken), "{taken} not taken from the run: {log}");
    }
    // The snapshots go on as the run wrote them, in f16: the last is there
    // and as large as the straight run's.
    let snap = |run: &str| dir.path().join(format!("{run}.snapshots/step-000030.safetensors"));
    assert_eq!(std::fs::metadata(snap("b")).unwrap().len(), std::fs::metadata(snap("a")).unwrap().len());
    let (wa, wb) = (weights(&dir.path().join("a.last.safetensors")), weights(&b_last));
    assert_eq!(wa.len(), wb.len());
    for ((name, x), (_, y)) in wa.iter().zip(&wb) {
        assert!(x == y, "{name} differs between the straight run and the one resumed without its options");
    }
}

#[test]
fn interrupt_finishes_the_step_writes_a_checkpoint_and_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d.txt");
    std::fs::write(&data, "the cat sat on the mat. ".repeat(200)).unwrap();
    let out = dir.path().join("m.safetensors");
    let mut child = gatescope()
        .args(learner(data.to_str().unwrap(), out.to_str().unwrap(), "1000000", &[]))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until it is training (a progress line), then press "Ctrl-C".
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut log = String::new();
    loop {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "train ended early: {log}");
        log.push_str(&line);
        if line.starts_with("step ") {
            break;
        }
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    stderr.read_to_string(&mut log).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "exit 0 after Ctrl-C: {log}");
    assert!(log.contains("interrupted at step"), "{log}");
    let last = load_checkpoint(&dir.path().join("m.last.safetensors")).unwrap();
    assert!(last.metadata["steps"].parse::<usize>().unwrap() > 0);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "no temporary files left");
}

#[test]
fn bad_data_is_refused_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.safetensors");
    let o = out.to_str().unwrap();
    let cases: [(&str, &[u8], &str); 3] = [
        ("latin1.txt", b"hello w\xf6rld, this is long enough", "not UTF-8 text (invalid byte 0xF6 at byte offset 7)"),
        ("empty.txt", b"", "file is empty"),
        ("short.txt", b"abc", "too short to train on"),
    ];
    for (name, bytes, needle) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        let err = one_line_error(&run(&learner(p.to_str().unwrap(), o, "10", &[])));
        assert!(err.contains(needle) && err.contains(name), "{name}: {err}");
    }
    assert!(!out.exists(), "nothing written for bad data");
}

#[test]
fn bad_output_paths_are_refused_before_training() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d.txt");
    std::fs::write(&data, "some text to learn from. ".repeat(50)).unwrap();
    let missing = dir.path().join("no/such/m.safetensors");
    let fifo = dir.path().join("fifo.safetensors");
    crate::common::mkfifo(&fifo);
    for (dest, needle) in [
        (fifo.to_str().unwrap(), "not a regular file"),
        (missing.to_str().unwrap(), "does not exist"),
        ("/dev/full", "not a regular file"),
        (dir.path().to_str().unwrap(), "is a directory"),
    ] {
        let err = one_line_error(&run(&learner(data.to_str().unwrap(), dest, "10", &[])));
        assert!(err.contains(needle), "{dest}: {err}");
        assert!(!err.contains("training"), "refused before training: {err}");
    }
}

#[test]
fn a_read_only_folder_is_refused_before_training() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d.txt");
    std::fs::write(&data, "some text to learn from. ".repeat(50)).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = crate::common::read_only_folder(dir.path()).join("m.safetensors");
    let err = one_line_error(&crate::common::run_unprivileged(&learner(
        data.to_str().unwrap(),
        out.to_str().unwrap(),
        "10",
        &[],
    )));
    assert!(err.contains("cannot write in folder"), "{err}");
    assert!(!out.exists());
}
