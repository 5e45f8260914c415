//! Every bad checkpoint gives one line naming the file and what is wrong,
//! exit status 1, and no panic.

mod common;

use common::{one_line_error, run, tiny_checkpoint};
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
    common::mkfifo(&fifo);
    expect_error(&fifo, "not a regular file");
}

#[test]
fn half_precision_checkpoints_load() {
    let dir = tempfile::tempdir().unwrap();
    let good = valid(dir.path());
    let p = rewrite(&good, &dir.path().join("f16.safetensors"), |t, _| {
        for x in t.iter_mut() {
            let f: Vec<u8> =
                x.3.chunks_exact(4)
                    .flat_map(|b| half::f16::from_f32(f32::from_le_bytes([b[0], b[1], b[2], b[3]])).to_le_bytes())
                    .collect();
            (x.1, x.3) = (Dtype::F16, f);
        }
    });
    let out = run(&["info", p.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
