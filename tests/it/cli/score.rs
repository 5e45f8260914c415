//! `gatescope score`: a text's log-probabilities, nats and bits per character
//! and most surprising characters, against the PyTorch reference and eval.

use crate::common::{assert_close, one_line_error, reference, run, tiny_train};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The first `n` characters of tinyshakespeare.
pub fn shakespeare(n: usize) -> String {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/data/tinyshakespeare.txt")).unwrap();
    text.chars().take(n).collect()
}

/// A two-layer model trained by `gatescope train` on 21,000 characters of
/// Shakespeare, far enough that the state matters; and the training text.
pub fn trained(dir: &Path) -> (PathBuf, PathBuf) {
    let data = dir.join("d.txt");
    std::fs::write(&data, shakespeare(21_000)).unwrap();
    let ck = dir.join("m.safetensors");
    let extra = [
        "--layers", "2", "--hidden", "32", "--embed", "8", "--seq", "32", "--batch", "16", "--steps", "200", "--lr",
        "1e-2", "--warmup", "10",
    ];
    let out = run(&tiny_train(&data, &ck, &extra));
    assert!(out.status.success(), "train: {}", String::from_utf8_lossy(&out.stderr));
    (ck, data)
}

fn json(out: &std::process::Output) -> Value {
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every field of two scores: counts and characters exactly, numbers to 1e-5.
fn assert_same_score(ours: &Value, theirs: &Value) {
    assert_eq!(ours.as_object().unwrap().keys().count(), 6, "{ours}");
    assert_eq!(ours["chars"], theirs["chars"]);
    assert_eq!(ours["scored"], theirs["scored"]);
    assert_eq!(ours["scored"].as_u64().unwrap() + 1, ours["chars"].as_u64().unwrap());
    assert_close(&ours["log_p"], &theirs["log_p"], 1e-5, "log_p");
    assert_eq!(ours["log_p"].as_array().unwrap().len() as u64, ours["scored"].as_u64().unwrap());
    for key in ["nats_per_char", "bits_per_char"] {
        assert_close(ours[key].as_f64().unwrap(), theirs[key].as_f64().unwrap(), 1e-5, key);
    }
    let (os, ts) = (ours["surprising"].as_array().unwrap(), theirs["surprising"].as_array().unwrap());
    assert_eq!(os.len(), ts.len());
    for (o, t) in os.iter().zip(ts) {
        assert_eq!((&o["t"], &o["char"]), (&t["t"], &t["char"]), "{o} vs {t}");
        assert_close(o["log_p"].as_f64().unwrap(), t["log_p"].as_f64().unwrap(), 1e-5, "surprising log_p");
    }
}

/// A file of 2,500 characters is read in three chunks of the stateful pass
/// (1,000, 1,000 and 499 predictions) with the state carried; the reference
/// reads it in one nn.LSTM call, so a state dropped or a prediction shifted
/// at a chunk's edge would differ. A short --text is scored the same way.
#[test]
fn score_json_equals_the_pytorch_reference() {
    let dir = tempfile::tempdir().unwrap();
    let (ck, _) = trained(dir.path());
    let ck = ck.to_str().unwrap();
    let text = dir.path().join("t.txt");
    std::fs::write(&text, shakespeare(23_500).chars().skip(21_000).collect::<String>()).unwrap();
    let text = text.to_str().unwrap();
    let ours = json(&run(&["score", "-c", ck, "--data", text, "--json"]));
    let theirs: Value = serde_json::from_str(&reference(&["score", "--checkpoint", ck, "--data", text])).unwrap();
    assert_eq!(ours["chars"].as_u64(), Some(2_500));
    assert_same_score(&ours, &theirs);
    assert_eq!(ours["surprising"].as_array().unwrap().len(), 10);
    let nats = ours["nats_per_char"].as_f64().unwrap();
    assert!(nats < 3.0 && nats > 0.5, "a trained model: {nats} nats/char (ln V is about 4)");
    assert_close(ours["bits_per_char"].as_f64().unwrap(), nats / std::f64::consts::LN_2, 1e-12, "bits");

    let short = "ROMEO:\nWhat, ho!";
    let ours = json(&run(&["score", "-c", ck, "--text", short, "--json"]));
    let theirs: Value = serde_json::from_str(&reference(&["score", "--checkpoint", ck, "--text", short])).unwrap();
    assert_same_score(&ours, &theirs);
    assert_eq!(ours["chars"].as_u64(), Some(short.chars().count() as u64));
}

/// The text output: the summary line with the JSON's numbers, then the ten
/// most surprising characters in the JSON's order, each with its context on
/// one line (the newline escaped).
#[test]
fn score_text_lists_the_most_surprising_characters_with_context() {
    let dir = tempfile::tempdir().unwrap();
    let (ck, _) = trained(dir.path());
    let ck = ck.to_str().unwrap();
    let text = "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n";
    let v = json(&run(&["score", "-c", ck, "--text", text, "--json"]));
    let out = run(&["score", "-c", ck, "--text", text]);
    assert!(out.status.success());
    let printed = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = printed.lines().collect();
    let summary = format!(
        "chars={} scored={} nats_per_char={:.4} bits_per_char={:.4}",
        v["chars"],
        v["scored"],
        v["nats_per_char"].as_f64().unwrap(),
        v["bits_per_char"].as_f64().unwrap()
    );
    assert_eq!(lines[0], summary);
    assert_eq!(lines.len(), 3 + 10, "{printed}");
    let chars: Vec<char> = text.chars().collect();
    for (line, s) in lines[3..].iter().zip(v["surprising"].as_array().unwrap()) {
        let t = s["t"].as_u64().unwrap() as usize;
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(fields[0], t.to_string(), "{line}");
        assert!(line.contains(&format!("{:.4}", s["log_p"].as_f64().unwrap())), "{line}");
        let shown = match chars[t] {
            '\n' => "\\n".to_string(),
            c => c.to_string(),
        };
        assert!(line.contains(&format!("[{shown}]")), "the character in its context: {line}");
    }
}

/// The score of the validation split is eval's stateful loss: the same pass
/// over the same characters, from a zero state with the state carried.
#[test]
fn score_of_the_validation_split_is_evals_stateful_loss() {
    let dir = tempfile::tempdir().unwrap();
    let (ck, data) = trained(dir.path());
    let (ck, data_s) = (ck.to_str().unwrap(), data.to_str().unwrap());
    let text: Vec<char> = std::fs::read_to_string(&data).unwrap().chars().collect();
    let cut = (text.len() as f64 * (1.0 - 0.1)) as usize;
    let val = dir.path().join("val.txt");
    std::fs::write(&val, text[cut..].iter().collect::<String>()).unwrap();
    let score = json(&run(&["score", "-c", ck, "--data", val.to_str().unwrap(), "--json"]));
    assert_eq!(score["chars"].as_u64(), Some(2_100));
    let nats = score["nats_per_char"].as_f64().unwrap();
    let eval = run(&["eval", "-c", ck, "--data", data_s]);
    assert!(eval.status.success());
    let line = String::from_utf8(eval.stdout).unwrap();
    let field = |key: &str| -> f64 {
        line.split_whitespace().find_map(|kv| kv.strip_prefix(&format!("{key}="))).unwrap().parse().unwrap()
    };
    assert_eq!(field("val_chars"), 2_100.0);
    assert_eq!(format!("{:.4}", nats), format!("{:.4}", field("stateful_loss")), "{line}");
    assert_eq!(format!("{:.4}", score["bits_per_char"].as_f64().unwrap()), format!("{:.4}", field("stateful_bpc")));
    let r: Value = serde_json::from_str(&reference(&["eval", "--checkpoint", ck, "--data", data_s])).unwrap();
    assert_close(nats, r["stateful_loss"].as_f64().unwrap(), 1e-5, "score vs the reference's stateful loss");
    // In the library the two are one pass: equal to the last bits of an f64 sum.
    let model = gatescope::model::load_checkpoint(Path::new(ck)).unwrap().model;
    let ids: Vec<u32> = text[cut..].iter().map(|&c| model.vocab.id(c).unwrap() as u32).collect();
    let s = gatescope::train::score::score(&model, &ids, &mut |_| {});
    let loss = gatescope::train::eval::stateful_loss(&model, &ids, tch::Device::Cpu);
    assert_close(s.nats_per_char, loss, 1e-12, "score and stateful_loss in process");
}

#[test]
fn bad_input_is_one_line_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);
    std::fs::write(p("empty.txt"), "").unwrap();
    std::fs::write(p("binary.bin"), [0x7fu8, b'E', b'L', b'F', 0x02, 0x01, 0xff, 0xfe, 0x00]).unwrap();
    std::fs::write(p("nul.txt"), "ROMEO:\0x").unwrap();
    std::fs::write(p("unknown.txt"), "ROMEO: héllo").unwrap();
    std::fs::write(p("one.txt"), "R").unwrap();
    std::fs::write(p("ok.txt"), "ROMEO:").unwrap();
    let s = |name: &str| p(name).to_str().unwrap().to_string();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["--data".into(), s("empty.txt")], "empty.txt: file is empty"),
        (vec!["--data".into(), s("binary.bin")], "binary.bin: not UTF-8 text (invalid byte 0xFF at byte offset 6)"),
        (vec!["--data".into(), s("nul.txt")], "nul.txt: character U+0000 at offset 6 is not in the model's vocabulary"),
        (
            vec!["--data".into(), s("unknown.txt")],
            "character 'é' (U+00E9) at offset 8 is not in the model's vocabulary",
        ),
        (vec!["--text".into(), "ab\u{2603}".into()], "--text: character '☃' (U+2603) at offset 2"),
        (vec!["--data".into(), s("one.txt")], "one.txt has 1 character; score needs at least 2"),
        (vec!["--text".into(), "".into()], "--text is empty"),
        (vec!["--data".into(), s("missing.txt")], "missing.txt: cannot read"),
        (vec!["--data".into(), dir.path().to_str().unwrap().into()], "not a regular file"),
        (vec!["--data".into(), s("ok.txt"), "--text".into(), "ROMEO".into()], "'--data <FILE>' cannot be used with"),
        (vec![], "the required argument was not given: <--data <FILE>|--text <TEXT>>"),
    ];
    for (args, needle) in cases {
        let out = run(&[&["score".to_string()][..], &args].concat());
        let err = one_line_error(&out);
        assert!(err.starts_with("gatescope: ") && err.contains(needle), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}: nothing printed");
    }
}
