//! The models built into the binary, picked by name everywhere a checkpoint
//! is taken (`-c`, `info`, the playground's load box), and f16 checkpoints
//! as `convert --dtype f16` writes them (the shipped models are stored so).

use crate::common::{one_line_error, python, reference, reference_model, run};
use gatescope::model::LoadOptions;
use gatescope::model::{load_model, BUILTINS};
use gatescope::tui::event::{Event, WorkerEvent};
use gatescope::tui::worker::{Worker, WorkerCmd};
use std::path::Path;
use std::sync::mpsc::channel;

fn stdout(out: &std::process::Output) -> String {
    assert!(out.status.success(), "failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn both_built_in_models_load_by_name() {
    let names: Vec<&str> = BUILTINS.iter().map(|b| b.name).collect();
    assert_eq!(names, ["default", "python"]);
    let default = load_model(Some(Path::new("default"))).unwrap();
    assert_eq!(default.model.vocab.len(), 65, "Shakespeare's 65 characters");
    assert_eq!(default.model.dims.parameter_count(), load_model(None).unwrap().model.dims.parameter_count());
    let python = load_model(Some(Path::new("python"))).unwrap();
    let chars = python.model.vocab.chars();
    for c in ['(', ')', '[', ']', '{', '}', '"', '\'', '#', '_', '\n', ' '] {
        assert!(chars.contains(&c), "the code model reads {c:?}");
    }
    assert!(python.model.dims.parameter_count() > default.model.dims.parameter_count());

    // On the command line: generate, info, eval all take the names.
    let text = stdout(&run(&["generate", "-c", "python", "-p", "def main(", "-l", "40", "-t", "0"]));
    assert!(text.starts_with("def main("), "{text}");
    let text = stdout(&run(&["generate", "-c", "default", "-p", "ROMEO:", "-l", "20", "-t", "0"]));
    assert!(text.starts_with("ROMEO:"), "{text}");
    let info = stdout(&run(&["info", "python"]));
    assert_eq!(info.lines().next(), Some("checkpoint  built-in model (python)"), "{info}");
    assert!(info.contains("vocabulary  96 characters"), "{info}");
}

#[test]
fn info_lists_the_built_in_models() {
    for args in [&["info"][..], &["info", "python"]] {
        let info = stdout(&run(args));
        let listed: Vec<&str> = info.lines().filter(|l| l.starts_with("built-in    ")).collect();
        assert_eq!(listed.len(), 2, "{info}");
        assert!(listed[0].starts_with("built-in    default ") && listed[0].contains("2x512"), "{info}");
        assert!(listed[1].starts_with("built-in    python ") && listed[1].contains("x512, F16"), "{info}");
        assert!(!info.contains("not built in"), "{info}");
    }
}

/// A name is a built-in only when bare: `./python` is a file, and an unknown
/// name is a missing file, said in one line with the name.
#[test]
fn a_path_is_never_taken_for_a_built_in_name() {
    let err = one_line_error(&run(&["info", "./python"]));
    assert!(err.contains("./python") && err.contains("No such file"), "{err}");
    let err = one_line_error(&run(&["generate", "-c", "pyton", "-p", "x"]));
    assert!(err.contains("pyton"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let err = one_line_error(&run(&["cells", "-c", "python", "--data", "README.md", "--save"]));
    assert!(err.contains("built-in model 'python' has no file"), "{err}");
    let vocab = dir.path().join("v.txt");
    std::fs::write(&vocab, "abc").unwrap();
    let err = one_line_error(&run(&["info", "python", "--vocab", vocab.to_str().unwrap()]));
    assert!(err.contains("not the built-in model 'python'"), "{err}");
}

/// The playground's load box sends the typed text to the worker, which
/// takes a built-in name as `-c` does: the way back to the default model
/// after loading a file.
#[test]
fn the_worker_loads_built_in_models_by_name() {
    let (tx, rx) = channel();
    let mut w = Worker::new(&load_model(None).unwrap().model, tx);
    for (name, file, vocab) in [("python", "python.safetensors", 96), ("default", "default.safetensors", 65)] {
        w.handle(WorkerCmd::Load(name.into(), LoadOptions::default()));
        match rx.try_recv() {
            Ok(Event::Worker(WorkerEvent::Loaded(info))) => {
                assert_eq!((info.name.as_str(), info.vocab.len()), (file, vocab));
                assert!(info.cells.is_some(), "{name} carries its cell catalogue");
            }
            other => panic!("{name}: {other:?}"),
        }
    }
}

/// `convert --dtype f16` stores every weight as PyTorch's `.half()` does, and
/// `eval` on the f16 file agrees with the reference reading the same file.
#[test]
fn an_f16_checkpoint_holds_halved_weights_and_evaluates_as_pytorch_does() {
    let dir = tempfile::tempdir().unwrap();
    let text = "def f(x):\n    return [x, (x + 1)]\n".repeat(40);
    let data = dir.path().join("d.txt");
    std::fs::write(&data, &text).unwrap();
    let f32_path = reference_model(dir.path(), "m.safetensors", &text, 8, 24, 2, 3.0);
    let f16_path = dir.path().join("m16.safetensors");
    let (a, b) = (f32_path.to_str().unwrap(), f16_path.to_str().unwrap());
    let out = run(&["convert", a, "--out", b, "--dtype", "f16"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let check = format!(
        "from safetensors.torch import load_file\n\
         a, b = load_file({a:?}), load_file({b:?})\n\
         assert a.keys() == b.keys()\n\
         for k in a:\n    assert b[k].dtype.is_floating_point and str(b[k].dtype) == 'torch.float16', k\n    \
         assert (a[k].half() == b[k]).all(), k\n\
         print('ok', len(a))"
    );
    let py = python().arg("-c").arg(check).output().unwrap();
    assert!(py.status.success(), "{}", String::from_utf8_lossy(&py.stderr));
    assert!(std::fs::metadata(&f16_path).unwrap().len() < std::fs::metadata(&f32_path).unwrap().len() * 6 / 10);

    let d = data.to_str().unwrap();
    let ours = stdout(&run(&["eval", "-c", b, "--data", d, "--window", "64"]));
    let ours: f64 =
        ours.split_whitespace().find_map(|kv| kv.strip_prefix("windowed64_loss=")).unwrap().parse().unwrap();
    let theirs = reference(&["eval", "--checkpoint", b, "--data", d, "--window", "64"]);
    let theirs: serde_json::Value = serde_json::from_str(theirs.trim()).unwrap();
    let theirs = theirs["windowed_loss"].as_f64().unwrap();
    assert!((ours - theirs).abs() < 2e-4, "f16 file: ours {ours}, PyTorch {theirs}");
}

#[test]
fn convert_refuses_what_it_cannot_do_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let text = "abc abc\n".repeat(10);
    let m = reference_model(dir.path(), "m.safetensors", &text, 4, 8, 1, 1.0);
    let m = m.to_str().unwrap();
    let out = dir.path().join("o.safetensors");
    let o = out.to_str().unwrap();
    let err = one_line_error(&run(&["convert", m, "--out", o]));
    assert!(err.contains("already a safetensors checkpoint in f32"), "{err}");
    let err = one_line_error(&run(&["convert", m, "--out", m, "--dtype", "f16"]));
    assert!(err.contains("--out") && err.contains("same file"), "{err}");
    let err = one_line_error(&run(&["convert", m, "--out", o, "--dtype", "f8"]));
    assert!(err.contains("--dtype") || err.contains("f8"), "{err}");
    assert!(!out.exists(), "nothing written");
    // A weight beyond f16's range is refused by name, not stored as infinity.
    let big = dir.path().join("big.safetensors");
    let script = format!(
        "from safetensors.torch import load_file, save_file\n\
         from safetensors import safe_open\n\
         meta = safe_open({m:?}, 'pt').metadata()\n\
         t = load_file({m:?}); t['head.bias'][0] = 1e6\n\
         save_file(t, {:?}, metadata=meta)",
        big.to_str().unwrap()
    );
    let py = python().arg("-c").arg(script).output().unwrap();
    assert!(py.status.success(), "{}", String::from_utf8_lossy(&py.stderr));
    let err = one_line_error(&run(&["convert", big.to_str().unwrap(), "--out", o, "--dtype", "f16"]));
    assert!(err.contains("head.bias") && err.contains("f16's range"), "{err}");
    assert!(!out.exists(), "nothing written");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().filter_map(|e| e.ok()).collect();
    assert_eq!(leftovers.len(), 2, "m and big, no temporary file: {leftovers:?}");
}
