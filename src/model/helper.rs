//! The second core's thread for the single step's products (`matvec`): the
//! calling thread runs one part of a product while the helper runs the
//! other.
//!
//! A generation step lasts a few hundred microseconds and hands the helper
//! two or three parts, so a hand-over must cost well under a microsecond.
//! Waking a sleeping thread costs tens of microseconds (more in a virtual
//! machine), so the helper spins while parts keep coming, and sleeps only
//! after `SPIN` without one: an idle playground costs no CPU.
//!
//! A part is claimed before it runs, by the helper or by the caller. The
//! caller, its own part done, takes back a part the helper has not claimed
//! and runs it itself: when other processes hold the cores (a training run
//! beside the playground), the helper may not run for milliseconds, and a
//! caller waiting for it would make every product that slow.

use std::cell::UnsafeCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::*};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::Thread;
use std::time::{Duration, Instant};

/// How long the helper spins for its next part before it sleeps: longer
/// than the gap between two steps of a generation, short enough that the
/// helper is asleep soon after the model goes idle.
const SPIN: Duration = Duration::from_micros(500);

/// The helper thread, one for the process: started on first use, None on a
/// one-core machine (where a second thread only takes turns with the first).
pub fn helper() -> Option<&'static Helper> {
    static HELPER: OnceLock<Option<Helper>> = OnceLock::new();
    HELPER
        .get_or_init(|| {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            (cores >= 2).then(Helper::start).flatten()
        })
        .as_ref()
}

pub struct Helper {
    shared: Arc<Shared>,
    thread: Thread,
    /// One caller's part at a time.
    caller: Mutex<()>,
}

/// A part for the helper to run, its lifetime erased (see `Helper::join`).
type Part = *mut (dyn FnMut() + Send);

struct Shared {
    /// Parts handed over so far; the helper runs one when this moves.
    posted: AtomicUsize,
    /// The last part claimed, by the helper to run it or by its caller to
    /// take it back: whoever moves this from one below a part's ticket to
    /// the ticket runs it.
    claimed: AtomicUsize,
    /// The last part the helper finished.
    done: AtomicUsize,
    /// Whether the last part finished panicked.
    panicked: AtomicBool,
    /// Set while the helper sleeps (or is about to): a caller wakes it.
    sleeping: AtomicBool,
    /// The part for the helper: written by the caller (holding `caller`)
    /// before `posted` moves, read by the helper after.
    part: UnsafeCell<Option<Part>>,
}

// SAFETY: `part` is the one field not synchronised by itself. The caller
// writes it before moving `posted` (SeqCst) and does not touch it until
// `done` catches up (Acquire); the helper reads it only in between.
unsafe impl Sync for Shared {}
unsafe impl Send for Shared {}

impl Helper {
    fn start() -> Option<Helper> {
        let shared = Arc::new(Shared {
            posted: AtomicUsize::new(0),
            claimed: AtomicUsize::new(0),
            done: AtomicUsize::new(0),
            panicked: AtomicBool::new(false),
            sleeping: AtomicBool::new(false),
            part: UnsafeCell::new(None),
        });
        let theirs = Arc::clone(&shared);
        let handle = std::thread::Builder::new().name("gatescope-helper".into()).spawn(move || serve(&theirs)).ok()?;
        Some(Helper { shared, thread: handle.thread().clone(), caller: Mutex::new(()) })
    }

    /// Runs `there` on the helper thread and `here` on this one, and
    /// returns when both have finished; `there` runs on this thread too,
    /// after `here`, if the helper has not started it by then. A panic in
    /// either panics here.
    pub fn join(&self, here: impl FnOnce(), there: impl FnOnce() + Send) {
        let _one = self.caller.lock().unwrap_or_else(|e| e.into_inner());
        let mut there = Some(there);
        let mut part = move || (there.take().expect("a part runs once"))();
        let part: &mut (dyn FnMut() + Send) = &mut part;
        // SAFETY: the borrow's lifetime is erased so the helper can hold it;
        // `Wait` below does not return (nor unwind past this frame) until the
        // helper has finished with it, so it never outlives what it borrows.
        let part: Part = unsafe { std::mem::transmute::<&mut (dyn FnMut() + Send), &'static mut _>(part) };
        // SAFETY: the helper is between parts (`done` equals `posted` while
        // `caller` is held), so nothing else touches `part`.
        unsafe { *self.shared.part.get() = Some(part) };
        let ticket = self.shared.posted.fetch_add(1, SeqCst) + 1;
        if self.shared.sleeping.load(SeqCst) {
            self.thread.unpark();
        }
        let mut wait = Wait { shared: &self.shared, ticket, taken_back: false };
        here();
        if let Some(part) = wait.take_back() {
            // SAFETY: as the helper's call in `serve`; this thread claimed it.
            return unsafe { (*part)() };
        }
        drop(wait);
        if self.shared.panicked.load(Acquire) {
            panic!("the helper thread's part of a product panicked");
        }
    }
}

/// Waits, when dropped, for the helper to finish part `ticket`: on the way
/// out of `join`, whether `here` returned or panicked. A part the helper
/// has not claimed by then is claimed here instead, so that the helper
/// never runs it after `join` has returned.
struct Wait<'a> {
    shared: &'a Shared,
    ticket: usize,
    /// Whether this thread claimed the part.
    taken_back: bool,
}

impl Wait<'_> {
    /// The part, if the helper has not claimed it: claimed for this thread.
    fn take_back(&mut self) -> Option<Part> {
        let claim = self.shared.claimed.compare_exchange(self.ticket - 1, self.ticket, SeqCst, SeqCst);
        self.taken_back = claim.is_ok();
        // SAFETY: claimed here, so the helper will not read the part.
        self.taken_back.then(|| unsafe { (*self.shared.part.get()).take().expect("a posted part") })
    }
}

impl Drop for Wait<'_> {
    fn drop(&mut self) {
        if self.taken_back || self.take_back().is_some() {
            return;
        }
        let mut spins = 0u32;
        while self.shared.done.load(Acquire) != self.ticket {
            spins += 1;
            if spins < 4096 {
                std::hint::spin_loop();
            } else {
                // The helper lost its core to another thread: give it back.
                std::thread::yield_now();
            }
        }
    }
}

/// The helper thread's loop: run each part as it is posted.
fn serve(shared: &Shared) {
    let mut seen = 0;
    loop {
        let mut idle_since = Instant::now();
        let mut spins = 0u32;
        while shared.posted.load(Acquire) == seen {
            spins = spins.wrapping_add(1);
            if !spins.is_multiple_of(1024) {
                std::hint::spin_loop();
            } else if idle_since.elapsed() > SPIN {
                shared.sleeping.store(true, SeqCst);
                // Either this load sees a part posted before the flag was
                // set, or its poster sees the flag and unparks.
                if shared.posted.load(SeqCst) == seen {
                    std::thread::park();
                }
                shared.sleeping.store(false, SeqCst);
                idle_since = Instant::now();
            }
        }
        // Parts are posted one at a time (`caller`), so this is `seen + 1`
        // unless the caller took part `seen + 1` back and posted the next.
        seen = shared.posted.load(SeqCst);
        #[cfg(test)]
        while tests::HELD.load(SeqCst) {
            std::hint::spin_loop();
        }
        if shared.claimed.compare_exchange(seen - 1, seen, SeqCst, SeqCst).is_err() {
            continue; // taken back by its caller
        }
        // SAFETY: posted and claimed here, so the caller wrote the part and
        // waits for `done`.
        let part = unsafe { (*shared.part.get()).take().expect("a posted part") };
        // SAFETY: the caller keeps what the part borrows alive until `done`.
        let ran = catch_unwind(AssertUnwindSafe(|| unsafe { (*part)() }));
        shared.panicked.store(ran.is_err(), Release);
        shared.done.store(seen, Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// While set, the helper sees parts posted but claims none, as when it
    /// has lost its core to another process.
    pub(super) static HELD: AtomicBool = AtomicBool::new(false);

    fn the_helper() -> &'static Helper {
        helper().expect("the tests run on a machine with two cores")
    }

    #[test]
    fn both_parts_run_and_a_sleeping_helper_wakes() {
        let h = the_helper();
        for round in 0..200 {
            let (mut a, mut b) = (0, 0);
            h.join(|| a = round, || b = round + 1);
            assert_eq!((a, b), (round, round + 1));
            if round % 50 == 0 {
                // Past SPIN: the helper sleeps, and the next part wakes it.
                std::thread::sleep(SPIN * 4);
            }
        }
    }

    #[test]
    fn callers_on_several_threads_take_turns() {
        let sums: Vec<u64> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..3u64)
                .map(|t| {
                    s.spawn(move || {
                        let mut total = 0;
                        for i in 0..500 {
                            let (mut a, mut b) = (0, 0);
                            the_helper().join(|| a = t * i, || b = t + i);
                            total += a + b;
                        }
                        total
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).collect()
        });
        let want = |t: u64| (0..500).map(|i| t * i + t + i).sum::<u64>();
        assert_eq!(sums, (0..3).map(want).collect::<Vec<_>>());
    }

    #[test]
    fn a_panic_in_either_part_panics_the_caller_and_the_helper_goes_on() {
        let h = the_helper();
        let there = catch_unwind(AssertUnwindSafe(|| h.join(|| {}, || panic!("there"))));
        assert!(there.is_err());
        let here = catch_unwind(AssertUnwindSafe(|| h.join(|| panic!("here"), || {})));
        assert!(here.is_err());
        let mut b = 0;
        h.join(|| {}, || b = 7);
        assert_eq!(b, 7, "the helper still serves");
    }

    /// A helper that does not get to run: the caller takes each part back
    /// and runs it itself, after its own, and the helper serves again after.
    #[test]
    fn a_part_the_helper_has_not_claimed_runs_on_the_calling_thread() {
        let h = the_helper();
        HELD.store(true, SeqCst);
        let (tx, rx) = std::sync::mpsc::channel();
        // On a thread of its own, so that a caller left waiting fails the
        // test instead of hanging it.
        std::thread::spawn(move || {
            let caller = std::thread::current().id();
            let ran = (0..50).all(|round| {
                let (mut a, mut b) = (None, None);
                h.join(|| a = Some(round), || b = Some((round, std::thread::current().id())));
                (a, b) == (Some(round), Some((round, caller)))
            });
            let _ = tx.send(ran);
        });
        let ran = rx.recv_timeout(Duration::from_secs(10));
        HELD.store(false, SeqCst);
        assert_eq!(ran, Ok(true), "each part ran on the calling thread, within 10 s");
        let caller = std::thread::current().id();
        let mut there = None;
        while there.is_none_or(|t| t == caller) {
            h.join(|| std::thread::sleep(Duration::from_millis(1)), || there = Some(std::thread::current().id()));
        }
    }
}
