//! Python runs for the tests, through tests/py/forkserver.py: a server that
//! has imported torch once forks a child per run, so a run costs what its
//! own work costs instead of well over a second of importing torch first.
//!
//! `python()` is used as `Command::new(venv_python())` would be: arguments,
//! then `output()` or `status()`. Servers are kept in a pool, one per test
//! thread that needs one at the same moment.

use std::ffi::{OsStr, OsString};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Output, Stdio};
use std::sync::Mutex;

/// A run of the project's .venv python with these arguments.
pub fn python() -> Python {
    Python { args: Vec::new() }
}

pub struct Python {
    args: Vec<OsString>,
}

impl Python {
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(mut self, args: I) -> Self {
        self.args.extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Runs to the end; its exit status, stdout and stderr.
    pub fn output(self) -> std::io::Result<Output> {
        let argv: Vec<String> = self
            .args
            .iter()
            .map(|a| a.to_str().expect("Python arguments are UTF-8 (the request is JSON)").to_string())
            .collect();
        let dir = tempfile::tempdir()?;
        let (out, err) = (dir.path().join("stdout"), dir.path().join("stderr"));
        let mut server = take_server();
        let status = server.run(&argv, &out, &err);
        POOL.lock().unwrap_or_else(|e| e.into_inner()).push(server);
        Ok(Output { status, stdout: std::fs::read(&out)?, stderr: std::fs::read(&err)? })
    }

    /// Runs to the end; its exit status. Its stdout and stderr are dropped.
    pub fn status(self) -> std::io::Result<ExitStatus> {
        self.output().map(|o| o.status)
    }
}

/// Idle servers. A run takes one (or starts one) and gives it back.
static POOL: Mutex<Vec<Server>> = Mutex::new(Vec::new());

fn take_server() -> Server {
    let idle = POOL.lock().unwrap_or_else(|e| e.into_inner()).pop();
    idle.unwrap_or_else(Server::start)
}

struct Server {
    _process: Child,
    requests: ChildStdin,
    answers: BufReader<ChildStdout>,
}

impl Server {
    fn start() -> Server {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/forkserver.py");
        let mut process = Command::new(super::venv_python())
            .arg(&script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the .venv's python starts");
        let requests = process.stdin.take().unwrap();
        let mut answers = BufReader::new(process.stdout.take().unwrap());
        let mut ready = String::new();
        answers.read_line(&mut ready).unwrap();
        assert_eq!(ready, "ready\n", "{} did not start (its error is above)", script.display());
        Server { _process: process, requests, answers }
    }

    fn run(&mut self, argv: &[String], stdout: &Path, stderr: &Path) -> ExitStatus {
        let request = serde_json::json!({ "argv": argv, "stdout": stdout, "stderr": stderr });
        writeln!(self.requests, "{request}").expect("the fork server takes a request");
        let mut line = String::new();
        self.answers.read_line(&mut line).expect("the fork server answers");
        let answer: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("the fork server's answer {line:?} to {argv:?}: {e}"));
        match (answer["code"].as_i64(), answer["signal"].as_i64()) {
            (Some(code), _) => ExitStatus::from_raw((code as i32) << 8),
            (_, Some(signal)) => ExitStatus::from_raw(signal as i32),
            _ => panic!("the fork server's answer {line:?} has no code or signal"),
        }
    }
}

#[test]
fn a_run_through_the_server_is_what_a_new_interpreter_gives() {
    let out = python()
        .args(["-c", "import sys, torch; print(sys.argv[1:], torch.zeros(2).sum().item()); print('e', file=sys.stderr); sys.exit(3)"])
        .args(["a", "b c"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "['a', 'b c'] 0.0\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "e\n");
    // A run starts from the server's state, not from the previous run's.
    let first = python().args(["-c", "import sys; sys.ran = 1"]).status().unwrap();
    let second = python().args(["-c", "import sys; assert not hasattr(sys, 'ran')"]).output().unwrap();
    assert!(first.success() && second.status.success(), "{}", String::from_utf8_lossy(&second.stderr));
    let raised = python().args(["-c", "raise ValueError('named')"]).output().unwrap();
    assert_eq!(raised.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&raised.stderr).contains("ValueError: named"));
    let killed = python().args(["-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"]).status().unwrap();
    assert_eq!(killed.signal(), Some(9));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("reference/charlstm.py");
    let help = python().arg(&script).arg("--help").output().unwrap();
    assert!(help.status.success() && String::from_utf8_lossy(&help.stdout).contains("usage"));
}
