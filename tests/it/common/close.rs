//! The tests' one tolerance: values agree when they differ by at most `tol`
//! in absolute terms up to magnitude 1, and relatively above it (the scale
//! is the larger magnitude, at least 1). Gates, probabilities and losses sit
//! below 1, where it is absolute; logits and states under an intervention
//! can be large, where a fixed absolute tolerance would ask for more digits
//! than f32 has.

use serde_json::Value;
use tch::Tensor;

/// Numbers to compare: one, a slice, a tensor, or JSON (numbers, arrays of
/// them, and null for a non-finite value).
pub trait Values {
    /// The values in order; None for a JSON null.
    fn values(&self) -> Vec<Option<f64>>;
}

impl Values for f32 {
    fn values(&self) -> Vec<Option<f64>> {
        vec![Some(*self as f64)]
    }
}
impl Values for f64 {
    fn values(&self) -> Vec<Option<f64>> {
        vec![Some(*self)]
    }
}
impl Values for [f32] {
    fn values(&self) -> Vec<Option<f64>> {
        self.iter().map(|&x| Some(x as f64)).collect()
    }
}
impl Values for Vec<f32> {
    fn values(&self) -> Vec<Option<f64>> {
        self.as_slice().values()
    }
}
impl Values for [f64] {
    fn values(&self) -> Vec<Option<f64>> {
        self.iter().map(|&x| Some(x)).collect()
    }
}
impl Values for Vec<f64> {
    fn values(&self) -> Vec<Option<f64>> {
        self.as_slice().values()
    }
}
impl Values for Tensor {
    fn values(&self) -> Vec<Option<f64>> {
        let v: Vec<f64> = Vec::try_from(self.flatten(0, -1).to_kind(tch::Kind::Double)).unwrap();
        v.into_iter().map(Some).collect()
    }
}
impl Values for Value {
    fn values(&self) -> Vec<Option<f64>> {
        match self {
            Value::Array(a) => a.iter().flat_map(|v| v.values()).collect(),
            Value::Null => vec![None],
            v => vec![Some(v.as_f64().unwrap_or_else(|| panic!("a number, not {v}")))],
        }
    }
}
impl Values for Vec<Value> {
    fn values(&self) -> Vec<Option<f64>> {
        self.iter().flat_map(|v| v.values()).collect()
    }
}
impl<T: Values + ?Sized> Values for &T {
    fn values(&self) -> Vec<Option<f64>> {
        (**self).values()
    }
}

/// How far apart `a` and `b` are on the tolerance's scale.
pub fn diff(a: f64, b: f64) -> f64 {
    if a == b {
        return 0.0; // equal infinities too
    }
    (a - b).abs() / a.abs().max(b.abs()).max(1.0)
}

/// The largest difference between `got` and `want` on the tolerance's scale
/// (infinite where one is null and the other not); they must be as long.
pub fn max_diff(got: impl Values, want: impl Values, what: &str) -> f64 {
    let (g, w) = (got.values(), want.values());
    assert_eq!(g.len(), w.len(), "{what}: lengths");
    g.iter()
        .zip(&w)
        .map(|(a, b)| match (a, b) {
            (Some(a), Some(b)) => diff(*a, *b),
            (None, None) => 0.0,
            _ => f64::INFINITY,
        })
        .fold(0.0, f64::max)
}

/// `got` equals `want` within `tol` (see the top), element by element.
pub fn assert_close(got: impl Values, want: impl Values, tol: f64, what: &str) {
    let (g, w) = (got.values(), want.values());
    assert_eq!(g.len(), w.len(), "{what}: lengths");
    for (k, (a, b)) in g.iter().zip(&w).enumerate() {
        let d = match (a, b) {
            (Some(a), Some(b)) => diff(*a, *b),
            (None, None) => 0.0,
            _ => f64::INFINITY,
        };
        let at = if g.len() > 1 { format!("[{k}]") } else { String::new() };
        assert!(d <= tol, "{what}{at}: got {a:?}, want {b:?} (difference {d:e} > {tol:e})");
    }
}
