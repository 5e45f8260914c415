//! A pseudo-terminal harness for the end-to-end tests (and the TUI bench,
//! which includes this file): run a shell script in a pty of a given size,
//! read the screen back through a terminal emulator (vt100), type into it,
//! resize it.

use portable_pty::{native_pty_system, Child, CommandBuilder, MasterPty, PtySize};
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Pty {
    pub parser: Arc<Mutex<vt100::Parser>>,
    pub master: Box<dyn MasterPty + Send>,
    writer: Box<dyn Write + Send>,
    pub child: Box<dyn Child + Send + Sync>,
    /// How long `wait_for` and `wait_exit` wait before giving up.
    pub timeout: Duration,
    /// How often `wait_for` looks at the screen.
    pub poll: Duration,
}

impl Pty {
    /// Run `script` under `sh -c` in a rows x cols pty.
    pub fn spawn(script: &str, rows: u16, cols: u16, env: &[(&str, &str)]) -> Pty {
        let pair = native_pty_system().openpty(PtySize { rows, cols, pixel_width: 0, pixel_height: 0 }).unwrap();
        let mut cmd = CommandBuilder::new("sh");
        cmd.args(["-c", script]);
        cmd.env("TERM", "xterm-256color");
        cmd.env_remove("RUST_BACKTRACE");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = pair.slave.spawn_command(cmd).unwrap();
        drop(pair.slave);
        let parser = Arc::new(Mutex::new(vt100::Parser::new(rows, cols, 0)));
        let mut reader = pair.master.try_clone_reader().unwrap();
        let p = parser.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 16384];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                p.lock().unwrap().process(&buf[..n]);
            }
        });
        let writer = pair.master.take_writer().unwrap();
        Pty {
            parser,
            master: pair.master,
            writer,
            child,
            timeout: Duration::from_secs(30),
            poll: Duration::from_millis(20),
        }
    }

    pub fn send(&mut self, s: &str) {
        self.writer.write_all(s.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    pub fn contents(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    pub fn row(&self, r: u16) -> String {
        let p = self.parser.lock().unwrap();
        let (_, cols) = p.screen().size();
        p.screen().contents_between(r, 0, r, cols)
    }

    pub fn wait_for(&self, what: &str, cond: impl Fn(&vt100::Screen) -> bool) {
        self.wait_for_screen(what, cond);
    }

    /// `wait_for`, returning the screen's text as it was when `cond` first
    /// held (read under the same lock, so no later frame is mixed in).
    pub fn wait_for_screen(&self, what: &str, cond: impl Fn(&vt100::Screen) -> bool) -> String {
        let t0 = Instant::now();
        loop {
            {
                let parser = self.parser.lock().unwrap();
                if cond(parser.screen()) {
                    return parser.screen().contents();
                }
            }
            if t0.elapsed() > self.timeout {
                panic!("timed out waiting for {what}; screen:\n{}", self.contents());
            }
            std::thread::sleep(self.poll);
        }
    }

    pub fn resize(&self, rows: u16, cols: u16) {
        self.parser.lock().unwrap().screen_mut().set_size(rows, cols);
        self.master.resize(PtySize { rows, cols, pixel_width: 0, pixel_height: 0 }).unwrap();
    }

    pub fn wait_exit(&mut self) -> portable_pty::ExitStatus {
        let t0 = Instant::now();
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            if t0.elapsed() > self.timeout {
                let _ = self.child.kill();
                panic!("the process did not exit; screen:\n{}", self.contents());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
