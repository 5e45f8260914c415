//! Helpers shared by the integration tests: running gatescope and the
//! PyTorch reference, tiny models, the error contract; and, in the
//! submodules, the playground driven in process (`app`), the one tolerance
//! (`close`), the screen dump and snapshots (`screen`) and a tiny training
//! run's arguments (`training`).

pub mod app;
pub mod close;
pub mod python;
pub mod screen;
pub mod training;

pub use close::assert_close;
pub use python::python;
pub use screen::{assert_snapshot, screen};
pub use training::{kill_during_training, tiny_train};

use gatescope::model::{save_checkpoint, CharLstm};
use gatescope::vocab::Vocab;
use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The project's .venv python, which has torch, numpy and safetensors.
pub fn venv_python() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(p.exists(), "{} is missing: run the tests through `make test`, which creates it", p.display());
    p
}

pub fn gatescope() -> Command {
    Command::new(env!("CARGO_BIN_EXE_gatescope"))
}

pub fn run<S: AsRef<OsStr>>(args: &[S]) -> Output {
    gatescope().args(args).output().expect("gatescope runs")
}

/// A tiny random model saved as a checkpoint in `dir`.
pub fn tiny_checkpoint(dir: &Path, name: &str, text: &str, embed: usize, hidden: usize, layers: usize) -> PathBuf {
    let model = CharLstm::random(Vocab::from_text(text).unwrap(), embed, hidden, layers, 7);
    let path = dir.join(name);
    save_checkpoint(&model, &BTreeMap::new(), &path).unwrap();
    path
}

/// Run the project's PyTorch reference (`reference/charlstm.py`) with the
/// .venv's torch; its stdout. A failure of the reference fails the test.
pub fn reference(args: &[&str]) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("reference/charlstm.py");
    let out = python().arg(script).args(args).output().expect("the reference runs");
    assert!(out.status.success(), "reference/charlstm.py {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("UTF-8 from the reference")
}

/// Run `reference/MODULE.py`'s `main` once per argument list, all in one
/// Python run; each run prints one JSON value. A failing run fails the test.
pub fn reference_runs(module: &str, runs: &[Vec<String>]) -> Vec<serde_json::Value> {
    let script = format!(
        "import sys, json\nsys.path.insert(0, {:?})\nimport {module}\nfor argv in json.loads(sys.argv[1]):\n    \
         {module}.main(argv)\n    sys.stdout.flush()\n",
        Path::new(env!("CARGO_MANIFEST_DIR")).join("reference").to_str().unwrap()
    );
    let out = python().args(["-c", &script, &serde_json::to_string(runs).unwrap()]).output();
    let out = out.expect("the reference runs");
    assert!(out.status.success(), "reference/{module}.py: {}", String::from_utf8_lossy(&out.stderr));
    let values: Vec<serde_json::Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(values.len(), runs.len(), "one JSON value per run of reference/{module}.py");
    values
}

/// gatescope's JSON output for `args`, which must succeed.
pub fn run_json(args: &[String]) -> serde_json::Value {
    let out = run(args);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A text with every catalogue feature at work (speaker lines, quotes,
/// brackets closed below zero too, tab and space indents), after a stretch
/// of tinyshakespeare.
pub fn feature_text() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/tinyshakespeare.txt");
    let mut text: String = std::fs::read_to_string(path).unwrap().chars().take(1500).collect();
    for k in 0..4 {
        text.push_str(&format!(
            "\nROMEO:\n\tHe said, \"Stay (a while) [here],\" and left{k}.\n  {{Nay}}: \"go\"! ) ]\n\
             JULIET:\n  Good night, good night! (parting is such sweet sorrow)\n\nFirst Citizen:\nWe are accounted poor.\n"
        ));
    }
    text
}

/// A model made by the reference's `init`: PyTorch's initialisation, LSTM
/// weights multiplied by `scale` so the gates use their whole range.
pub fn reference_model(
    dir: &Path,
    name: &str,
    text: &str,
    embed: usize,
    hidden: usize,
    layers: usize,
    scale: f64,
) -> PathBuf {
    let path = dir.join(name);
    let (e, h, l, s) = (embed.to_string(), hidden.to_string(), layers.to_string(), scale.to_string());
    let args = ["init", "--text", text, "--embed", &e, "--hidden", &h, "--layers", &l, "--scale", &s];
    reference(&[&args[..], &["--out", path.to_str().unwrap()]].concat());
    path
}

/// stderr as text, asserting the error contract: one line, non-zero exit, no panic.
pub fn one_line_error(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "expected failure, got success; stderr: {err}");
    assert_eq!(out.status.code(), Some(1), "exit status; stderr: {err}");
    assert!(!err.contains("panicked"), "panic: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line expected: {err}");
    err
}

/// For commands that log progress first (train): the failure is the last line.
pub fn last_line_error(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "exit status; stderr: {err}");
    assert!(!err.contains("panicked"), "panic: {err}");
    let last = err.trim_end().lines().last().unwrap_or("").to_string();
    assert!(last.starts_with("gatescope: "), "last line is the error: {err}");
    last
}

/// The names of the temporary files (`*.tmp`) in `dir`: an interrupted
/// write must leave none.
pub fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect()
}

/// A named pipe at `path`: a destination (or source) that is not a regular file.
pub fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo {}", path.display());
}

/// Run gatescope so that mode bits bind it when the tests run as root:
/// the same user, without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH (root
/// writes through mode bits with them, so a read-only folder would not be
/// read-only to it). Staying the same user keeps the checkout and its
/// libtorch readable wherever the clone lives (a `mktemp -d` folder, /root).
/// A failure to drop them fails the test with the reason: the check must
/// run, not be skipped.
pub fn run_unprivileged<S: AsRef<OsStr>>(args: &[S]) -> Output {
    if unsafe { libc::geteuid() } != 0 {
        return run(args);
    }
    let out = Command::new("setpriv")
        .args(["--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search", "--"])
        .arg(env!("CARGO_BIN_EXE_gatescope"))
        .args(args)
        .output()
        .expect("setpriv runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.starts_with("setpriv:") && !stderr.contains("error while loading shared libraries"),
        "cannot run gatescope without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH: {stderr}"
    );
    out
}

/// A folder that its owner may read but not write, inside `parent`.
pub fn read_only_folder(parent: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let ro = parent.join("ro");
    std::fs::create_dir(&ro).unwrap();
    std::fs::set_permissions(parent, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    ro
}

/// Where a property test keeps the seeds of its failures: a file beside the
/// test's source (NAME.proptest-regressions, to commit), whose cases run
/// first on every later run. (proptest's default, `SourceParallel`, would
/// put them under tests/proptest-regressions/, as tests/it has a main.rs.)
pub fn kept_failures() -> Option<Box<dyn proptest::test_runner::FailurePersistence>> {
    Some(Box::new(proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions")))
}
