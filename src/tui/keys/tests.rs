//! The key table's own checks: every action bound and described, no key
//! bound twice in one context, and the inspect letters.

use super::*;

#[test]
fn every_action_has_a_binding_and_a_help_line() {
    for a in Action::ALL {
        let b = BINDINGS.iter().find(|b| b.action == *a);
        let b = b.unwrap_or_else(|| panic!("{a:?} has no binding"));
        assert!(!b.keys.is_empty() && !b.help.is_empty() && !b.label.is_empty(), "{a:?}");
    }
    for b in BINDINGS {
        assert!(Action::ALL.contains(&b.action), "{:?} is missing from Action::ALL", b.action);
    }
}

#[test]
fn no_key_means_two_things_in_one_context() {
    for &ctx in Context::ALL {
        for empty in [false, true] {
            let live: Vec<&Binding> = BINDINGS
                .iter()
                .filter(|b| b.contexts.contains(&ctx) && (!b.empty_prompt || empty || ctx != Context::Typing))
                .collect();
            for (i, x) in live.iter().enumerate() {
                for y in &live[i + 1..] {
                    for k in x.keys {
                        assert!(!y.keys.contains(k), "{k:?} is bound to {:?} and {:?} in {ctx:?}", x.action, y.action);
                    }
                }
            }
        }
    }
}

#[test]
fn letters_in_inspect_mean_their_alt_form() {
    let t = KeyEvent::new(KeyCode::Char('t'), KeyModifiers::NONE);
    assert_eq!(lookup(Context::Inspect, &t, false), Some(Action::Temperature(-1)));
    assert_eq!(lookup(Context::Typing, &t, false), None, "typed");
    let q = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
    assert_eq!(lookup(Context::Typing, &q, false), None, "q types into a prompt");
    assert_eq!(lookup(Context::Typing, &q, true), Some(Action::Quit));
    let s = KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL);
    assert_eq!(lookup(Context::Typing, &s, false), Some(Action::Save));
}
