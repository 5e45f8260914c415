//! The arguments of a tiny, fast `gatescope train` run, and a run started
//! for a test to kill.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

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

/// Starts `gatescope ARGS` (a train run) and returns it once it prints its
/// `training …` line, so that a kill lands during training however long
/// start-up took on a busy machine. `Err` holds stderr when the run ended
/// before training. stderr goes on being read, so the run never blocks on it.
fn start_training(args: &[String]) -> Result<Child, String> {
    let mut child = super::gatescope().args(args).stderr(Stdio::piped()).spawn().expect("gatescope starts");
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut seen = Vec::new();
        for line in stderr.lines().map_while(Result::ok) {
            if line.starts_with("training ") {
                let _ = tx.send(Ok(()));
            }
            seen.push(line);
        }
        let _ = tx.send(Err(seen.join("\n")));
    });
    match rx.recv_timeout(Duration::from_secs(120)).expect("training starts or ends within two minutes") {
        Ok(()) => Ok(child),
        Err(log) => {
            child.wait().unwrap();
            Err(log)
        }
    }
}

/// One kill of a kill loop: starts `gatescope ARGS` (a train run), kills it
/// (SIGKILL) `delay` after training starts, and returns true. A resumed run
/// refuses a checkpoint whose optimizer `moments` file is of another step
/// (a kill between writing the moments and the latest state, in train's
/// order, so a checkpoint never stands beside older moments) and says to
/// remove the moments; then they are removed and false returned.
pub fn kill_during_training(args: &[String], moments: &Path, delay: Duration) -> bool {
    match start_training(args) {
        Ok(mut child) => {
            std::thread::sleep(delay);
            child.kill().unwrap();
            child.wait().unwrap();
            true
        }
        Err(log) if log.contains("the optimizer moments are of step") => {
            std::fs::remove_file(moments).unwrap();
            false
        }
        Err(log) => panic!("training did not start: {log}"),
    }
}
