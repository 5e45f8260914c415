//! Colours and scales, in one place.

use crate::export::scale;
use ratatui::style::{Color, Modifier, Style};

pub const NAN: Color = Color::Rgb(scale::NAN.0, scale::NAN.1, scale::NAN.2);
pub const PROMPT: Color = Color::Cyan;
pub const PROMPT_BG: Color = Color::Rgb(0, 95, 115);
pub const GENERATED_BG: Color = Color::Rgb(60, 60, 60);
pub const GHOST: Color = Color::DarkGray;
pub const CURSOR_BG: Color = Color::Yellow;
pub const ERROR: Color = Color::LightRed;
pub const ACCENT: Color = Color::LightYellow;
pub const UNKNOWN_BG: Color = Color::Red;
/// The span search: the searched span, its matches, the match jumped to.
pub const SPAN_BG: Color = Color::Rgb(120, 200, 255);
pub const MATCH_BG: Color = Color::Rgb(150, 120, 220);
pub const MATCH_CURRENT_BG: Color = Color::Rgb(230, 140, 255);
/// Branches: the candidate chosen in the next-character panel, the marked
/// branch points in the output and the status.
pub const BRANCH: Color = Color::LightMagenta;
/// One colour per layer in the norm chart.
pub const LAYERS: [Color; 6] =
    [Color::LightCyan, Color::LightMagenta, Color::LightGreen, Color::LightYellow, Color::LightBlue, Color::LightRed];

pub fn title() -> Style {
    Style::new().add_modifier(Modifier::BOLD)
}

pub fn dim() -> Style {
    Style::new().fg(Color::DarkGray)
}

fn rgb((r, g, b): scale::Rgb) -> Color {
    Color::Rgb(r, g, b)
}

const SURPRISE: [scale::Rgb; 3] = [(70, 160, 80), (220, 200, 60), (210, 50, 50)];

/// The fixed 0..1 gate scale (i, f, o). Non-finite values get a colour of their own.
pub fn unit(v: f32) -> Color {
    rgb(scale::unit(v))
}

/// The fixed −1..1 scale (g, and tanh of a cell).
pub fn signed(v: f32) -> Color {
    rgb(scale::signed(v))
}

/// A character's background by a cell value in −1..1 (tanh(c)): the exported
/// page's colours, blue when positive, red when negative, white at 0.
pub fn cell(v: f32) -> Color {
    rgb(scale::cell(v))
}

/// Background for a character by the probability the model gave it:
/// green when expected, red when surprising (−ln p from 0 to 6 nats).
pub fn surprise(p: f32) -> Color {
    if !p.is_finite() {
        return NAN;
    }
    let s = -(p.clamp(1e-9, 1.0)).ln();
    rgb(scale::lerp(&SURPRISE, s / 6.0))
}
