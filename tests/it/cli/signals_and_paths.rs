//! Hardening: a private checkout, traces with interventions,
//! signals during any write, FIFOs, permissions, links, memory for long
//! inputs, the analyses' defaults, and messages.

use crate::common::{gatescope, mkfifo, one_line_error, run, temp_files, tiny_checkpoint, tiny_train};
use gatescope::model::{load_checkpoint, save_checkpoint, CharLstm};
use gatescope::vocab::Vocab;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

const TEXT: &str = "First Citizen:\nBefore we proceed any further, hear me speak.\n-abc\n";

fn ok(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "expected success: {err}");
    err
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

// The unprivileged run reads what its owner can read. The checkpoint
// sits in a folder only its owner may enter (as `mktemp -d` makes, and as a
// clone under /root is); `nobody` could not read it, the same user without
// CAP_DAC_OVERRIDE can, and is still refused by the read-only folder.
#[test]
fn an_unprivileged_run_reads_a_private_folder_and_is_refused_a_read_only_one() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let ck = tiny_checkpoint(dir.path(), "m.safetensors", TEXT, 8, 16, 1);
    std::fs::set_permissions(&ck, std::fs::Permissions::from_mode(0o600)).unwrap();
    let ro = dir.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    let trace = ro.join("t.jsonl");
    let out = crate::common::run_unprivileged(&["generate", "-c", s(&ck), "-p", "hear", "--trace", s(&trace)]);
    let err = one_line_error(&out);
    assert!(err.contains("cannot write in folder"), "the checkpoint was read, the folder refused: {err}");
    assert!(!trace.exists());
}

// Export reads a trace whose first line names its interventions, and
// the page's legend names them.
#[test]
fn export_reads_a_trace_with_interventions() {
    let dir = tempfile::tempdir().unwrap();
    let ck = tiny_checkpoint(dir.path(), "m.safetensors", TEXT, 8, 16, 2);
    let trace = dir.path().join("iv.jsonl");
    let out =
        run(&["generate", "-c", s(&ck), "-p", "hear", "-l", "20", "--intervene", "l1:3:c=3", "--trace", s(&trace)]);
    ok(&out);
    assert!(std::fs::read_to_string(&trace).unwrap().starts_with("{\"interventions\":[\"l1:3:c=3\"]}"));
    let html = dir.path().join("iv.html");
    ok(&run(&["export", s(&trace), "--unit", "l1:3", "--html", s(&html)]));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("with interventions l1:3:c=3"), "the legend names them");
    let svg = dir.path().join("iv.svg");
    let err = ok(&run(&["export", s(&trace), "--layer", "l0", "--gate", "f", "--svg", s(&svg)]));
    assert!(err.contains("24 steps"), "the header is not a step: {err}");
    // A first line that claims to be the header but is not one is named.
    let bad = dir.path().join("bad.jsonl");
    let body = std::fs::read_to_string(&trace).unwrap().replacen("[\"l1:3:c=3\"]", "3", 1);
    std::fs::write(&bad, body).unwrap();
    let err = one_line_error(&run(&["export", s(&bad), "--unit", "l1:3", "--html", s(&html)]));
    assert!(err.contains("bad.jsonl:1: not an interventions line"), "{err}");
}

// Any writer's temporary file is removed on SIGINT, SIGTERM and
// SIGHUP, and the process ends as the signal ends it. `convert` writes one
// large file; the signal is sent while its temporary file exists.
#[test]
fn a_signal_during_any_write_removes_its_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let big = CharLstm::random(Vocab::from_text(TEXT).unwrap(), 64, 1536, 2, 3);
    let src = dir.path().join("big.safetensors");
    save_checkpoint(&big, &Default::default(), &src).unwrap();
    drop(big);
    let work = dir.path().join("out");
    std::fs::create_dir(&work).unwrap();
    let out = work.join("half.safetensors");
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        let mut caught = false;
        for _attempt in 0..20 {
            let mut child = gatescope()
                .args(["convert", s(&src), "--dtype", "f16", "--out", s(&out)])
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let t0 = Instant::now();
            while temp_files(&work).is_empty() && t0.elapsed() < Duration::from_secs(60) {
                if child.try_wait().unwrap().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_micros(300));
            }
            unsafe { libc::kill(child.id() as i32, sig) };
            let mut err = String::new();
            child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
            let status = child.wait().unwrap();
            assert!(temp_files(&work).is_empty(), "signal {sig}: temporary file left: {err}");
            if out.exists() {
                // The signal came after the rename: try again.
                std::fs::remove_file(&out).unwrap();
                continue;
            }
            assert_eq!(status.signal(), Some(sig), "ended as the signal ends it: {err}");
            assert!(err.contains("was not written") && err.contains("half.safetensors"), "{err}");
            caught = true;
            break;
        }
        assert!(caught, "signal {sig}: never arrived while the file was being written");
    }
}

// Train and `generate --trace`: the kill loops in tests/it/cli/hardening.rs
// send SIGHUP as well as SIGINT and SIGTERM.

// `convert` refuses a FIFO at once instead of blocking in open().
#[test]
fn convert_refuses_a_fifo_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("model.pt");
    mkfifo(&fifo);
    let vocab = dir.path().join("v.txt");
    std::fs::write(&vocab, TEXT).unwrap();
    let out = dir.path().join("x.safetensors");
    for extra in [&[][..], &["--vocab", s(&vocab)][..]] {
        let mut child = gatescope()
            .args([&["convert", s(&fifo), "--out", s(&out)][..], extra].concat())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let t0 = Instant::now();
        while child.try_wait().unwrap().is_none() {
            if t0.elapsed() > Duration::from_secs(20) {
                child.kill().unwrap();
                child.wait().unwrap();
                panic!("convert {extra:?} blocked on the FIFO");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = child.wait_with_output().unwrap();
        let err = one_line_error(&out);
        assert!(err.contains("model.pt") && err.contains("not a regular file"), "{err}");
    }
}

// `cells --save` keeps the checkpoint's mode, and refuses a file with
// other hard links (the catalogue would reach one name only).
#[test]
fn cells_save_keeps_the_mode_and_refuses_hard_links() {
    let dir = tempfile::tempdir().unwrap();
    let ck = tiny_checkpoint(dir.path(), "m.safetensors", TEXT, 4, 8, 1);
    let data = dir.path().join("d.txt");
    std::fs::write(&data, TEXT.repeat(20)).unwrap();
    std::fs::set_permissions(&ck, std::fs::Permissions::from_mode(0o600)).unwrap();
    ok(&run(&["cells", "-c", s(&ck), "--data", s(&data), "--save"]));
    assert!(load_checkpoint(&ck).unwrap().metadata.contains_key("cells"));
    let mode = std::fs::metadata(&ck).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "a private checkpoint stays private");

    let fresh = tiny_checkpoint(dir.path(), "f.safetensors", TEXT, 4, 8, 1);
    std::fs::hard_link(&fresh, dir.path().join("link.safetensors")).unwrap();
    let before = std::fs::read(&fresh).unwrap();
    let err = one_line_error(&run(&["cells", "-c", s(&fresh), "--data", s(&data), "--save"]));
    assert!(err.contains("--save") && err.contains("2 hard links"), "{err}");
    assert_eq!(std::fs::read(&fresh).unwrap(), before, "untouched");
}

// An output that is a symbolic link to a regular file is written
// through the link: the target gets the output, the link stays a link.
#[test]
fn an_output_that_is_a_symbolic_link_is_written_through() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ck = tiny_checkpoint(d, "m.safetensors", TEXT, 4, 8, 1);
    let data = d.join("d.txt");
    std::fs::write(&data, TEXT.repeat(20)).unwrap();
    let link = |name: &str| -> (PathBuf, PathBuf) {
        let (target, l) = (d.join(format!("{name}.target")), d.join(name));
        std::fs::write(&target, b"old").unwrap();
        std::os::unix::fs::symlink(&target, &l).unwrap();
        (l, target)
    };
    let is_link = |p: &Path| std::fs::symlink_metadata(p).unwrap().file_type().is_symlink();

    let (trace, trace_target) = link("t.jsonl");
    ok(&run(&["generate", "-c", s(&ck), "-p", "hear", "-l", "5", "--trace", s(&trace)]));
    assert!(is_link(&trace) && std::fs::read_to_string(&trace_target).unwrap().starts_with("{\"t\":0"));

    let (html, html_target) = link("p.html");
    ok(&run(&["export", s(&trace), "--unit", "l0:1", "--html", s(&html)]));
    assert!(is_link(&html) && std::fs::read_to_string(&html_target).unwrap().contains("<html"));

    let (conv, conv_target) = link("c.safetensors");
    ok(&run(&["convert", s(&ck), "--dtype", "f16", "--out", s(&conv)]));
    assert!(is_link(&conv) && load_checkpoint(&conv_target).is_ok());

    let real = tiny_checkpoint(d, "real.safetensors", TEXT, 4, 8, 1);
    let via = d.join("via.safetensors");
    std::os::unix::fs::symlink(&real, &via).unwrap();
    ok(&run(&["cells", "-c", s(&via), "--data", s(&data), "--save"]));
    assert!(is_link(&via) && load_checkpoint(&real).unwrap().metadata.contains_key("cells"));
    assert!(temp_files(d).is_empty());

    // A link to something that is not a regular file is refused for what it points to.
    let dev = d.join("dev.html");
    std::os::unix::fs::symlink("/dev/null", &dev).unwrap();
    let err = one_line_error(&run(&["export", s(&trace), "--unit", "l0:1", "--html", s(&dev)]));
    assert!(err.contains("not a regular file") && err.contains("/dev/null"), "{err}");
}

// `train --out` naming the file being resumed from is refused.
#[test]
fn train_refuses_to_write_over_the_file_it_resumes_from() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d.txt");
    std::fs::write(&data, "the cat sat on the mat. ".repeat(200)).unwrap();
    let out = dir.path().join("r.safetensors");
    ok(&run(&tiny_train(&data, &out, &["--steps", "2"])));
    let last = dir.path().join("r.last.safetensors");
    let before = std::fs::read(&last).unwrap();
    let args = ["train", "--data", s(&data), "--resume", s(&last), "--out", s(&last), "--steps", "4"];
    let err = one_line_error(&run(&args));
    assert!(err.contains("--out") && err.contains("same file as --resume"), "{err}");
    assert_eq!(std::fs::read(&last).unwrap(), before);
}

/// Peak resident memory of a finished gatescope run, in KB. A small Python
/// process starts it and reads RUSAGE_CHILDREN: a child spawned from this
/// test process directly would report the test process's own peak too
/// (Linux carries the peak of the address space it leaves across exec).
fn peak_rss_kb(args: &[&str]) -> u64 {
    let script = "import resource, subprocess, sys\n\
                  r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)\n\
                  sys.stderr.write(r.stderr.decode(errors='replace'))\n\
                  print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)";
    let out =
        crate::common::python().args(["-c", script, env!("CARGO_BIN_EXE_gatescope")]).args(args).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (code, kb) = text.trim().split_once(' ').unwrap_or(("?", "0"));
    assert_eq!(code, "0", "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    kb.parse().unwrap()
}

// A long prompt and a long evaluation text take memory bounded by
// their chunks, not their length. Measured on a tiny model: the difference
// between a short and a long input is what the input costs.
#[test]
fn a_long_prompt_and_a_long_eval_text_take_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let ck = tiny_checkpoint(dir.path(), "m.safetensors", TEXT, 8, 64, 2);
    let ck = s(&ck);
    let short: String = TEXT.chars().cycle().take(1_000).collect();
    // Under the 128 KB a single argument may hold; each step of it costs
    // about 3 KB kept (every gate of both layers) if steps are kept.
    let long: String = TEXT.chars().cycle().take(100_000).collect();
    let base = peak_rss_kb(&["generate", "-c", ck, "-p", &short, "-l", "10"]);
    let big = peak_rss_kb(&["generate", "-c", ck, "-p", &long, "-l", "10"]);
    assert!(big < base + 30_000, "a 100,000-character prompt took {big} KB against {base} KB for 1,000");
    let file = dir.path().join("prompt.txt");
    std::fs::write(&file, &long).unwrap();
    let from_file = peak_rss_kb(&["generate", "-c", ck, "--prompt-file", s(&file), "-l", "10"]);
    assert!(from_file < base + 30_000, "--prompt-file: {from_file} KB against {base} KB");

    let small_text = dir.path().join("small.txt");
    std::fs::write(&small_text, TEXT.repeat(200)).unwrap();
    let big_text = dir.path().join("big.txt");
    std::fs::write(&big_text, TEXT.repeat(300_000)).unwrap(); // 20 MB
    let eval = |f: &Path| peak_rss_kb(&["eval", "-c", ck, "--data", s(f), "--val-frac", "0.001"]);
    let (small, big) = (eval(&small_text), eval(&big_text));
    // Whole, the 20 MB text is 20 MB of text and 160 MB of ids.
    assert!(big < small + 40_000, "eval of 20 MB took {big} KB against {small} KB for 13 KB");
}

// Without --chars the analyses read the whole of a short file.
#[test]
fn the_analyses_read_a_short_file_whole_without_chars() {
    let dir = tempfile::tempdir().unwrap();
    let ck = tiny_checkpoint(dir.path(), "m.safetensors", TEXT, 4, 8, 2);
    let data = dir.path().join("short.txt");
    std::fs::write(&data, TEXT.repeat(40)).unwrap(); // 2,720 characters
    let n = TEXT.chars().count() * 40;
    let base = ["-c", s(&ck), "--data", s(&data)];
    let cells = String::from_utf8(run(&[&["cells"][..], &base].concat()).stdout).unwrap();
    assert!(cells.contains(&format!("over the first {},{:03} characters", n / 1000, n % 1000)), "{cells}");
    let search = run(&[&["search"][..], &base, &["--layer", "l1", "--span", "3..9"]].concat());
    ok(&search);
    ok(&run(&[&["saturation"][..], &base].concat()));
    // An explicit --chars beyond the file stays an error.
    let err = one_line_error(&run(&[&["cells"][..], &base, &["--chars", "20000"]].concat()));
    assert!(err.contains("--chars 20000") && err.contains("only"), "{err}");
}

// A missing required argument is named.
#[test]
fn a_missing_required_argument_is_named() {
    for (args, names) in [
        (&["generate"][..], &["--prompt"][..]),
        (&["train"], &["--data", "--out"]),
        (&["export"], &["<TRACE>"]),
        (&["convert", "x.pt"], &["--out"]),
        (&["eval"], &["--data"]),
        (&["cells"], &["--data"]),
        (&["search", "--data", "x"], &["--layer", "--span"]),
    ] {
        let err = one_line_error(&run(args));
        for n in names {
            assert!(err.contains(n), "{args:?}: {err}");
        }
    }
}

// Negative counts in export get the range message, not clap's "unexpected argument".
#[test]
fn negative_export_counts_get_a_range_message() {
    let dir = tempfile::tempdir().unwrap();
    let ck = tiny_checkpoint(dir.path(), "m.safetensors", TEXT, 4, 8, 1);
    let trace = dir.path().join("t.jsonl");
    ok(&run(&["generate", "-c", s(&ck), "-p", "hear", "-l", "3", "--trace", s(&trace)]));
    let svg = dir.path().join("x.svg");
    for (opt, needle) in [("--most-variable", "must be at least 1"), ("--units", "0 to the layer's size")] {
        let err =
            one_line_error(&run(&["export", s(&trace), "--layer", "l0", "--gate", "f", opt, "-1", "--svg", s(&svg)]));
        assert!(err.contains(opt) && err.contains(needle) && !err.contains("unexpected"), "{err}");
    }
}

// The save box refuses a folder and a device as typed, and says what it writes.
#[test]
fn the_save_box_refuses_folders_and_devices_and_names_its_files() {
    use gatescope::tui::app::save::{box_title, resolve};
    let dir = tempfile::tempdir().unwrap();
    let here = Path::new(".");
    let err = resolve("/dev/full", here).unwrap_err().to_string();
    assert!(err.contains("/dev/full") && err.contains("not a regular file"), "{err}");
    let err = resolve(s(dir.path()), here).unwrap_err().to_string();
    assert!(err.contains("is a folder"), "{err}");
    let title = box_title("run", dir.path(), false);
    let shown = |ext: &str| dir.path().join(format!("run.{ext}")).display().to_string();
    for ext in ["txt", "jsonl", "html"] {
        assert!(title.contains(&shown(ext)), "{title}");
    }
    assert!(box_title("/dev/full", here, false).contains("not a regular file"));
}

// Smaller messages.
#[test]
fn smaller_messages_say_what_is() {
    let dir = tempfile::tempdir().unwrap();
    let err = one_line_error(&run(&["generate", "-p", "a", "--top-k", "-1"]));
    assert!(err.contains("vocabulary size") && !err.contains("2097152"), "{err}");

    let ck = tiny_checkpoint(dir.path(), "m.safetensors", TEXT, 4, 8, 1);
    let data = dir.path().join("d.txt");
    std::fs::write(&data, TEXT.repeat(20)).unwrap();
    let out = run(&["cells", "-c", s(&ck), "--data", s(&data), "--chars", "1"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("over the first character of"), "{text}");

    let model = CharLstm::random(Vocab::from_text(TEXT).unwrap(), 4, 8, 1, 1);
    tch::no_grad(|| {
        let _ = model.head_b.shallow_clone().fill_(f64::NAN);
    });
    let nan = dir.path().join("nan.safetensors");
    save_checkpoint(&model, &Default::default(), &nan).unwrap();
    let out = run(&["eval", "-c", s(&nan), "--data", s(&data)]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("warning") && err.contains("NaN"), "eval warns as generate does: {err}");

    let help = String::from_utf8(run(&["eval", "--help"]).stdout).unwrap();
    let data_line = help.lines().find(|l| l.trim_start().starts_with("--data")).unwrap_or("");
    let described = data_line.trim().len() > "--data <DATA>".len()
        || help.lines().skip_while(|l| !l.trim_start().starts_with("--data")).nth(1).is_some_and(|l| {
            let t = l.trim();
            !t.is_empty() && !t.starts_with('-')
        });
    assert!(described, "--data is described:\n{help}");
}

// Alt-s at seed 0 stays at 0 (the seed's range ends there), not 2^64 - 1.
#[test]
fn alt_s_at_seed_zero_stays_at_zero() {
    use gatescope::tui::app::App;
    use gatescope::tui::event::{Event, ModelInfo};
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let m = CharLstm::random(Vocab::from_text(TEXT).unwrap(), 4, 8, 1, 7);
    let mut app = App::new(ModelInfo::new("tiny.safetensors", &m, vec![]));
    assert_eq!(app.sampling.seed, 0);
    app.update(Event::Key(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::ALT)));
    assert_eq!(app.sampling.seed, 0);
}

// Alt-F takes a one-character file, as `cells --chars 1` does, and
// its status line reads "over all 1 chars of ...", not "over the all ...".
#[test]
fn alt_f_takes_a_one_character_file_and_says_over_all() {
    use gatescope::tui::app::{App, Mode};
    use gatescope::tui::event::{Event, ModelInfo, WorkerEvent};
    use gatescope::tui::worker::Worker;
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let m = CharLstm::random(Vocab::from_text(TEXT).unwrap(), 4, 8, 1, 7);
    let dir = tempfile::tempdir().unwrap();
    let one = dir.path().join("one.txt");
    std::fs::write(&one, "F").unwrap();
    let mut app = App::new(ModelInfo::new("tiny.safetensors", &m, vec![]));
    let press = |app: &mut App, code: KeyCode, mods: KeyModifiers| app.update(Event::Key(KeyEvent::new(code, mods)));
    press(&mut app, KeyCode::Char('F'), KeyModifiers::ALT);
    assert_eq!(app.mode, Mode::CellsFile);
    press(&mut app, KeyCode::Char('u'), KeyModifiers::CONTROL);
    for c in s(&one).chars() {
        press(&mut app, KeyCode::Char(c), KeyModifiers::NONE);
    }
    let cmd = press(&mut app, KeyCode::Enter, KeyModifiers::NONE).expect("a request for the worker");
    let (tx, rx) = std::sync::mpsc::channel();
    let mut w = Worker::new(&m, tx);
    w.handle(cmd);
    let mut done = false;
    for e in rx.try_iter() {
        if let Event::Worker(WorkerEvent::CellsFailed { message, .. }) = &e {
            panic!("refused: {message}");
        }
        done |= matches!(e, Event::Worker(WorkerEvent::Cells { .. }));
        app.update(e);
    }
    assert!(done, "the catalogue came back");
    let msg = app.message.as_ref().expect("a status message").text.clone();
    assert!(msg.contains("over all 1 chars of one.txt") && !msg.contains("the all"), "{msg}");
}
