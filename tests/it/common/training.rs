//! The arguments of a tiny, fast `gatescope train` run.

use std::path::Path;

/// The base of every tiny run: one layer of 16 units, short batches, no
/// dropout, one thread.
const BASE: &[(&str, &str)] = &[
    ("--layers", "1"),
    ("--hidden", "16"),
    ("--embed", "4"),
    ("--seq", "8"),
    ("--batch", "4"),
    ("--dropout", "0"),
    ("--threads", "1"),
];

/// `train --data DATA --out OUT`, the base sizes, then `extra`; an option in
/// `extra` replaces the base's of the same name (clap refuses an option
/// given twice).
pub fn tiny_train(data: impl AsRef<Path>, out: impl AsRef<Path>, extra: &[&str]) -> Vec<String> {
    let path = |p: &Path| p.to_str().expect("a UTF-8 path").to_string();
    let mut args = vec!["train".into(), "--data".into(), path(data.as_ref()), "--out".into(), path(out.as_ref())];
    for (option, value) in BASE {
        if !extra.contains(option) {
            args.extend([option.to_string(), value.to_string()]);
        }
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}
