//! `gatescope generate --beam W`: the reference's beam search, greedy at
//! W = 1, the trace of the chosen beam, and the options it refuses.

use super::score::trained;
use crate::common::{one_line_error, reference, run};

fn stdout(out: &std::process::Output) -> String {
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// On a trained model the beams differ from one width to the next, and each
/// equals the reference's (which steps every beam on its own batch-1 state
/// rather than as one batch); W = 1 is greedy generation.
#[test]
fn beam_equals_the_pytorch_reference_and_one_beam_is_greedy() {
    let dir = tempfile::tempdir().unwrap();
    let (ck, _) = trained(dir.path());
    let ck = ck.to_str().unwrap();
    let prompt = "ROMEO:\n";
    let mut seen = Vec::new();
    for w in ["1", "4", "16"] {
        let ours = stdout(&run(&["generate", "-c", ck, "-p", prompt, "-l", "200", "--beam", w]));
        let theirs = reference(&["beam", "--checkpoint", ck, "--prompt", prompt, "--length", "200", "--width", w]);
        assert_eq!(ours, format!("{prompt}{theirs}"), "--beam {w}");
        assert_eq!(theirs.chars().count(), 200);
        seen.push(theirs);
    }
    let greedy = stdout(&run(&["generate", "-c", ck, "-p", prompt, "-l", "200", "--temperature", "0"]));
    assert_eq!(format!("{prompt}{}", seen[0]), greedy, "--beam 1 is greedy");
    let theirs_greedy = reference(&["greedy", "--checkpoint", ck, "--prompt", prompt, "--length", "200"]);
    assert_eq!(seen[0], theirs_greedy);
    assert!(seen[0] != seen[1] || seen[1] != seen[2], "the widths find different continuations");
}

/// With --trace the trace holds the chosen beam's steps with their real
/// gates: at W = 1 (greedy) it is the greedy run's trace, byte for byte.
#[test]
fn beam_trace_holds_the_chosen_beams_steps() {
    let dir = tempfile::tempdir().unwrap();
    let (ck, _) = trained(dir.path());
    let ck = ck.to_str().unwrap();
    let (a, b) = (dir.path().join("beam.jsonl"), dir.path().join("greedy.jsonl"));
    let beam =
        stdout(&run(&["generate", "-c", ck, "-p", "First", "-l", "60", "--beam", "1", "--trace", a.to_str().unwrap()]));
    let greedy =
        stdout(&run(&["generate", "-c", ck, "-p", "First", "-l", "60", "-t", "0", "--trace", b.to_str().unwrap()]));
    assert_eq!(beam, greedy);
    let (ta, tb) = (std::fs::read_to_string(&a).unwrap(), std::fs::read_to_string(&b).unwrap());
    assert_eq!(ta.lines().count(), 5 + 60);
    assert_eq!(ta, tb, "the W = 1 trace is the greedy trace");
    // A wider beam's trace spells its output.
    let out =
        stdout(&run(&["generate", "-c", ck, "-p", "First", "-l", "60", "--beam", "8", "--trace", a.to_str().unwrap()]));
    let traced: String = std::fs::read_to_string(&a)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["char"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(traced, out);
    // Zero characters: the prompt alone.
    assert_eq!(stdout(&run(&["generate", "-c", ck, "-p", "First", "-l", "0", "--beam", "8"])), "First");
}

#[test]
fn beam_refuses_bad_widths_and_the_sampling_options() {
    let cases: &[(&[&str], &str)] = &[
        (&["--beam", "0"], "--beam must be from 1 to 64 (got '0')"),
        (&["--beam", "65"], "--beam must be from 1 to 64 (got '65')"),
        (&["--beam", "-1"], "--beam must be from 1 to 64 (got '-1')"),
        (&["--beam", "1e9"], "--beam must be a whole number from 1 to 64"),
        (&["--beam", ""], "--beam must be a whole number from 1 to 64"),
        (&["--beam", "4", "--temperature", "0.8"], "--beam 4 takes no --temperature"),
        (&["--beam", "4", "-t", "0"], "--beam 4 takes no --temperature"),
        (&["--beam", "4", "--top-k", "3"], "--beam 4 takes no --top-k"),
        (&["--beam", "4", "--top-p", "0.9"], "--beam 4 takes no --top-p"),
        (&["--beam", "4", "--seed", "0"], "--beam 4 takes no --seed"),
        (&["--beam", "4", "--intervene", "l0:0:c=0"], "--beam 4 takes no --intervene"),
        (&["--beam", "4", "--compare", "--intervene", "l0:0:c=0"], "--beam 4 takes no --compare"),
    ];
    for (extra, needle) in cases {
        let out = run(&[&["generate", "-p", "ROMEO:", "-l", "5"][..], extra].concat());
        let err = one_line_error(&out);
        assert!(err.contains(needle), "{extra:?}: {err}");
        assert!(out.stdout.is_empty(), "{extra:?}: nothing generated");
    }
}

/// Equal scores go to the lower beam, then the lower character: with every
/// weight zero but the head's bias, which favours 'b' and 'c' equally, the
/// first beam is all 'b' at every width (the higher beam or character first
/// would give 'c's).
#[test]
fn ties_go_to_the_lower_beam_then_the_lower_character() {
    use gatescope::generate::Generator;
    use gatescope::model::CharLstm;
    use gatescope::vocab::Vocab;
    let m = CharLstm::random(Vocab::from_text("abcd").unwrap(), 4, 8, 2, 7);
    tch::no_grad(|| {
        for (name, t) in m.named_tensors() {
            let mut t = t.shallow_clone();
            if name == "head.bias" {
                t.copy_(&tch::Tensor::from_slice(&[0f32, 1.0, 1.0, 0.0]));
            } else {
                let _ = t.zero_();
            }
        }
    });
    let mut g = Generator::new(&m, Default::default());
    g.feed_prompt("a").unwrap();
    for w in [1, 2, 3, 64] {
        assert_eq!(g.beam_search(w, 6, &mut |_| Ok(())).unwrap(), vec![1; 6], "width {w}");
    }
    assert_eq!(g.beam_search(4, 0, &mut |_| Ok(())).unwrap(), Vec::<usize>::new());
    let err = g.beam_search(65, 3, &mut |_| Ok(())).unwrap_err().to_string();
    assert!(err.contains("from 1 to 64"), "{err}");
}
