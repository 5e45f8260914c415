//! The cell catalogue: for every text feature, the units whose c or h
//! correlates most with it (Pearson r over the analysed steps).
//!
//! `CatalogueBuilder` takes one step at a time (a feature row and every
//! layer's c, h and forget gate f), so the CLI can stream a long text
//! through the model in chunks and the playground can feed its ring of
//! steps; memory is a few sums per (feature, unit) and each unit's window of
//! forget gates for its half-life (`memory::HalfLives`), never the steps
//! themselves.

use super::features::{Feature, FEATURES};
use super::memory::HalfLives;
use crate::model::Unit;
use anyhow::{anyhow, Result};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Which state of a unit: the cell state c_t or the output h_t.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum State {
    #[serde(rename = "c")]
    C,
    #[serde(rename = "h")]
    H,
}

impl State {
    pub const ALL: [State; 2] = [State::C, State::H];

    pub fn letter(self) -> char {
        match self {
            State::C => 'c',
            State::H => 'h',
        }
    }

    pub fn from_letter(s: &str) -> Option<State> {
        match s {
            "c" => Some(State::C),
            "h" => Some(State::H),
            _ => None,
        }
    }
}

/// One unit's state and its r with a feature.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Correlation {
    #[serde(serialize_with = "unit_out", deserialize_with = "unit_in")]
    pub unit: Unit,
    pub state: State,
    pub r: f64,
    /// The unit's typical memory: the median over the steps of its
    /// half-life (`memory`), steps without one left out; None when no step
    /// had one (or, in a catalogue saved without it, unknown).
    #[serde(default)]
    pub median_half_life: Option<f64>,
}

/// A feature and its strongest units, strongest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureUnits {
    pub name: String,
    pub description: String,
    /// True when the feature had one value over the whole text: it lists no units.
    pub constant: bool,
    pub units: Vec<Correlation>,
}

/// The catalogue over `chars` steps: the features in `Feature::ALL`'s order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Catalogue {
    pub chars: usize,
    pub features: Vec<FeatureUnits>,
}

impl Catalogue {
    /// The units of one feature (empty when the catalogue does not list it).
    pub fn units(&self, feature: Feature) -> &[Correlation] {
        self.features.iter().find(|f| f.name == feature.name()).map_or(&[], |f| &f.units)
    }
}

fn unit_out<S: Serializer>(u: &Unit, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(u)
}

fn unit_in<'de, D: Deserializer<'de>>(d: D) -> Result<Unit, D::Error> {
    let s = String::deserialize(d)?;
    s.parse().map_err(serde::de::Error::custom)
}

/// Running sums for every (feature, unit state) pair. Values are shifted by
/// their first observation before they are summed, so the sums of squares do
/// not swamp the variance of a unit that sits near a large constant (a
/// saturated cell), and everything is accumulated in f64.
pub struct CatalogueBuilder {
    layers: usize,
    hidden: usize,
    n: usize,
    /// Per column (`(layer * 2 + state) * hidden + unit`): first value, sum and
    /// sum of squares of the shifted values, and whether it ever changed.
    u0: Vec<f64>,
    su: Vec<f64>,
    suu: Vec<f64>,
    varies: Vec<bool>,
    f0: [f64; FEATURES],
    sf: [f64; FEATURES],
    sff: [f64; FEATURES],
    f_varies: [bool; FEATURES],
    /// Feature-major cross sums: `sfu[j * columns + m]`.
    sfu: Vec<f64>,
    /// The current step's shifted column values.
    row: Vec<f64>,
    /// Per unit (`layer * hidden + unit`), its half-lives so far.
    half_lives: Vec<HalfLives>,
}

impl CatalogueBuilder {
    pub fn new(layers: usize, hidden: usize) -> Self {
        let cols = layers * 2 * hidden;
        Self {
            layers,
            hidden,
            n: 0,
            u0: vec![0.0; cols],
            su: vec![0.0; cols],
            suu: vec![0.0; cols],
            varies: vec![false; cols],
            f0: [0.0; FEATURES],
            sf: [0.0; FEATURES],
            sff: [0.0; FEATURES],
            f_varies: [false; FEATURES],
            sfu: vec![0.0; FEATURES * cols],
            row: vec![0.0; cols],
            half_lives: vec![HalfLives::new(); layers * hidden],
        }
    }

    pub fn steps(&self) -> usize {
        self.n
    }

    /// The steps that follow are another text, read from a zero state: r
    /// pools every text's steps, and half-lives do not reach across texts.
    pub fn start_text(&mut self) {
        self.half_lives.iter_mut().for_each(HalfLives::restart);
    }

    /// One step: the feature row and, per layer in order, (c_t, h_t, f_t).
    /// Panics if the layer count or sizes differ from `new`'s (a caller bug).
    pub fn push<'a>(
        &mut self,
        features: &[f64; FEATURES],
        states: impl IntoIterator<Item = (&'a [f32], &'a [f32], &'a [f32])>,
    ) {
        let hd = self.hidden;
        let mut layers = 0;
        for (k, (c, h, f)) in states.into_iter().enumerate() {
            assert!(c.len() == hd && h.len() == hd && f.len() == hd, "layer {k}: expected {hd} units");
            for (hl, &f) in self.half_lives[k * hd..(k + 1) * hd].iter_mut().zip(f) {
                hl.push(f);
            }
            for (s, values) in [c, h].into_iter().enumerate() {
                let base = (k * 2 + s) * hd;
                for (m, &v) in (base..base + hd).zip(values) {
                    self.row[m] = f64::from(v);
                }
            }
            layers += 1;
        }
        assert_eq!(layers, self.layers, "expected {} layers", self.layers);
        if self.n == 0 {
            self.u0.copy_from_slice(&self.row);
            self.f0 = *features;
        }
        for m in 0..self.row.len() {
            let v = self.row[m];
            // NaN != NaN, so a NaN column counts as varying; its r is then NaN and skipped.
            self.varies[m] |= v != self.u0[m];
            let b = v - self.u0[m];
            self.row[m] = b;
            self.su[m] += b;
            self.suu[m] += b * b;
        }
        let cols = self.row.len();
        for (j, &value) in features.iter().enumerate() {
            self.f_varies[j] |= value != self.f0[j];
            let a = value - self.f0[j];
            self.sf[j] += a;
            self.sff[j] += a * a;
            // Most features are 0 at most steps once shifted: skip the row.
            if a != 0.0 {
                let acc = &mut self.sfu[j * cols..(j + 1) * cols];
                for (s, &b) in acc.iter_mut().zip(&self.row) {
                    *s += a * b;
                }
            }
        }
        self.n += 1;
    }

    /// Pearson r of feature j with column m, or None when either is constant
    /// or the value is not finite (so the catalogue never lists NaN).
    fn r(&self, j: usize, m: usize) -> Option<f64> {
        if !self.f_varies[j] || !self.varies[m] {
            return None;
        }
        let n = self.n as f64;
        let cols = self.row.len();
        let cov = self.sfu[j * cols + m] - self.sf[j] * self.su[m] / n;
        let var_f = self.sff[j] - self.sf[j] * self.sf[j] / n;
        let var_u = self.suu[m] - self.su[m] * self.su[m] / n;
        if !(var_f > 0.0 && var_u > 0.0) {
            return None;
        }
        let r = cov / (var_f * var_u).sqrt();
        r.is_finite().then(|| r.clamp(-1.0, 1.0))
    }

    fn column_name(&self, m: usize) -> (Unit, State) {
        let (ks, u) = (m / self.hidden, m % self.hidden);
        (Unit::new(ks / 2, u), State::ALL[ks % 2])
    }

    /// A unit's median half-life over the steps so far.
    pub fn median_half_life(&self, unit: Unit) -> Option<f64> {
        self.half_lives[unit.layer * self.hidden + unit.index].median()
    }

    /// Every feature's r with every unit state it can be computed for
    /// (`median_half_life` left None).
    pub fn correlations(&self, feature: Feature) -> Vec<Correlation> {
        let j = feature.index();
        (0..self.row.len())
            .filter_map(|m| {
                let (unit, state) = self.column_name(m);
                // Filled in for the listed units only, by `finish`.
                self.r(j, m).map(|r| Correlation { unit, state, r, median_half_life: None })
            })
            .collect()
    }

    /// The catalogue: each feature's top `top` unit states by |r|; ties go to
    /// the lower layer, then the lower unit, then c before h.
    pub fn finish(&self, top: usize) -> Catalogue {
        let features = Feature::ALL
            .into_iter()
            .map(|f| {
                let mut all = self.correlations(f);
                all.sort_by(|a, b| {
                    b.r.abs()
                        .total_cmp(&a.r.abs())
                        .then(a.unit.layer.cmp(&b.unit.layer))
                        .then(a.unit.index.cmp(&b.unit.index))
                        .then(a.state.cmp(&b.state))
                });
                all.truncate(top);
                for c in &mut all {
                    c.median_half_life = self.median_half_life(c.unit);
                }
                FeatureUnits {
                    name: f.name().to_string(),
                    description: f.description().to_string(),
                    constant: self.n > 0 && !self.f_varies[f.index()],
                    units: all,
                }
            })
            .collect();
        Catalogue { chars: self.n, features }
    }
}

/// What text a saved catalogue was measured on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeasuredOn {
    /// The file's name (no folder).
    pub file: String,
    /// Offset of the first analysed character in the file, in characters.
    pub offset: usize,
    pub chars: usize,
    /// Further files the catalogue pools (`cells --data A B …`), each read
    /// from its start and a zero state.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<FileChars>,
}

/// A file a catalogue read, by name, and how many characters of it from its start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileChars {
    pub file: String,
    pub chars: usize,
}

/// The catalogue as a checkpoint carries it in its metadata key `cells`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedCatalogue {
    pub measured_on: MeasuredOn,
    pub top: usize,
    pub features: Vec<FeatureUnits>,
    /// Features whose best units the playground pins at start, in order
    /// (`cells --save --pin`); empty: the three strongest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pin: Vec<String>,
}

/// The metadata key a checkpoint's catalogue lives under.
pub const METADATA_KEY: &str = "cells";

impl SavedCatalogue {
    pub fn new(catalogue: Catalogue, measured_on: MeasuredOn, top: usize) -> Self {
        Self { measured_on, top, features: catalogue.features, pin: Vec::new() }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a catalogue serializes")
    }

    /// Read a checkpoint's `cells` metadata value.
    pub fn from_json(json: &str) -> Result<Self> {
        serde_json::from_str(json).map_err(|e| anyhow!("metadata '{METADATA_KEY}' is not a cell catalogue ({e})"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pearson r the textbook way, two passes in f64.
    fn pearson(x: &[f64], y: &[f64]) -> f64 {
        let n = x.len() as f64;
        let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
        let cov: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
        let vx: f64 = x.iter().map(|a| (a - mx).powi(2)).sum();
        let vy: f64 = y.iter().map(|b| (b - my).powi(2)).sum();
        cov / (vx * vy).sqrt()
    }

    #[test]
    fn r_matches_the_two_pass_formula_and_ranks_with_the_tie_rules() {
        // One layer of 3 units; features: line_position varies, newline never fires.
        let n = 50;
        let feats: Vec<[f64; FEATURES]> = (0..n)
            .map(|t| {
                let mut row = [0.0; FEATURES];
                row[Feature::LinePosition.index()] = (t % 7) as f64;
                row
            })
            .collect();
        // Unit 0 c: exactly the feature plus a large offset (r = 1); unit 1 c:
        // minus it (r = -1, a tie by |r| that unit 0 wins); unit 2 c: constant
        // (skipped); the h's: noise-like values.
        let c: Vec<[f32; 3]> = (0..n).map(|t| [1000.0 + (t % 7) as f32, -((t % 7) as f32), 0.25]).collect();
        let h: Vec<[f32; 3]> =
            (0..n).map(|t| [((t * 37) % 11) as f32, ((t * 13) % 5) as f32, (t as f32).sin()]).collect();
        let mut b = CatalogueBuilder::new(1, 3);
        for t in 0..n {
            b.push(&feats[t], [(&c[t][..], &h[t][..], &[0.9f32; 3][..])]);
        }
        let cat = b.finish(10);
        assert_eq!(cat.chars, n);
        let line = cat.units(Feature::LinePosition);
        assert_eq!(line.len(), 5, "the constant c of unit 2 is skipped: {line:?}");
        assert_eq!((line[0].unit, line[0].state), (Unit::new(0, 0), State::C));
        assert!((line[0].r - 1.0).abs() < 1e-12);
        // f = 0.9 throughout: 0.9^7 is the first power below one half.
        assert_eq!(line[0].median_half_life, Some(7.0));
        assert_eq!((line[1].unit, line[1].state), (Unit::new(0, 1), State::C));
        assert!((line[1].r + 1.0).abs() < 1e-12);
        let f: Vec<f64> = feats.iter().map(|r| r[0]).collect();
        for corr in &line[2..] {
            let col: Vec<f64> = h.iter().map(|row| f64::from(row[corr.unit.index])).collect();
            assert!((corr.r - pearson(&f, &col)).abs() < 1e-12, "{corr:?}");
        }
        let newline = &cat.features[Feature::Newline.index()];
        assert!(newline.constant && newline.units.is_empty());
        assert!(!cat.features[0].constant);
        assert_eq!(cat.features.len(), FEATURES);
        assert_eq!(b.finish(1).units(Feature::LinePosition).len(), 1);
    }

    #[test]
    fn equal_r_goes_to_the_lower_layer_then_c_before_h() {
        let n = 20;
        let mut b = CatalogueBuilder::new(2, 1);
        for t in 0..n {
            let mut row = [0.0; FEATURES];
            row[0] = t as f64;
            let v = [t as f32];
            // Every state equals the feature: four exact ties at r = 1.
            b.push(&row, [(&v[..], &v[..], &v[..]), (&v[..], &v[..], &v[..])]);
        }
        let got: Vec<String> = b
            .finish(4)
            .units(Feature::LinePosition)
            .iter()
            .map(|c| format!("{}{}", c.unit, c.state.letter()))
            .collect();
        assert_eq!(got, ["l0:0c", "l0:0h", "l1:0c", "l1:0h"]);
    }

    #[test]
    fn nan_states_are_never_listed() {
        let mut b = CatalogueBuilder::new(1, 2);
        for t in 0..10 {
            let mut row = [0.0; FEATURES];
            row[0] = t as f64;
            let c = [f32::NAN, t as f32];
            b.push(&row, [(&c[..], &c[..], &c[..])]);
        }
        let cat = b.finish(5);
        assert!(cat.units(Feature::LinePosition).iter().all(|c| c.r.is_finite() && c.unit.index == 1));
        assert!(serde_json::to_string(&cat).unwrap().contains("\"unit\":\"l0:1\""));
    }

    #[test]
    fn saved_catalogues_round_trip() {
        let mut b = CatalogueBuilder::new(1, 1);
        for t in 0..5 {
            let mut row = [0.0; FEATURES];
            row[0] = t as f64;
            b.push(&row, [(&[t as f32][..], &[1.0 - t as f32][..], &[0.5f32][..])]);
        }
        let saved = SavedCatalogue::new(
            b.finish(3),
            MeasuredOn { file: "v.txt".into(), offset: 9, chars: 5, also: Vec::new() },
            3,
        );
        assert_eq!(SavedCatalogue::from_json(&saved.to_json()).unwrap(), saved);
        assert!(SavedCatalogue::from_json("{}").is_err());
    }
}
