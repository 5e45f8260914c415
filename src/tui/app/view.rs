//! What the panels show: the layer, the g and |h| toggles, how the text is
//! coloured (and by which unit), the inspect cursor, the output's scroll and
//! the help overlay. None of it changes what the model does.

use crate::model::Unit;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorMode {
    Plain,
    /// By the probability the model gave each character.
    Surprise,
    /// By one cell's activation, tanh(c).
    Cell,
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
        }
    }

    /// Another model: keep the choices that still exist.
    pub fn resize_model(&mut self, layers: usize, units: usize) {
        self.layers = layers.max(1);
        self.units = units.max(1);
        self.layer = self.layer.min(self.layers - 1);
        self.cell = self.cell.min(self.units - 1);
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
            ColorMode::Cell => ColorMode::Plain,
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
