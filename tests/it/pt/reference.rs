//! Checkpoints PyTorch wrote with `torch.save(model.state_dict())`: gatescope's
//! greedy text and every gate equal what PyTorch computes from the same file,
//! whatever the modules are called, in f32, f16 and bf16, zip and legacy
//! format, with one-hot input and strided views; and again after `convert`.
//! Bad input is one line and exit 1; a malicious pickle never runs.

use crate::common::{assert_close, one_line_error, python, run};
use gatescope::model::load_checkpoint;
use serde_json::Value;
use std::path::{Path, PathBuf};

const TOL: f64 = 1e-5;
const TEXT: &str = "Hé said — “hi” 🙂 and left.\nThen é—é came back, twice; ROMEO: O!";
const PROMPT: &str = "Hé said";
const LENGTH: usize = 40;

struct Built {
    dir: tempfile::TempDir,
    expected: Value,
}

impl Built {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn s(&self, name: &str) -> String {
        self.path(name).to_str().unwrap().to_string()
    }
}

fn helper(args: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/pt_models.py");
    let out = python().args([script, "--out", dir.path().to_str().unwrap()]).args(args).output().unwrap();
    assert!(out.status.success(), "pt_models.py failed: {}", String::from_utf8_lossy(&out.stderr));
    dir
}

fn build(style: &str, dtype: &str) -> Built {
    let len = LENGTH.to_string();
    let dir = helper(&["--style", style, "--dtype", dtype, "--text", TEXT, "--prompt", PROMPT, "--length", &len]);
    let expected = serde_json::from_str(&std::fs::read_to_string(dir.path().join("expected.json")).unwrap()).unwrap();
    Built { dir, expected }
}

/// `generate --temperature 0 --trace` on `checkpoint` against PyTorch's text and gates.
fn check_generate(b: &Built, checkpoint: &Path, extra: &[&str]) {
    let trace = b.path(&format!("{}.jsonl", checkpoint.file_name().unwrap().to_str().unwrap()));
    let (ck, tr, len) = (checkpoint.to_str().unwrap(), trace.to_str().unwrap(), LENGTH.to_string());
    let mut args = vec!["generate", "-c", ck, "-p", PROMPT, "-l", &len, "--temperature", "0", "--trace", tr];
    args.extend_from_slice(extra);
    let out = run(&args);
    assert!(out.status.success(), "generate failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text, b.expected["text"].as_str().unwrap(), "greedy text differs from PyTorch's");

    let lines: Vec<Value> =
        std::fs::read_to_string(&trace).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let steps = b.expected["steps"].as_array().unwrap();
    assert_eq!(lines.len(), steps.len());
    assert_eq!(lines.len(), PROMPT.chars().count() + LENGTH);
    let mut compared = 0;
    for (t, (got, want)) in lines.iter().zip(steps).enumerate() {
        assert_eq!(got["char"], want["char"], "t={t}");
        let (gl, wl) = (got["layers"].as_array().unwrap(), want["layers"].as_array().unwrap());
        assert_eq!(gl.len(), wl.len());
        for (k, (g, w)) in gl.iter().zip(wl).enumerate() {
            for gate in ["i", "f", "g", "o"] {
                let (gv, wv) = (g[gate].as_array().unwrap(), w[gate].as_array().unwrap());
                assert_eq!(gv.len(), wv.len());
                for (u, (x, y)) in gv.iter().zip(wv).enumerate() {
                    assert_close(
                        x.as_f64().unwrap(),
                        y.as_f64().unwrap(),
                        TOL,
                        &format!("t={t} layer {k} gate {gate} unit {u}"),
                    );
                    compared += 1;
                }
            }
            for norm in ["c_norm", "h_norm"] {
                assert_close(
                    g[norm].as_f64().unwrap(),
                    w[norm].as_f64().unwrap(),
                    TOL,
                    &format!("t={t} layer {k} {norm}"),
                );
            }
        }
    }
    assert!(compared > 1000, "only {compared} gate values compared");
}

/// The .pt with its vocabulary, then `convert` and the .safetensors alone.
fn check_both(b: &Built, extra: &[&str], modules: &str) {
    let (pt, vocab) = (b.s("model.pt"), b.s("vocab"));
    let mut with_vocab = vec!["--vocab", vocab.as_str()];
    with_vocab.extend_from_slice(extra);
    check_generate(b, &b.path("model.pt"), &with_vocab);

    let st = b.s("converted.safetensors");
    let mut args = vec!["convert", pt.as_str(), "--out", st.as_str()];
    args.extend_from_slice(&with_vocab);
    let out = run(&args);
    assert!(out.status.success(), "convert failed: {}", String::from_utf8_lossy(&out.stderr));
    let ck = load_checkpoint(&b.path("converted.safetensors")).unwrap();
    assert_eq!(ck.metadata["converted_from"], "model.pt");
    assert_eq!(ck.metadata["source_modules"], modules);
    check_generate(b, &b.path("converted.safetensors"), &[]);
}

#[test]
fn encoder_rnn_decoder_f32_matches_pytorch_before_and_after_convert() {
    let b = build("encoder", "f32");
    check_both(&b, &[], "lstm=rnn,embed=encoder,head=decoder");
    // info names what it found before any vocabulary is given.
    let out = run(&["info", &b.s("model.pt")]);
    let info = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success());
    for want in
        ["'rnn': 2 layers x 24 hidden units, input 12", "embedding 'encoder.weight'", "'decoder.weight'", "zip format"]
    {
        assert!(info.contains(want), "info lacks {want:?}:\n{info}");
    }
    assert!(info.contains("give --vocab"), "{info}");
}

#[test]
fn embedding_lstm_fc_in_f16_with_a_json_vocabulary_matches_pytorch() {
    let b = build("fc", "f16");
    assert!(std::fs::read_to_string(b.path("vocab")).unwrap().starts_with('['), "the helper wrote a JSON vocabulary");
    check_both(&b, &[], "lstm=lstm,embed=embedding,head=fc");
    let info = String::from_utf8(run(&["info", &b.s("model.pt")]).stdout).unwrap();
    assert!(info.contains("torch.HalfStorage"), "{info}");
}

#[test]
fn nested_one_hot_with_transposed_and_sliced_tensors_matches_pytorch() {
    let b = build("onehot", "f32");
    check_both(&b, &[], "lstm=net.core,embed=none,head=net.proj");
    let out = run(&["info", &b.s("model.pt")]);
    let info = String::from_utf8(out.stdout).unwrap();
    assert!(info.contains("one-hot over") && info.contains("ignored     steps_seen"), "{info}");
}

#[test]
fn legacy_format_in_bf16_matches_pytorch() {
    let b = build("legacy", "bf16");
    check_both(&b, &[], "lstm=rnn,embed=encoder,head=decoder");
    let info = String::from_utf8(run(&["info", &b.s("model.pt")]).stdout).unwrap();
    assert!(info.contains("legacy format") && info.contains("torch.BFloat16Storage"), "{info}");
}

#[test]
fn two_possible_heads_are_listed_and_map_chooses() {
    let b = build("ambiguous", "f32");
    let (pt, vocab) = (b.s("model.pt"), b.s("vocab"));
    let err = one_line_error(&run(&["generate", "-c", &pt, "--vocab", &vocab, "-p", "H", "-l", "3"]));
    assert!(err.contains("2 possible heads") && err.contains("'fc'") && err.contains("'aux'"), "{err}");
    assert!(err.contains("--map head=NAME"), "{err}");
    check_both(&b, &["--map", "head=fc"], "lstm=lstm,embed=emb,head=fc");
    let err = one_line_error(&run(&["info", &pt, "--map", "head=nope"]));
    assert!(err.contains("--map head=nope") && err.contains("'nope.weight'"), "{err}");
}

#[test]
fn a_malicious_pickle_is_refused_and_never_runs() {
    let scratch = tempfile::tempdir().unwrap();
    let marker = scratch.path().join("pwned");
    let dir = helper(&["--style", "evil", "--marker", marker.to_str().unwrap()]);
    let pt = dir.path().join("model.pt");
    let pt = pt.to_str().unwrap();
    let st = dir.path().join("out.safetensors");
    for args in [
        vec!["info", pt],
        vec!["generate", "-c", pt, "--vocab", pt, "-p", "a"],
        vec!["convert", pt, "--vocab", pt, "--out", st.to_str().unwrap()],
    ] {
        let err = one_line_error(&run(&args));
        assert!(err.contains("'posix.system'") && err.contains("nothing in the file was run"), "{err}");
        assert!(!marker.exists(), "the payload ran");
    }
    assert!(!st.exists(), "convert wrote an output");
    // The file is really malicious: PyTorch's full unpickler runs it.
    let load = format!("import torch; torch.load({pt:?}, weights_only=False)");
    let _ = python().args(["-c", &load]).output().unwrap();
    assert!(marker.exists(), "the payload should run under torch.load(weights_only=False)");
}

#[test]
fn bad_vocabularies_options_and_outputs_are_one_line_errors() {
    let b = build("encoder", "f32");
    let (pt, vocab) = (b.s("model.pt"), b.s("vocab"));
    let err = one_line_error(&run(&["generate", "-c", &pt, "-p", "H"]));
    assert!(err.contains("holds no vocabulary") && err.contains("--vocab"), "{err}");

    let short = b.path("short.txt");
    std::fs::write(&short, "Hé said").unwrap();
    let err = one_line_error(&run(&["eval", "-c", &pt, "--vocab", short.to_str().unwrap(), "--data", &vocab]));
    assert!(err.contains("gives 7 characters but head 'decoder.weight' has") && err.contains("JSON array"), "{err}");

    let bad = b.path("bad.txt");
    std::fs::write(&bad, b"ab\xffcd").unwrap();
    let err = one_line_error(&run(&["info", &pt, "--vocab", bad.to_str().unwrap()]));
    assert!(err.contains("--vocab") && err.contains("not UTF-8 (at byte 2)"), "{err}");

    let err = one_line_error(&run(&["info", &pt, "--map", "lstm=nope"]));
    assert!(err.contains("--map lstm=nope") && err.contains("'rnn'"), "{err}");
    let err = one_line_error(&run(&["info", &pt, "--map", "rnn=x"]));
    assert!(err.contains("unknown key 'rnn'"), "{err}");
    let err = one_line_error(&run(&["generate", "--vocab", &vocab, "-p", "a"]));
    assert!(err.contains("--checkpoint"), "{err}");

    // No output over an input, however the path is spelled.
    let before = std::fs::read(&pt).unwrap();
    let dotted = format!("{}/./model.pt", b.dir.path().display());
    let err = one_line_error(&run(&["convert", &pt, "--vocab", &vocab, "--out", &dotted]));
    assert!(err.contains("is the same file as the input"), "{err}");
    std::fs::hard_link(&pt, b.path("link.pt")).unwrap();
    let err = one_line_error(&run(&["convert", &pt, "--vocab", &vocab, "--out", &b.s("link.pt")]));
    assert!(err.contains("is the same file as the input"), "{err}");
    let err = one_line_error(&run(&["convert", &pt, "--vocab", &vocab, "--out", &vocab]));
    assert!(err.contains("is the same file as --vocab"), "{err}");
    assert_eq!(std::fs::read(&pt).unwrap(), before, "the input is untouched");

    // A failed conversion leaves nothing behind.
    let out = b.path("nothing.safetensors");
    one_line_error(&run(&["convert", &pt, "--out", out.to_str().unwrap()]));
    assert!(!out.exists());
    let st = b.path("ok.safetensors");
    assert!(run(&["convert", &pt, "--vocab", &vocab, "--out", st.to_str().unwrap()]).status.success());
    let err = one_line_error(&run(&["convert", st.to_str().unwrap(), "--out", &b.s("again.safetensors")]));
    assert!(err.contains("already a safetensors checkpoint in f32; nothing to convert"), "{err}");
    // A safetensors file keeps its own vocabulary: --vocab may confirm it, not change it.
    assert!(run(&["info", st.to_str().unwrap(), "--vocab", &vocab]).status.success());
    let err = one_line_error(&run(&["info", st.to_str().unwrap(), "--vocab", short.to_str().unwrap()]));
    assert!(err.contains("differs from the vocabulary stored"), "{err}");
}

#[test]
fn bidirectional_projected_gru_and_whole_module_files_are_refused_by_name() {
    for (style, want) in [
        ("bidir", "bidirectional ('rnn.weight_ih_l0_reverse')"),
        ("proj", "projected (proj_size) ('rnn.weight_hr_l0')"),
        ("gru", "a GRU rather than an LSTM"),
        ("module", "save model.state_dict() instead"),
    ] {
        let dir = helper(&["--style", style]);
        let pt = dir.path().join("model.pt");
        let err = one_line_error(&run(&["info", pt.to_str().unwrap()]));
        assert!(err.contains(want), "{style}: {err}");
    }
}

/// The playground opens a .pt file too: its worker reads it with the
/// vocabulary (`play --checkpoint model.pt --vocab FILE`), the load box's
/// `FILE --vocab V` reaches the worker as the same options, and without a
/// vocabulary the load fails, says how to give one, and keeps the model.
#[test]
fn the_playground_opens_a_pt_file_with_its_vocabulary() {
    use gatescope::model::{parse_load_request, LoadOptions};
    use gatescope::tui::event::{Event, WorkerEvent};
    use gatescope::tui::worker::{self, WorkerCmd};
    let b = build("encoder", "f32");
    let opts = LoadOptions { vocab: Some(b.path("vocab")), ..Default::default() };
    let (tx, rx) = std::sync::mpsc::channel();
    let wait = std::time::Duration::from_secs(60);
    let (cmd, _h) = worker::spawn_with(Some(b.path("model.pt")), opts.clone(), tx).unwrap();
    match rx.recv_timeout(wait).unwrap() {
        Event::Worker(WorkerEvent::Loaded(info)) => assert_eq!((info.layers, info.hidden), (2, 24), "the .pt model"),
        other => panic!("expected Loaded, got {other:?}"),
    }
    cmd.send(WorkerCmd::Load(b.path("model.pt"), LoadOptions::default())).unwrap();
    match rx.recv_timeout(wait).unwrap() {
        Event::Worker(WorkerEvent::LoadFailed(m)) => assert!(m.contains("--vocab"), "{m}"),
        other => panic!("expected LoadFailed, got {other:?}"),
    }
    let (path, from_box) = parse_load_request(&format!("{} --vocab {}", b.s("model.pt"), b.s("vocab"))).unwrap();
    assert_eq!(from_box, opts);
    cmd.send(WorkerCmd::Load(path, from_box)).unwrap();
    assert!(matches!(rx.recv_timeout(wait).unwrap(), Event::Worker(WorkerEvent::Loaded(_))));
    cmd.send(WorkerCmd::Shutdown).unwrap();
}

#[test]
fn the_analyses_read_a_pt_file_as_its_conversion_and_save_only_into_safetensors() {
    let b = build("encoder", "f32");
    let (pt, vocab) = (b.s("model.pt"), b.s("vocab"));
    let st = b.s("converted.safetensors");
    assert!(run(&["convert", &pt, "--vocab", &vocab, "--out", &st]).status.success());
    // The vocabulary file is TEXT itself, so it serves as the data too.
    for analysis in [&["cells", "--top", "2"][..], &["saturation"], &["search", "--layer", "l1", "--span", "3..6"]] {
        let json = |checkpoint: &[&str]| {
            let mut args = analysis.to_vec();
            args.extend_from_slice(checkpoint);
            args.extend_from_slice(&["--data", &vocab, "--chars", "50", "--json"]);
            let out = run(&args);
            assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8(out.stdout).unwrap()
        };
        assert_eq!(json(&["-c", &pt, "--vocab", &vocab]), json(&["-c", &st]), "{}", analysis[0]);
    }
    let before = std::fs::read(&pt).unwrap();
    let err =
        one_line_error(&run(&["cells", "-c", &pt, "--vocab", &vocab, "--data", &vocab, "--chars", "50", "--save"]));
    assert!(err.contains("is a PyTorch file") && err.contains("gatescope convert"), "{err}");
    assert_eq!(std::fs::read(&pt).unwrap(), before, "the .pt file is untouched");
}
