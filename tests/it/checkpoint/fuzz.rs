//! The checkpoint reader on hostile bytes: every input either loads or
//! returns an error. A panic or a libtorch abort fails the test.

use crate::common::kept_failures;
use gatescope::model::checkpoint::{parse, to_bytes};
use gatescope::model::CharLstm;
use gatescope::vocab::Vocab;
use proptest::prelude::*;
use std::collections::BTreeMap;

fn valid_bytes() -> Vec<u8> {
    let model = CharLstm::random(Vocab::from_text("abc\n").unwrap(), 3, 4, 2, 5);
    to_bytes(&model, &BTreeMap::from([("note".to_string(), "x".to_string())])).unwrap()
}

#[test]
fn every_truncation_is_an_error() {
    let good = valid_bytes();
    assert!(parse(&good).is_ok());
    for cut in 0..good.len() {
        assert!(parse(&good[..cut]).is_err(), "truncated to {cut} bytes loaded");
    }
}

#[test]
fn every_single_byte_flip_loads_or_errors() {
    let good = valid_bytes();
    // Header bytes are where structure lives: flip every bit pattern of interest there.
    let header_len = u64::from_le_bytes(good[..8].try_into().unwrap()) as usize + 8;
    for at in 0..header_len {
        for x in [0x01u8, 0x20, 0x80, 0xff] {
            let mut b = good.clone();
            b[at] ^= x;
            let _ = parse(&b);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: kept_failures(), ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse(&bytes);
    }

    #[test]
    fn arbitrary_header_after_a_plausible_length_never_panics(header in "[ -~]{0,200}", tail in proptest::collection::vec(any::<u8>(), 0..64)) {
        let mut b = (header.len() as u64).to_le_bytes().to_vec();
        b.extend_from_slice(header.as_bytes());
        b.extend_from_slice(&tail);
        let _ = parse(&b);
    }

    #[test]
    fn flipped_bytes_anywhere_load_or_error(at in any::<prop::sample::Index>(), x in 1u8..=255) {
        let mut b = valid_bytes();
        let i = at.index(b.len());
        b[i] ^= x;
        let _ = parse(&b);
    }
}

/// Each of these edits at every JSON value of a valid header (every tensor's
/// dtype, shape and offsets, and the metadata): loads or errors, never panics.
#[test]
fn every_edit_at_every_header_value_loads_or_errors() {
    let good = valid_bytes();
    let n = u64::from_le_bytes(good[..8].try_into().unwrap()) as usize;
    let header = String::from_utf8(good[8..8 + n].to_vec()).unwrap();
    let edits = ["\"F32\"", "\"I64\"", "\"U8\"", "[]", "[99999999999,1]", "[0,0]", "-1", "1e300", "null", "{}"];
    let mut cases = 0;
    for edit in edits {
        for (pos, _) in header.match_indices(['[', '"']) {
            let mut h = header.clone();
            let end = h[pos..].find([',', '}']).map(|e| pos + e).unwrap_or(h.len());
            h.replace_range(pos..end, edit);
            let mut b = (h.len() as u64).to_le_bytes().to_vec();
            b.extend_from_slice(h.as_bytes());
            b.extend_from_slice(&good[8 + n..]);
            let _ = parse(&b);
            cases += 1;
        }
    }
    assert!(cases > 100, "{cases} cases");
}

#[test]
fn wrong_shapes_with_valid_bytes_are_refused_by_name() {
    // Layer 1 built for another hidden size: every tensor valid, the model not.
    let a = CharLstm::random(Vocab::from_text("abc").unwrap(), 3, 4, 2, 1);
    let b = CharLstm::random(Vocab::from_text("abc").unwrap(), 3, 6, 2, 1);
    let mixed = CharLstm { layers: vec![a.layers[0].clone(), b.layers[1].clone()], ..a.clone() };
    let err = match CharLstm::new(mixed.vocab.clone(), mixed.embed, mixed.layers, mixed.head_w, mixed.head_b) {
        Ok(_) => panic!("inconsistent layers accepted"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("lstm.weight_ih_l1"), "{err}");
}

#[test]
fn non_finite_weights_load_with_a_warning() {
    let model = CharLstm::random(Vocab::from_text("abc").unwrap(), 3, 4, 1, 1);
    let _ = model.head_b.shallow_clone().fill_(f64::NAN);
    let (_, _, warnings) = parse(&to_bytes(&model, &BTreeMap::new()).unwrap()).unwrap();
    assert!(warnings.iter().any(|w| w.contains("NaN")), "{warnings:?}");
}
