//! The saturation view's cursor: a point in the (right, left) plane of one
//! gate, and which of the units nearest it is selected.

use super::Analyses;
use crate::model::Unit;

/// The cursor's steps across each axis of the plane (twentieths).
pub const SAT_GRID: u8 = 20;

/// The saturation view's cursor: a gate (0 i, 1 f, 2 o), a point in the
/// (right, left) plane in twentieths, and which of the nearest points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SatCursor {
    pub gate: usize,
    pub x: u8,
    pub y: u8,
    pub nth: usize,
}

impl SatCursor {
    /// Move by `dx` right and `dy` down, within the plane: ↑ (`dy` −1) goes
    /// up the plot, to more left-saturated points.
    pub fn move_by(&mut self, dx: i8, dy: i8) {
        let step = |v: u8, by: i8| (v as i16 + by as i16).clamp(0, SAT_GRID as i16) as u8;
        self.x = step(self.x, dx);
        self.y = step(self.y, -dy);
        self.nth = 0;
    }

    /// The next gate (i, f, o, and round).
    pub fn next_gate(&mut self) {
        self.gate = (self.gate + 1) % 3;
        self.nth = 0;
    }
}

impl Analyses {
    /// The saturation view's points for the cursor's gate, nearest the
    /// cursor first (ties: lower layer, lower unit), as (unit, right, left).
    pub fn nearest(&self) -> Vec<(Unit, f64, f64)> {
        let Some(sat) = &self.saturation else { return Vec::new() };
        let cur = &self.sat_cursor;
        let (cx, cy) = (f64::from(cur.x) / f64::from(SAT_GRID), f64::from(cur.y) / f64::from(SAT_GRID));
        let mut pts: Vec<(Unit, f64, f64)> = Vec::new();
        for (k, gates) in sat.value.layers.iter().enumerate() {
            let g = &gates[cur.gate.min(gates.len() - 1)];
            for (u, (&r, &l)) in g.right.iter().zip(&g.left).enumerate() {
                pts.push((Unit::new(k, u), r, l));
            }
        }
        let d = |p: &(Unit, f64, f64)| (p.1 - cx).powi(2) + (p.2 - cy).powi(2);
        pts.sort_by(|a, b| d(a).total_cmp(&d(b)).then(a.0.cmp(&b.0)));
        pts
    }

    /// The saturation point the cursor selects.
    pub fn selected_point(&self) -> Option<(Unit, f64, f64)> {
        let pts = self.nearest();
        (!pts.is_empty()).then(|| pts[self.sat_cursor.nth % pts.len()])
    }
}
