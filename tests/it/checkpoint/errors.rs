//! Every bad checkpoint gives one line naming the file and what is wrong,
//! exit status 1, and no panic.

use crate::common::{one_line_error, run, tiny_checkpoint};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

fn valid(dir: &Path) -> PathBuf {
    tiny_checkpoint(dir, "good.safetensors", "hello world\n", 4, 8, 2)
}

/// Rewrite a valid checkpoint through `edit`, which may change tensors and metadata.
fn rewrite(
    src: &Path,
    dst: &Path,
    edit: impl FnOnce(&mut Vec<(String, Dtype, Vec<usize>, Vec<u8>)>, &mut HashMap<String, String>),
) -> PathBuf {
    let bytes = std::fs::read(src).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let mut meta = header.metadata().clone().unwrap_or_default();
    let mut tensors: Vec<_> =
        st.tensors().into_iter().map(|(n, v)| (n, v.dtype(), v.shape().to_vec(), v.data().to_vec())).collect();
    edit(&mut tensors, &mut meta);
    let views: Vec<_> =
        tensors.iter().map(|(n, d, s, b)| (n.clone(), TensorView::new(*d, s.clone(), b).unwrap())).collect();
    std::fs::write(dst, safetensors::serialize(views, Some(meta)).unwrap()).unwrap();
    dst.to_path_buf()
}

fn expect_error(path: &Path, needle: &str) {
    let out = run(&["info", path.to_str().unwrap()]);
    let err = one_line_error(&out);
    assert!(err.contains(&path.display().to_string()), "names the file: {err}");
    assert!(err.contains(needle), "expected {needle:?} in: {err}");
}

#[test]
fn a_valid_file_loads() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&["info", valid(dir.path()).to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 LSTM layers x 8 hidden units"));
}

#[test]
fn empty_truncated_garbage_and_absurd_header() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read(valid(dir.path())).unwrap();
    let p = dir.path().join("empty.safetensors");
    std::fs::write(&p, b"").unwrap();
    expect_error(&p, "empty");

    for cut in [3, 8, 20, good.len() / 2, good.len() - 1] {
        let p = dir.path().join(format!("cut{cut}.safetensors"));
        std::fs::write(&p, &good[..cut]).unwrap();
        expect_error(&p, "not a valid safetensors file");
    }

    let p = dir.path().join("garbage.safetensors");
    std::fs::write(&p, (0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect::<Vec<_>>()).unwrap();
    expect_error(&p, "not a valid safetensors file");

    // A header length claiming ~16 EB: refused without allocating it.
    let mut absurd = good.clone();
    absurd[..8].copy_from_slice(&(u64::MAX - 7).to_le_bytes());
    let p = dir.path().join("absurd.safetensors");
    std::fs::write(&p, &absurd).unwrap();
    expect_error(&p, "not a valid safetensors file");
}

#[test]
fn missing_tensor_wrong_shape_and_integer_dtype() {
    let dir = tempfile::tempdir().unwrap();
    let good = valid(dir.path());
    let p = rewrite(&good, &dir.path().join("missing.safetensors"), |t, _| t.retain(|x| x.0 != "head.bias"));
    expect_error(&p, "missing tensor 'head.bias'");

    let p = rewrite(&good, &dir.path().join("shape.safetensors"), |t, _| {
        let w = t.iter_mut().find(|x| x.0 == "lstm.weight_hh_l1").unwrap();
        w.2 = vec![16, 16];
        w.3.truncate(16 * 16 * 4);
    });
    expect_error(&p, "tensor 'lstm.weight_hh_l1' has shape [16, 16]; expected [32, 8]");

    let p = rewrite(&good, &dir.path().join("int.safetensors"), |t, _| {
        let w = t.iter_mut().find(|x| x.0 == "head.weight").unwrap();
        w.1 = Dtype::I32;
    });
    expect_error(&p, "tensor 'head.weight' has dtype I32");
}

#[test]
fn vocab_missing_not_json_or_wrong_length() {
    let dir = tempfile::tempdir().unwrap();
    let good = valid(dir.path());
    let p = rewrite(&good, &dir.path().join("novocab.safetensors"), |_, m| {
        m.remove("vocab");
    });
    expect_error(&p, "metadata key 'vocab' is missing");

    let p = rewrite(&good, &dir.path().join("notjson.safetensors"), |_, m| {
        m.insert("vocab".into(), "[\"a\", oops".into());
    });
    expect_error(&p, "metadata 'vocab' is not a JSON array of strings");

    let p = rewrite(&good, &dir.path().join("short.safetensors"), |_, m| {
        m.insert("vocab".into(), "[\"a\", \"b\"]".into());
    });
    expect_error(&p, "metadata 'vocab' has 2 entries but tensor 'head.weight' has 9 rows");
}

#[test]
fn missing_file_directory_and_fifo_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    expect_error(&dir.path().join("nope.safetensors"), "cannot read");
    expect_error(dir.path(), "not a regular file");
    // A FIFO would block a naive read forever.
    let fifo = dir.path().join("pipe.safetensors");
    crate::common::mkfifo(&fifo);
    expect_error(&fifo, "not a regular file");
}

#[test]
fn unknown_tensors_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let good = valid(dir.path());
    let p = rewrite(&good, &dir.path().join("extra.safetensors"), |t, _| {
        t.push(("lstm.weight_hr_l0".into(), Dtype::F32, vec![2], vec![0; 8]));
    });
    expect_error(&p, "unexpected tensor 'lstm.weight_hr_l0'");
}

/// f16 and bf16 files load to the same weights as the f32 file, rounded.
#[test]
fn half_precision_weights_equal_the_f32_weights_rounded() {
    use gatescope::model::load_checkpoint;
    let dir = tempfile::tempdir().unwrap();
    let good = valid(dir.path());
    let reference = load_checkpoint(&good).unwrap().model;
    type Round = fn(f32) -> (Vec<u8>, f32);
    let f16: Round = |x| (half::f16::from_f32(x).to_le_bytes().to_vec(), half::f16::from_f32(x).to_f32());
    let bf16: Round = |x| (half::bf16::from_f32(x).to_le_bytes().to_vec(), half::bf16::from_f32(x).to_f32());
    for (name, dtype, round) in [("f16", Dtype::F16, f16), ("bf16", Dtype::BF16, bf16)] {
        let p = rewrite(&good, &dir.path().join(format!("{name}.safetensors")), |t, _| {
            for x in t.iter_mut() {
                let bytes: Vec<u8> =
                    x.3.chunks_exact(4).flat_map(|b| round(f32::from_le_bytes(b.try_into().unwrap())).0).collect();
                (x.1, x.3) = (dtype, bytes);
            }
        });
        let loaded = load_checkpoint(&p).unwrap().model;
        for ((n, want), (_, got)) in reference.named_tensors().iter().zip(loaded.named_tensors()) {
            let want: Vec<f32> =
                Vec::<f32>::try_from(want.flatten(0, -1)).unwrap().into_iter().map(|x| round(x).1).collect();
            let got = Vec::<f32>::try_from(got.flatten(0, -1)).unwrap();
            assert_eq!(got, want, "{name}: tensor {n}");
        }
        // Rounding changed the weights: the test would notice a loader that ignored the dtype.
        let w = Vec::<f32>::try_from(reference.head_w.flatten(0, -1)).unwrap();
        assert!(w.iter().any(|&x| round(x).1 != x), "{name} rounding is visible");
    }
}
