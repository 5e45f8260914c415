//! Prompt editing moves and deletes by grapheme cluster: an emoji (even a
//! ZWJ family or a skin tone), a letter with a combining accent, and CJK
//! wide characters are each one step.

use gatescope::tui::editor::Editor;
use gatescope::tui::text::display_grapheme;
use proptest::prelude::*;

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

proptest! {
    #[test]
    fn the_cursor_always_sits_on_a_boundary(s in "\\PC{0,12}", moves in proptest::collection::vec(0u8..7, 0..30)) {
        let mut e = ed(&s);
        for m in moves {
            match m {
                0 => e.left(),
                1 => e.right(),
                2 => { e.backspace(); }
                3 => { e.delete(); }
                4 => e.insert_char('\u{301}'),
                5 => e.insert_str("语😀"),
                _ => { e.delete_word_back(); }
            }
            prop_assert!(e.text().is_char_boundary(e.cursor()));
            prop_assert!(e.cursor() <= e.text().len());
        }
    }
}
