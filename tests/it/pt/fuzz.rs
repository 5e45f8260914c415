//! The `.pt` reader on hostile bytes: random bytes, flipped bytes of real
//! files (zip and legacy), flipped bytes of the pickle inside a re-packed
//! zip, random opcode streams, and truncations. Every input loads or returns
//! an error; a panic or a libtorch abort fails the test.

use crate::common::kept_failures;
use gatescope::model::pt::pickle::unpickle;
use gatescope::model::pt::{read_state_dict, LoadOptions, PtFile};
use gatescope::model::Checkpoint;
use proptest::prelude::*;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

struct Files {
    _dir: tempfile::TempDir,
    zip: Vec<u8>,
    legacy: Vec<u8>,
    pickle_name: String,
    pickle: Vec<u8>,
    vocab: PathBuf,
}

/// Real files from PyTorch (built once per test binary).
fn files() -> &'static Files {
    static FILES: OnceLock<Files> = OnceLock::new();
    FILES.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/pt_models.py");
        let read = |style: &str| {
            let out = dir.path().join(style);
            let status = crate::common::python()
                .args([script, "--out", out.to_str().unwrap(), "--style", style, "--text", "abc\nd", "--prompt", "a"])
                .status()
                .unwrap();
            assert!(status.success());
            std::fs::read(out.join("model.pt")).unwrap()
        };
        let (zip, legacy) = (read("onehot"), read("legacy"));
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip.clone())).unwrap();
        let pickle_name =
            archive.file_names().map(|n| n.unwrap().into_owned()).find(|n| n.ends_with("/data.pkl")).unwrap();
        let mut pickle = Vec::new();
        archive.by_name(&pickle_name).unwrap().read_to_end(&mut pickle).unwrap();
        let vocab = dir.path().join("vocab.txt");
        std::fs::write(&vocab, "abc\nd").unwrap();
        Files { _dir: dir, zip, legacy, pickle_name, pickle, vocab }
    })
}

/// Read and, when the tensors make a model, build it: nothing may panic.
fn load(bytes: &[u8]) {
    let path = Path::new("fuzz.pt");
    if let Ok(pt) = PtFile::parse(path, bytes, &Default::default()) {
        let opts = LoadOptions { vocab: Some(files().vocab.clone()), ..Default::default() };
        let _ = Checkpoint::from_pt(pt, path, &opts);
    }
}

/// The zip with `data.pkl` replaced, every other entry copied as it was.
fn repack(pickle: &[u8]) -> Vec<u8> {
    let f = files();
    let mut src = zip::ZipArchive::new(std::io::Cursor::new(f.zip.clone())).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for i in 0..src.len() {
        let mut e = src.by_index(i).unwrap();
        let name = e.name().unwrap().into_owned();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        out.start_file(name.as_str(), opts).unwrap();
        out.write_all(if name == f.pickle_name { pickle } else { &data }).unwrap();
    }
    out.finish().unwrap().into_inner()
}

#[test]
fn the_real_files_load_and_every_truncation_is_an_error() {
    let f = files();
    let opts = LoadOptions { vocab: Some(f.vocab.clone()), ..Default::default() };
    let pt = PtFile::parse(Path::new("m.pt"), &f.zip, &Default::default()).unwrap();
    let ck = Checkpoint::from_pt(pt, Path::new("m.pt"), &opts);
    assert_eq!(ck.unwrap().model.dims.vocab, 5);
    assert!(read_state_dict(&f.zip).is_ok());
    assert!(read_state_dict(&f.legacy).is_ok());
    assert!(read_state_dict(&repack(&f.pickle)).is_ok(), "the re-packed zip reads as the original");
    for cut in 0..f.legacy.len() {
        assert!(read_state_dict(&f.legacy[..cut]).is_err(), "legacy file cut to {cut} bytes loaded");
    }
    for cut in (0..f.zip.len()).step_by(3).chain(f.zip.len().saturating_sub(300)..f.zip.len()) {
        assert!(read_state_dict(&f.zip[..cut]).is_err(), "zip cut to {cut} bytes loaded");
    }
    for cut in 0..f.pickle.len() {
        assert!(unpickle(&f.pickle[..cut]).is_err(), "pickle cut to {cut} bytes loaded");
    }
}

/// The opcodes a state_dict uses, with short arguments, in random order.
fn opcode_stream() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"(".to_vec()),
        Just(b"}".to_vec()),
        Just(b"]".to_vec()),
        Just(b")".to_vec()),
        Just(b"t".to_vec()),
        Just(b"\x85".to_vec()),
        Just(b"\x86".to_vec()),
        Just(b"\x87".to_vec()),
        Just(b"e".to_vec()),
        Just(b"a".to_vec()),
        Just(b"s".to_vec()),
        Just(b"u".to_vec()),
        Just(b"R".to_vec()),
        Just(b"Q".to_vec()),
        Just(b"b".to_vec()),
        Just(b"N".to_vec()),
        Just(b"\x88".to_vec()),
        Just(b"\x94".to_vec()),
        Just(b"ccollections\nOrderedDict\n".to_vec()),
        Just(b"ctorch._utils\n_rebuild_tensor_v2\n".to_vec()),
        Just(b"ctorch\nFloatStorage\n".to_vec()),
        Just(b"X\x07\x00\x00\x00storage".to_vec()),
        Just(b"X\x01\x00\x00\x000".to_vec()),
        any::<u8>().prop_map(|k| vec![b'K', k]),
        any::<u8>().prop_map(|k| vec![b'q', k % 8]),
        any::<u8>().prop_map(|k| vec![b'h', k % 8]),
        any::<[u8; 4]>().prop_map(|b| [&[b'J'][..], &b].concat()),
    ];
    proptest::collection::vec(piece, 0..80).prop_map(|v| [b"\x80\x02".to_vec(), v.concat(), b".".to_vec()].concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, failure_persistence: kept_failures(), ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512), prefix in 0usize..3) {
        let head: &[u8] = [&b""[..], b"PK\x03\x04", b"\x80\x02\x8a\x0a"][prefix];
        let b = [head, &bytes].concat();
        let _ = read_state_dict(&b);
        let _ = unpickle(&b);
    }

    #[test]
    fn flipped_bytes_of_a_zip_load_or_error(at in any::<prop::sample::Index>(), x in 1u8..=255) {
        let mut b = files().zip.clone();
        let i = at.index(b.len());
        b[i] ^= x;
        load(&b);
    }

    #[test]
    fn flipped_bytes_of_a_legacy_file_load_or_error(at in any::<prop::sample::Index>(), x in 1u8..=255) {
        let mut b = files().legacy.clone();
        let i = at.index(b.len());
        b[i] ^= x;
        load(&b);
    }

    #[test]
    fn opcode_streams_never_panic(p in opcode_stream()) {
        let _ = unpickle(&p);
    }
}

proptest! {
    // Each case re-packs a zip: fewer cases, each reaching the pickle reader
    // behind a valid CRC.
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: kept_failures(), ..ProptestConfig::default() })]

    #[test]
    fn flipped_bytes_of_the_pickle_inside_a_valid_zip_load_or_error(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..4)
    ) {
        let mut p = files().pickle.clone();
        for (at, x) in flips {
            let i = at.index(p.len());
            p[i] ^= x;
        }
        load(&repack(&p));
    }
}
