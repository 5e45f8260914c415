//! What a TestBackend terminal shows, as text, and snapshots of it.

use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::fmt::Display;
use std::path::{Path, PathBuf};

/// The screen dump: one String per row, each cell's symbol in order.
pub fn screen(t: &Terminal<TestBackend>) -> Vec<String> {
    let buf = t.backend().buffer();
    (0..buf.area.height).map(|y| (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect()).collect()
}

fn snapshots() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/snapshots")
}

/// `shown` (a `TestBackend`, or text) equals the stored snapshot
/// tests/it/snapshots/NAME.snap. A missing file fails here, before insta
/// would write a `.snap.new` for a name nobody reviewed.
pub fn assert_snapshot(name: &str, shown: impl Display) {
    let dir = snapshots();
    let file = dir.join(format!("{name}.snap"));
    assert!(file.is_file(), "no snapshot {}: review a new one with `cargo insta review`", file.display());
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(dir);
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!(name, shown.to_string()));
}
