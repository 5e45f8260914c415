//! The shipped model's figures in the README are what `gatescope eval` and the
//! PyTorch reference measure on it. Slow (two full passes of a 2x512 model
//! over the 111,540 validation characters, in Rust and in Python; minutes on
//! a busy 2-core machine), so it is ignored by `make test` and run by
//! `make test-slow`.

mod common;

use common::{reference, run};

#[test]
#[ignore = "slow: run with make test-slow"]
fn the_readme_losses_are_measured_by_gatescope_and_by_pytorch() {
    let root = env!("CARGO_MANIFEST_DIR");
    let data = format!("{root}/data/tinyshakespeare.txt");
    let shipped = format!("{root}/assets/default.safetensors");
    let out = run(&["eval", "--data", &data]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let ours = String::from_utf8(out.stdout).unwrap();
    let field = |key: &str| -> f64 {
        ours.split_whitespace().find_map(|kv| kv.strip_prefix(&format!("{key}="))).unwrap().parse().unwrap()
    };
    let (windowed, stateful) = (field("windowed256_loss"), field("stateful_loss"));
    let theirs: serde_json::Value =
        serde_json::from_str(reference(&["eval", "--checkpoint", &shipped, "--data", &data]).trim()).unwrap();
    assert!((theirs["windowed_loss"].as_f64().unwrap() - windowed).abs() < 1e-4, "windowed: {ours} vs {theirs}");
    assert!((theirs["stateful_loss"].as_f64().unwrap() - stateful).abs() < 1e-4, "stateful: {ours} vs {theirs}");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    for figure in [format!("{windowed:.4} nats/char"), format!("{stateful:.4} nats/char")] {
        assert!(readme.contains(&figure), "the README states {figure}");
    }
}
