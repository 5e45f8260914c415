//! libtorch's errors as one line. tch's infallible methods, and its
//! `nn::Optimizer` (whose first step allocates Adam's moments), unwrap
//! libtorch's errors: a panic carrying kilobytes of C++ frames. Around work
//! whose size the user chose, `catch_torch` turns such a panic into an error
//! (the panic hook stays quiet for it), and `torch_error` does the same for
//! the `f_` variants' results, so "can't allocate memory" becomes
//! "not enough memory for a 2×100000 model ...".

use anyhow::{anyhow, Result};
use std::cell::Cell;
use std::fmt::Display;
use std::panic::AssertUnwindSafe;

thread_local! {
    /// Set while this thread runs inside `catch_torch`.
    static CATCHING: Cell<bool> = const { Cell::new(false) };
}

/// Run `f`; a libtorch error that tch turned into a panic becomes an error
/// that names `what` (e.g. "a 2×512 model at --batch 64 --seq 100"). Any
/// other panic goes on as a panic: it is a bug, not bad input.
pub fn catch_torch<T>(what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    install_quiet_hook();
    let was = CATCHING.with(|c| c.replace(true));
    let result = std::panic::catch_unwind(AssertUnwindSafe(f));
    CATCHING.with(|c| c.set(was));
    match result {
        Ok(r) => r,
        Err(payload) => {
            let text = payload_text(payload.as_ref()).unwrap_or_default();
            if !is_torch_panic(&text) {
                std::panic::resume_unwind(payload);
            }
            Err(torch_error(what, text))
        }
    }
}

/// A libtorch error (a `TchError` or a panic's text) as one line naming `what`.
pub fn torch_error(what: &str, e: impl Display) -> anyhow::Error {
    let raw = e.to_string();
    let msg = torch_message(&raw);
    if is_out_of_memory(&raw) {
        anyhow!("not enough memory for {what} ({msg})")
    } else {
        anyhow!("libtorch failed on {what} ({msg})")
    }
}

fn is_out_of_memory(raw: &str) -> bool {
    ["can't allocate memory", "out of memory", "Cannot allocate memory", "bad_alloc"].iter().any(|k| raw.contains(k))
}

/// The first line of libtorch's message, without tch's wrapping, the
/// `[enforce fail at file:line]` prefix or the C++ stack.
pub fn torch_message(raw: &str) -> String {
    let s = match raw.find("Torch(\"") {
        Some(i) => &raw[i + 7..],
        None => raw.trim_start_matches("Internal torch error: "),
    };
    // The panic text is Debug-formatted: its line breaks are the two characters `\n`.
    let end = [s.find("\\n"), s.find('\n'), s.find("\")")].into_iter().flatten().min().unwrap_or(s.len());
    let mut s = s[..end].trim();
    if s.starts_with("[enforce fail") {
        if let Some(i) = s.find("] ") {
            s = s[i + 2..].trim_start_matches("err == 0. ");
        }
    }
    s.trim_end_matches('.').to_string()
}

fn is_torch_panic(text: &str) -> bool {
    text.contains("Torch(\"") || text.contains("Internal torch error")
}

fn payload_text(payload: &(dyn std::any::Any + Send)) -> Option<String> {
    payload.downcast_ref::<String>().cloned().or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
}

/// Once per process: a hook that says nothing for a libtorch panic that
/// `catch_torch` is about to turn into an error, and defers to the previous
/// hook for everything else.
fn install_quiet_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let quiet = CATCHING.with(|c| c.get()) && info.payload_as_str().is_some_and(is_torch_panic);
            if !quiet {
                previous(info);
            }
        }));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_allocation_failure_becomes_one_line() {
        let raw = "called `Result::unwrap()` on an `Err` value: Torch(\"[enforce fail at alloc_cpu.cpp:127] err == 0. \
                   DefaultCPUAllocator: can't allocate memory: you tried to allocate 160 bytes. Error code 12 \
                   (Cannot allocate memory)\\nframe #0: c10::ThrowEnforceNotMet\")";
        let e = torch_error("a 2×100000 model", raw).to_string();
        assert_eq!(
            e,
            "not enough memory for a 2×100000 model (DefaultCPUAllocator: can't allocate memory: you tried to \
             allocate 160 bytes. Error code 12 (Cannot allocate memory))"
        );
    }

    #[test]
    fn a_torch_panic_is_caught_and_other_panics_are_not() {
        let r: Result<()> = catch_torch("x", || panic!("{:?}", tch::TchError::Torch("boom\nframe #0".into())));
        assert_eq!(r.unwrap_err().to_string(), "libtorch failed on x (boom)");
        let other = std::panic::catch_unwind(|| catch_torch::<()>("x", || panic!("a bug")));
        assert!(other.is_err(), "a panic that is not libtorch's stays a panic");
    }
}
