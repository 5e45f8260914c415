//! Prompt editing moves and deletes by grapheme cluster: an emoji (even a
//! ZWJ family or a skin tone), a letter with a combining accent, and CJK
//! wide characters are each one step.

use crate::common::kept_failures;
use gatescope::tui::editor::Editor;
use gatescope::tui::text::display_grapheme;
use proptest::prelude::*;
use unicode_segmentation::UnicodeSegmentation;

fn ed(s: &str) -> Editor {
    let mut e = Editor::new();
    e.insert_str(s);
    e
}

#[test]
fn emoji_is_one_step() {
    let mut e = ed("a👍🏽b👨‍👩‍👧");
    e.backspace();
    assert_eq!(e.text(), "a👍🏽b", "a ZWJ family goes in one Backspace");
    e.left();
    e.backspace();
    assert_eq!(e.text(), "ab", "an emoji with a skin tone goes in one Backspace");
    assert_eq!(e.cursor(), 1);
}

#[test]
fn combining_accent_stays_with_its_letter() {
    let mut e = ed("cafe\u{301}!");
    e.left();
    e.left();
    assert_eq!(&e.text()[e.cursor()..], "e\u{301}!", "one Left crosses the accented letter whole");
    e.delete();
    assert_eq!(e.text(), "caf!");
    // Typing a combining mark after a letter joins it; the cursor stays after the cluster.
    let mut e = ed("e");
    e.insert_char('\u{301}');
    assert_eq!(e.cursor(), "e\u{301}".len());
    e.left();
    assert_eq!(e.cursor(), 0);
    // A lone mark at the start is shown on a dotted circle, one column wide.
    assert_eq!(display_grapheme("\u{301}"), ("\u{25cc}\u{301}".to_string(), 1));
}

#[test]
fn cjk_wide_characters() {
    let mut e = ed("日本語");
    e.home();
    e.right();
    assert_eq!(e.cursor(), "日".len());
    e.delete();
    assert_eq!(e.text(), "日語");
    e.end();
    e.backspace();
    assert_eq!(e.text(), "日");
    assert_eq!(display_grapheme("語").1, 2, "a CJK character is two columns wide");
}

#[test]
fn word_and_line_deletion() {
    let mut e = ed("to be  or not");
    assert!(e.delete_word_back());
    assert_eq!(e.text(), "to be  or ");
    assert!(e.delete_word_back());
    assert_eq!(e.text(), "to be  ");
    e.left();
    assert!(e.delete_to_start());
    assert_eq!(e.text(), " ");
    assert!(!e.delete_to_start());
    let mut e = ed("ROMEO:\r\nJuliet\rx");
    assert_eq!(e.text(), "ROMEO:\nJuliet\nx", "pasted line breaks are normalised");
    e.clear();
    assert!(!e.backspace() && !e.delete() && !e.delete_word_back());
}

#[test]
fn controls_in_the_prompt_are_shown_safely() {
    assert_eq!(display_grapheme("\n").0, "⏎");
    assert_eq!(display_grapheme("\t").0, "⇥");
    assert_eq!(display_grapheme("\u{1b}").0, "␛");
    assert_eq!(display_grapheme("\r\n").0, "␍");
}

/// Whether byte `at` of `text` is between two grapheme clusters (or at an end).
fn on_grapheme_boundary(text: &str, at: usize) -> bool {
    at == text.len() || text.grapheme_indices(true).any(|(i, _)| i == at)
}

/// Deleting what stood between two pieces can join them into one cluster
/// (an emoji and a ZWJ before it, a line break before a combining mark):
/// the cursor is not left inside the joined cluster.
#[test]
fn a_deletion_that_joins_two_clusters_leaves_the_cursor_on_a_boundary() {
    for (text, joined) in [("👨\u{200d}x👩", "👨\u{200d}👩"), ("a\nb\u{301}", "ab\u{301}")] {
        // Backspace over the middle piece.
        let mut e = ed(text);
        e.end();
        e.left();
        e.backspace();
        assert_eq!(e.text(), joined);
        assert!(
            on_grapheme_boundary(e.text(), e.cursor()),
            "{joined:?}: cursor at byte {} after Backspace",
            e.cursor()
        );
        // Delete of the middle piece.
        let mut e = ed(text);
        e.end();
        e.left();
        e.left();
        e.delete();
        assert_eq!(e.text(), joined);
        assert!(on_grapheme_boundary(e.text(), e.cursor()), "{joined:?}: cursor at byte {} after Delete", e.cursor());
    }
}

/// Pieces of text that grapheme segmentation treats specially: combining
/// marks (alone and after a letter), emoji ZWJ sequences and their parts,
/// a skin tone, a flag, CJK, a line break, and any printable character.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("e\u{301}".to_string()),
        Just("\u{301}".to_string()),
        Just("\u{308}\u{301}".to_string()),
        Just("👨\u{200d}👩\u{200d}👧".to_string()),
        Just("\u{200d}".to_string()),
        Just("👩".to_string()),
        Just("👍🏽".to_string()),
        Just("🇫🇷".to_string()),
        Just("语".to_string()),
        Just("\n".to_string()),
        "\\PC",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: kept_failures(), ..ProptestConfig::default() })]
    #[test]
    fn the_cursor_always_sits_on_a_grapheme_boundary(
        pieces in proptest::collection::vec(piece(), 0..10),
        moves in proptest::collection::vec((0u8..10, piece()), 0..30),
    ) {
        let mut e = ed(&pieces.concat());
        prop_assert!(on_grapheme_boundary(e.text(), e.cursor()));
        for (m, p) in moves {
            match m {
                0 => e.left(),
                1 => e.right(),
                2 => { e.backspace(); }
                3 => { e.delete(); }
                4 => e.insert_char('\u{301}'),
                5 => e.insert_char('\u{200d}'),
                6 => e.insert_str(&p),
                7 => e.home(),
                8 => e.end(),
                _ => { e.delete_word_back(); }
            }
            prop_assert!(e.cursor() <= e.text().len());
            prop_assert!(
                on_grapheme_boundary(e.text(), e.cursor()),
                "cursor at byte {} of {:?}", e.cursor(), e.text()
            );
        }
    }
}
