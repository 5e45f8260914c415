//! Training on odd data, with a full disk, and killed mid-write.

use crate::common::{kill_during_training, last_line_error, one_line_error, run, tiny_train};
use gatescope::model::load_checkpoint;
use std::process::Command;
use std::time::Duration;

/// A tiny run of `steps` steps that evaluates and saves every five.
fn tiny(data: &str, out: &str, steps: &str) -> Vec<String> {
    tiny_train(data, out, &["--steps", steps, "--eval-every", "5", "--checkpoint-every", "5"])
}

#[test]
fn odd_but_valid_text_trains_and_one_character_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.safetensors");
    let cases: [(&str, Vec<u8>); 4] = [
        ("bom.txt", [b"\xef\xbb\xbf".as_slice(), "hello there, general\n".repeat(10).as_bytes()].concat()),
        ("crlf.txt", "line one\r\nline two\r\n".repeat(10).into_bytes()),
        ("nul.txt", "a\0b\0c\0 nul bytes are characters too ".repeat(5).into_bytes()),
        ("same.txt", "x".repeat(200).into_bytes()),
    ];
    for (name, bytes) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, &bytes).unwrap();
        let r = run(&tiny(p.to_str().unwrap(), out.to_str().unwrap(), "10"));
        assert!(r.status.success(), "{name}: {}", String::from_utf8_lossy(&r.stderr));
        let ck = load_checkpoint(&out).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert_eq!(ck.model.vocab.len(), gatescope::vocab::Vocab::from_text(&text).unwrap().len(), "{name}");
    }
    let p = dir.path().join("one.txt");
    std::fs::write(&p, "x").unwrap();
    let err = one_line_error(&run(&tiny(p.to_str().unwrap(), out.to_str().unwrap(), "10")));
    assert!(err.contains("too short"), "{err}");
}

#[test]
fn a_full_disk_ends_with_an_error_and_the_previous_checkpoint_intact() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d.txt");
    std::fs::write(&data, "to be or not to be, that is the question. ".repeat(40)).unwrap();
    let out = dir.path().join("m.safetensors");
    let r = run(&tiny(data.to_str().unwrap(), out.to_str().unwrap(), "5"));
    assert!(r.status.success());
    let before = std::fs::read(&out).unwrap();

    // A file-size limit below one checkpoint's size, with SIGXFSZ ignored so the
    // write fails with EFBIG instead of killing the process.
    let args = tiny(data.to_str().unwrap(), out.to_str().unwrap(), "20");
    let limit_kib = before.len() / 1024 / 2;
    let script = format!("ulimit -f {}; trap '' XFSZ; exec \"$0\" \"$@\"", limit_kib.max(1));
    let r =
        Command::new("bash").arg("-c").arg(script).arg(env!("CARGO_BIN_EXE_gatescope")).args(&args).output().unwrap();
    let err = last_line_error(&r);
    assert!(err.contains("write failed") && err.contains("unchanged"), "{err}");
    assert_eq!(std::fs::read(&out).unwrap(), before, "previous checkpoint untouched");
    assert!(load_checkpoint(&out).is_ok());
}

#[test]
fn killed_at_random_moments_the_last_complete_checkpoint_always_loads() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d.txt");
    std::fs::write(&data, "all the world's a stage, and all the men and women merely players. ".repeat(30)).unwrap();
    let out = dir.path().join("m.safetensors");
    let last = dir.path().join("m.last.safetensors");
    let iterations = 20;
    let mut seen_checkpoint = 0;
    for i in 0..iterations {
        // Checkpoints every step, so kills land during writes often.
        let every_step = ["--steps", "100000", "--checkpoint-every", "1", "--eval-every", "1"];
        let resume = if last.exists() { vec!["--resume", last.to_str().unwrap()] } else { vec![] };
        let args = tiny_train(&data, &out, &[&every_step[..], &resume].concat());
        // A checkpoint is written every step, so most kills land during a write.
        let delay = Duration::from_millis(20 + (i * 37 % 11) * 30);
        if !kill_during_training(&args, &dir.path().join("m.last.optim.safetensors"), delay) {
            continue;
        }
        for p in [&out, &last] {
            if p.exists() {
                seen_checkpoint += 1;
                if let Err(e) = load_checkpoint(p) {
                    panic!("iteration {i}: {} does not load after SIGKILL: {e}", p.display());
                }
            }
        }
    }
    assert!(seen_checkpoint > 0, "the kills came before any checkpoint; the test proved nothing");
}
