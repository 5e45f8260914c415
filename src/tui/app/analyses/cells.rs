//! The cells panel's rows and labels, and the named cells a checkpoint's
//! catalogue gives the playground when it loads.

use super::NAMED_PINS;
use crate::analysis::features::FEATURES;
use crate::analysis::{Catalogue, Correlation, SavedCatalogue};
use crate::model::Unit;
use crate::tui::app::{App, CellLabel};

/// The cells panel's rows: each feature's units in order, or one empty row
/// for a feature that lists none.
pub fn cell_rows(cat: &Catalogue) -> Vec<(usize, Option<Correlation>)> {
    let mut rows = Vec::new();
    for (j, f) in cat.features.iter().enumerate() {
        if f.units.is_empty() {
            rows.push((j, None));
        }
        rows.extend(f.units.iter().map(|c| (j, Some(*c))));
    }
    rows
}

/// The named cells of a checkpoint's catalogue, for a model of `layers` ×
/// `hidden` (units it does not have are skipped): every feature's best unit
/// with its label, and how many of them, from the front, to pin at start.
/// The catalogue's `pin` features come first, in their order, and are the
/// ones pinned; without them, the three strongest are. The rest follow
/// strongest first. A unit keeps the label of the feature that placed it.
pub fn named_cells(cat: &SavedCatalogue, layers: usize, hidden: usize) -> (Vec<(Unit, CellLabel)>, usize) {
    let mut best: Vec<(&str, Correlation, usize)> = cat
        .features
        .iter()
        .enumerate()
        .filter_map(|(j, f)| f.units.first().map(|c| (f.name.as_str(), *c, j)))
        .filter(|(_, c, _)| c.unit.layer < layers && c.unit.index < hidden && c.r.is_finite())
        .collect();
    let pinned_rank = |name: &str| cat.pin.iter().position(|p| p == name).unwrap_or(usize::MAX);
    best.sort_by(|a, b| {
        (pinned_rank(a.0).cmp(&pinned_rank(b.0))).then(b.1.r.abs().total_cmp(&a.1.r.abs())).then(a.2.cmp(&b.2))
    });
    let mut out: Vec<(Unit, CellLabel)> = Vec::new();
    let mut pins = 0;
    for (name, c, _) in best {
        if !out.iter().any(|(u, _)| *u == c.unit) {
            out.push((c.unit, CellLabel { feature: name.to_string(), r: c.r }));
            if pinned_rank(name) != usize::MAX {
                pins = out.len();
            }
        }
    }
    debug_assert!(out.len() <= FEATURES);
    let pins = if cat.pin.is_empty() { NAMED_PINS.min(out.len()) } else { pins };
    (out, pins)
}

impl App {
    /// Label and pin the catalogued cells of the model just loaded.
    pub(in crate::tui::app) fn name_cells(&mut self) {
        let Some(cat) = self.model.cells.clone() else { return };
        let (named, pins) = named_cells(&cat, self.model.layers, self.model.hidden);
        for (k, (u, label)) in named.into_iter().enumerate() {
            if k < pins {
                self.view.pin(u);
            }
            self.view.labels.insert(u, label);
        }
    }
}
