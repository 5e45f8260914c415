//! Catalogues stored in checkpoints: `cells --save` and the end of `train`
//! write the metadata key `cells`, atomically, leaving every tensor's dtype,
//! shape and bytes as they were.

use crate::common::{python, run};
use gatescope::analysis::catalogue::{SavedCatalogue, METADATA_KEY};
use gatescope::data::split_point;
use gatescope::model::load_checkpoint;
use safetensors::SafeTensors;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Every tensor as (dtype, shape, bytes), and the metadata, of a safetensors file.
type Tensors = BTreeMap<String, (String, Vec<usize>, Vec<u8>)>;

fn contents(path: &Path) -> (Tensors, BTreeMap<String, String>) {
    let bytes = std::fs::read(path).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let tensors = st
        .tensors()
        .into_iter()
        .map(|(name, v)| (name, (format!("{:?}", v.dtype()), v.shape().to_vec(), v.data().to_vec())))
        .collect();
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    (tensors, header.metadata().clone().unwrap_or_default().into_iter().collect())
}

fn shakespeare(chars: usize) -> String {
    let text = std::fs::read_to_string(Path::new(ROOT).join("data/tinyshakespeare.txt")).unwrap();
    text.chars().take(chars).collect()
}

/// `gatescope cells -c CK --data DATA EXTRA...`.
fn cells(ck: &Path, data: &Path, extra: &[&str]) -> Output {
    run(&[&["cells", "-c", ck.to_str().unwrap(), "--data", data.to_str().unwrap()], extra].concat())
}

fn cells_json(ck: &Path, data: &Path, chars: usize, top: &str) -> Value {
    let out = cells(ck, data, &["--chars", &chars.to_string(), "--top", top, "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn cells_save_writes_the_catalogue_and_leaves_the_tensors_alone() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("text.txt");
    std::fs::write(&data, shakespeare(3000)).unwrap();
    // An f16 checkpoint: a re-save through the model would turn its tensors into f32.
    let ck = dir.path().join("m.safetensors");
    let init = python()
        .arg(Path::new(ROOT).join("reference/charlstm.py"))
        .args(["init", "--text-file", data.to_str().unwrap(), "--out", ck.to_str().unwrap()])
        .args(["--layers", "2", "--hidden", "16", "--embed", "8", "--scale", "2", "--dtype", "f16"])
        .output()
        .unwrap();
    assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));
    let (tensors_before, meta_before) = contents(&ck);
    assert!(tensors_before.values().all(|(dtype, _, _)| dtype == "F16"));

    let printed = cells_json(&ck, &data, 2500, "4");
    let out = cells(&ck, &data, &["--chars", "2500", "--top", "4", "--save"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("saved the catalogue in"));

    let (tensors_after, meta_after) = contents(&ck);
    assert_eq!(tensors_after, tensors_before, "tensors untouched: dtype, shape and bytes");
    for (k, v) in &meta_before {
        assert_eq!(meta_after.get(k), Some(v), "metadata {k} kept");
    }
    let saved = SavedCatalogue::from_json(&meta_after[METADATA_KEY]).unwrap();
    assert_eq!(
        (saved.measured_on.file.as_str(), saved.measured_on.offset, saved.measured_on.chars),
        ("text.txt", 0, 2500)
    );
    assert_eq!(saved.top, 4);
    assert_eq!(serde_json::to_value(&saved.features).unwrap(), printed["features"], "the catalogue it printed");
    assert!(saved.features.iter().any(|f| f.units.len() == 4));

    // The file still loads, and saving again replaces the key without leftovers.
    assert!(load_checkpoint(&ck).unwrap().metadata.contains_key(METADATA_KEY));
    let again = cells(&ck, &data, &["--chars", "900", "--save"]);
    assert!(again.status.success());
    let (tensors_again, meta_again) = contents(&ck);
    assert_eq!(tensors_again, tensors_before);
    assert_eq!(SavedCatalogue::from_json(&meta_again[METADATA_KEY]).unwrap().measured_on.chars, 900);
    let files: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(files.len(), 2, "no temporary files left: {files:?}");
}

#[test]
fn train_writes_the_catalogue_of_its_validation_text() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("shakespeare.txt");
    let text = shakespeare(30_000);
    std::fs::write(&data, &text).unwrap();
    let out = dir.path().join("m.safetensors");
    let args = [
        "train",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--layers",
        "1",
        "--hidden",
        "16",
        "--embed",
        "8",
        "--seq",
        "32",
        "--batch",
        "8",
        "--steps",
        "20",
        "--eval-every",
        "10",
        "--threads",
        "1",
    ];
    let res = run(&args);
    let log = String::from_utf8_lossy(&res.stderr);
    assert!(res.status.success(), "{log}");
    assert!(log.contains("cell catalogue of 3000 validation characters written into"), "{log}");

    let ck = load_checkpoint(&out).unwrap();
    let saved = SavedCatalogue::from_json(&ck.metadata[METADATA_KEY]).unwrap();
    let from = split_point(30_000, 0.1);
    assert_eq!((saved.measured_on.file.as_str(), saved.measured_on.offset), ("shakespeare.txt", from));
    assert_eq!((saved.measured_on.chars, saved.top), (3000, 3));
    // The same as `cells` over a file of those validation characters.
    let val = dir.path().join("val.txt");
    std::fs::write(&val, text.chars().skip(from).collect::<String>()).unwrap();
    let printed = cells_json(&out, &val, 3000, "3");
    for (saved, printed) in saved.features.iter().zip(printed["features"].as_array().unwrap()) {
        assert_eq!(saved.name, printed["name"].as_str().unwrap());
        let units = printed["units"].as_array().unwrap();
        assert_eq!(saved.units.len(), units.len(), "{}", saved.name);
        for (a, b) in saved.units.iter().zip(units) {
            assert_eq!(a.unit.to_string(), b["unit"].as_str().unwrap());
            assert!((a.r - b["r"].as_f64().unwrap()).abs() < 1e-6, "{}: {} against {}", saved.name, a.r, b["r"]);
        }
    }
    assert!(saved.features[0].units.len() == 3, "line position has units");
}

/// `cells --save --pin` stores the features to pin at start, in order; every
/// bad list is one line, before the model runs or (a feature constant over
/// the text) before anything is written.
#[test]
fn cells_save_pin_stores_the_features_and_refuses_bad_lists() {
    let dir = tempfile::tempdir().unwrap();
    let text = shakespeare(1500);
    let data = dir.path().join("text.txt");
    std::fs::write(&data, &text).unwrap();
    let ck = crate::common::tiny_checkpoint(dir.path(), "m.safetensors", &text, 8, 16, 2);
    let cells = |extra: &[&str]| cells(&ck, &data, &[&["--chars", "1000"], extra].concat());
    let before = std::fs::read(&ck).unwrap();
    for (args, needle) in [
        (&["--pin", "indent"][..], "--pin needs --save"),
        (&["--save", "--pin", "brackets"], "'brackets' is not a feature; one of line_position,"),
        (&["--save", "--pin", "space,space"], "'space' is named twice"),
        (&["--save", "--pin", "space,,newline"], "an empty feature name"),
        (&["--save", "--pin", ""], "an empty feature name"),
        // The first 1,000 characters of Shakespeare have no brackets.
        (&["--save", "--pin", "space,bracket_depth"], "'bracket_depth' is constant over text.txt"),
    ] {
        let out = cells(args);
        let err = crate::common::last_line_error(&out);
        assert!(err.contains(needle), "{args:?}: {err}");
        assert_eq!(std::fs::read(&ck).unwrap(), before, "{args:?}: the checkpoint is untouched");
    }
    let out = cells(&["--save", "--pin", " uppercase, line_position"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (_, meta) = contents(&ck);
    let saved = SavedCatalogue::from_json(&meta[METADATA_KEY]).unwrap();
    assert_eq!(saved.pin, ["uppercase", "line_position"]);
    // Without --pin the key is absent, and older catalogues read as no pins.
    assert!(cells(&["--save"]).status.success());
    let (_, meta) = contents(&ck);
    assert!(!meta[METADATA_KEY].contains("\"pin\""));
    assert!(SavedCatalogue::from_json(&meta[METADATA_KEY]).unwrap().pin.is_empty());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2, "no temporary files left");
}
