//! What the panels show: the layer, the g and |h| toggles, how the text is
//! coloured (and by which unit), the inspect cursor, the output's scroll and
//! the help overlay; the pinned units and their names; what stands in place
//! of the heatmaps. None of it changes what the model does.

use crate::model::Unit;
use std::collections::BTreeMap;
use std::fmt;

/// What the panel beside the output shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Panel {
    Gates,
    /// The cell catalogue over the history.
    Cells,
    /// Gate saturation over the history.
    Saturation,
    /// The colouring unit's cell at the inspect cursor, with its gates'
    /// terms (`app/explain.rs`).
    Explain,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorMode {
    Plain,
    /// By the probability the model gave each character.
    Surprise,
    /// By one cell's activation, tanh(c).
    Cell,
    /// By the colouring unit's memory writes w_s at the inspect cursor
    /// (`app/explain.rs`).
    Memory,
    /// By each character's attribution of the prediction (or the explained
    /// unit's c) at the inspect cursor (`app/attribution.rs`).
    Attribution(crate::analysis::attribution::Method),
}

/// A catalogued cell's name: the feature its unit tracks best (`line_position`)
/// and the unit's r with it. Shown as `line position r .89`; the heatmap
/// gutter shows as many of its words as fit (`ui/gates.rs`).
#[derive(Debug, Clone, PartialEq)]
pub struct CellLabel {
    pub feature: String,
    pub r: f64,
}

impl CellLabel {
    /// The feature's name as words: `line position`.
    pub fn words(&self) -> impl Iterator<Item = &str> {
        self.feature.split('_').filter(|w| !w.is_empty())
    }
}

impl fmt::Display for CellLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} r {}", self.words().collect::<Vec<_>>().join(" "), short_r(self.r))
    }
}

/// r as the labels show it: two decimals without the leading zero (`.89`, `−.42`).
pub fn short_r(r: f64) -> String {
    let s = format!("{:.2}", r.abs());
    let s = s.strip_prefix('0').unwrap_or(&s).to_string();
    if r < 0.0 {
        format!("−{s}")
    } else {
        s
    }
}

pub struct View {
    /// Layers and units per layer of the model shown.
    layers: usize,
    units: usize,
    pub layer: usize,
    pub show_g: bool,
    pub show_h: bool,
    pub color: ColorMode,
    /// The colouring unit's index in `layer`.
    pub cell: usize,
    /// Inspect cursor: an index into the run's steps.
    pub cursor: usize,
    /// Output lines scrolled back from the newest.
    pub scroll: usize,
    pub help: bool,
    /// Help lines scrolled past.
    pub help_scroll: usize,
    /// The furthest the help scrolls on the screen drawn last, which the
    /// event loop sets (the overlay's layout is the drawing's); None when
    /// nothing is drawn, as in tests, where the overlay clamps as it draws.
    pub help_max_scroll: Option<usize>,
    /// Units shown first in the heatmaps (any layer), in pin order.
    pub pins: Vec<Unit>,
    /// Names of the checkpoint's catalogued cells.
    pub labels: BTreeMap<Unit, CellLabel>,
    pub panel: Panel,
    /// The candidate chosen in the next-character panel (its rank, 0 the
    /// likeliest) while inspecting; Enter branches with it.
    pub choice: Option<usize>,
}

impl View {
    pub fn new(layers: usize, units: usize) -> Self {
        Self {
            layers: layers.max(1),
            units: units.max(1),
            layer: 0,
            show_g: false,
            show_h: false,
            color: ColorMode::Plain,
            cell: 0,
            cursor: 0,
            scroll: 0,
            help: false,
            help_scroll: 0,
            help_max_scroll: None,
            pins: Vec::new(),
            labels: BTreeMap::new(),
            panel: Panel::Gates,
            choice: None,
        }
    }

    /// Another model: keep the layer and cell that still exist. Pins and
    /// labels go: unit l1:86 of one model has nothing to do with l1:86 of
    /// another, and the new model's catalogue pins its own.
    pub fn resize_model(&mut self, layers: usize, units: usize) {
        self.layers = layers.max(1);
        self.units = units.max(1);
        self.layer = self.layer.min(self.layers - 1);
        self.cell = self.cell.min(self.units - 1);
        self.pins.clear();
        self.labels.clear();
    }

    /// Pin `u` if it is not pinned; returns whether it was new.
    pub fn pin(&mut self, u: Unit) -> bool {
        if self.pins.contains(&u) {
            return false;
        }
        self.pins.push(u);
        true
    }

    /// Pin or unpin `u`; returns whether it is pinned now.
    pub fn toggle_pin(&mut self, u: Unit) -> bool {
        match self.pins.iter().position(|&p| p == u) {
            Some(i) => {
                self.pins.remove(i);
                false
            }
            None => self.pin(u),
        }
    }

    /// A unit's name with its catalogue label when it has one:
    /// `l1:134 line position r .89`.
    pub fn name(&self, u: Unit) -> String {
        match self.labels.get(&u) {
            Some(l) => format!("{u} {l}"),
            None => u.to_string(),
        }
    }

    /// Colour by unit `u` (any layer: the shown layer follows).
    pub fn colour_by(&mut self, u: Unit) {
        if u.layer < self.layers && u.index < self.units {
            self.layer = u.layer;
            self.cell = u.index;
            self.color = ColorMode::Cell;
        }
    }

    pub fn layers(&self) -> usize {
        self.layers
    }

    pub fn units(&self) -> usize {
        self.units
    }

    /// The colouring unit, named as everywhere (`l1:134`).
    pub fn unit(&self) -> Unit {
        Unit::new(self.layer, self.cell)
    }

    /// Step the layer by `by`, wrapping around.
    pub fn step_layer(&mut self, by: i8) {
        self.layer = wrap(self.layer, by as i64, self.layers);
    }

    /// Step the colouring unit by `by`, wrapping, and colour by it.
    pub fn step_cell(&mut self, by: i8) {
        self.cell = wrap(self.cell, by as i64, self.units);
        self.color = ColorMode::Cell;
    }

    /// Colour by unit `index` of the current layer, if the layer has it.
    pub fn set_cell(&mut self, index: usize) -> bool {
        if index >= self.units {
            return false;
        }
        self.cell = index;
        self.color = ColorMode::Cell;
        true
    }

    pub fn cycle_colour(&mut self) {
        self.color = match self.color {
            ColorMode::Plain => ColorMode::Surprise,
            ColorMode::Surprise => ColorMode::Cell,
            ColorMode::Cell | ColorMode::Memory | ColorMode::Attribution(_) => ColorMode::Plain,
        }
    }
}

fn wrap(at: usize, by: i64, n: usize) -> usize {
    (at as i64 + by).rem_euclid(n as i64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_and_layers_wrap() {
        let mut v = View::new(2, 16);
        v.step_cell(-10);
        assert_eq!(v.cell, 6);
        v.step_cell(10);
        assert_eq!(v.cell, 0);
        v.step_layer(-1);
        assert_eq!(v.layer, 1);
        assert_eq!(v.unit().to_string(), "l1:0");
        assert!(!v.set_cell(16) && v.set_cell(15));
    }
}
