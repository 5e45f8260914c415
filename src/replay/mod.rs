//! Replay: how a run's cells formed, measured on each of its training
//! snapshots (`model::snapshot`) in step order, on the first N characters of
//! a text:
//!
//! - `nats_per_char`: eval's stateful loss over those characters (one pass,
//!   state carried; N − 1 characters predicted), `train::eval::stateful_loss`;
//! - `best`: the feature's top unit state by |r|, by the cell catalogue's own
//!   definition and tie rules (`analysis::CatalogueBuilder::finish`);
//! - `final_r`: the r, in this snapshot, of the last snapshot's best unit
//!   state. A unit keeps its index through training, so this follows one
//!   unit over time.
//!
//! Each snapshot file is read once and its text pass serves every feature.
//! The last snapshot is measured first (its best units are every other
//! snapshot's `final_r`), then the others in step order, each copied into the
//! same model's tensors.

pub mod report;
pub mod svg;

use crate::analysis::{self, CatalogueBuilder, Correlation, Feature, FeatureTable, State};
use crate::model::snapshot::{load_into, Snapshot};
use crate::model::{load_checkpoint, CharLstm, Unit};
use crate::train::eval::stateful_loss;
use crate::train::guard::catch_torch;
use anyhow::{bail, Result};
use serde::Serialize;
use std::path::Path;

/// A unit state without its r: the feature's best in the last snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct UnitState {
    #[serde(serialize_with = "unit_out")]
    pub unit: Unit,
    pub state: State,
}

fn unit_out<S: serde::Serializer>(u: &Unit, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(u)
}

/// One snapshot's numbers for one feature.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    pub step: usize,
    /// NaN (JSON null) when the snapshot's weights give no finite loss.
    pub nats_per_char: f64,
    /// None (JSON null) when the feature is constant over the text or no unit varies.
    pub best: Option<Correlation>,
    /// None (JSON null) when there is no final unit state or it is constant in this snapshot.
    pub final_r: Option<f64>,
}

/// One feature over the snapshots, in step order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timeline {
    pub name: String,
    #[serde(rename = "final")]
    pub final_unit: Option<UnitState>,
    pub snapshots: Vec<Point>,
}

/// A replay: one timeline per requested feature, in the order asked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Replay {
    pub features: Vec<Timeline>,
}

impl Replay {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a replay serializes")
    }
}

/// One snapshot measured: its loss and the catalogue's sums over the text.
struct Measured {
    step: usize,
    loss: f64,
    builder: CatalogueBuilder,
}

impl Measured {
    fn best(&self, f: Feature) -> Option<Correlation> {
        self.builder.finish(1).units(f).first().copied()
    }
}

/// Loss and catalogue sums of `model` over `ids`: two passes over the text
/// (eval's stateful pass, then the catalogue's), all features at once.
fn measure(model: &CharLstm, step: usize, table: &FeatureTable, ids: &[i64]) -> Result<Measured> {
    let d = model.dims;
    let what = format!("replaying step {step} of a {}×{} model over {} characters", d.layers, d.hidden, ids.len());
    catch_torch(&what, || {
        let loss = stateful_loss(model, ids, tch::Device::Cpu);
        let mut builder = CatalogueBuilder::new(d.layers, d.hidden);
        analysis::stream(model, ids, &mut |_| {}, |t, layers| builder.push(table.row(t), analysis::states(layers)));
        Ok(Measured { step, loss, builder })
    })
}

/// Measure every snapshot (in step order, as `model::snapshot::list_snapshots`
/// returns them) on `chars` for `features`. `progress(done, step)` is called
/// before each snapshot is read, and `(snapshots.len(), _)` at the end; `data`
/// names the text in errors.
pub fn replay(
    snapshots: &[Snapshot],
    chars: &[char],
    data: &Path,
    features: &[Feature],
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Replay> {
    let Some(last) = snapshots.last() else { bail!("no snapshots to replay") };
    progress(0, last.step);
    let ck = load_checkpoint(&last.path)?;
    let ids = analysis::encode(&ck.model.vocab, chars, &data.display().to_string())?;
    let table = FeatureTable::new(chars);
    let final_m = measure(&ck.model, last.step, &table, &ids)?;
    let finals: Vec<Option<UnitState>> =
        features.iter().map(|&f| final_m.best(f).map(|c| UnitState { unit: c.unit, state: c.state })).collect();
    let mut timelines: Vec<Timeline> = features
        .iter()
        .zip(&finals)
        .map(|(f, fin)| Timeline { name: f.name().to_string(), final_unit: *fin, snapshots: Vec::new() })
        .collect();
    let mut add = |m: &Measured| {
        let cat = m.builder.finish(1);
        for ((tl, &f), fin) in timelines.iter_mut().zip(features).zip(&finals) {
            let final_r = fin.and_then(|fin| {
                m.builder.correlations(f).into_iter().find(|c| c.unit == fin.unit && c.state == fin.state).map(|c| c.r)
            });
            let best = cat.units(f).first().copied();
            tl.snapshots.push(Point { step: m.step, nats_per_char: m.loss, best, final_r });
        }
    };
    for (k, s) in snapshots[..snapshots.len() - 1].iter().enumerate() {
        progress(k + 1, s.step);
        load_into(&ck.model, &s.path)?;
        add(&measure(&ck.model, s.step, &table, &ids)?);
    }
    add(&final_m);
    progress(snapshots.len(), last.step);
    Ok(Replay { features: timelines })
}
