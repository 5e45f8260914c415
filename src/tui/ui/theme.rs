//! Colours and scales, in one place.

use ratatui::style::{Color, Modifier, Style};

pub const NAN: Color = Color::Rgb(255, 0, 255);
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
/// One colour per layer in the norm chart.
pub const LAYERS: [Color; 6] =
    [Color::LightCyan, Color::LightMagenta, Color::LightGreen, Color::LightYellow, Color::LightBlue, Color::LightRed];

pub fn title() -> Style {
    Style::new().add_modifier(Modifier::BOLD)
}

pub fn dim() -> Style {
    Style::new().fg(Color::DarkGray)
}

fn lerp(stops: &[(u8, u8, u8)], t: f32) -> Color {
    let t = t.clamp(0.0, 1.0) * (stops.len() - 1) as f32;
    let i = (t.floor() as usize).min(stops.len() - 2);
    let f = t - i as f32;
    let (a, b) = (stops[i], stops[i + 1]);
    let mix = |x: u8, y: u8| (x as f32 + (y as f32 - x as f32) * f).round() as u8;
    Color::Rgb(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

const VIRIDIS: [(u8, u8, u8); 5] = [(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)];
const DIVERGING: [(u8, u8, u8); 3] = [(33, 102, 172), (240, 240, 240), (178, 24, 43)];
const SURPRISE: [(u8, u8, u8); 3] = [(70, 160, 80), (220, 200, 60), (210, 50, 50)];

/// The fixed 0..1 gate scale (i, f, o). Non-finite values get a colour of their own.
pub fn unit(v: f32) -> Color {
    if !v.is_finite() {
        return NAN;
    }
    lerp(&VIRIDIS, v)
}

/// The fixed −1..1 scale (g, and tanh of a cell).
pub fn signed(v: f32) -> Color {
    if !v.is_finite() {
        return NAN;
    }
    lerp(&DIVERGING, (v + 1.0) / 2.0)
}

/// Background for a character by the probability the model gave it:
/// green when expected, red when surprising (−ln p from 0 to 6 nats).
pub fn surprise(p: f32) -> Color {
    if !p.is_finite() {
        return NAN;
    }
    let s = -(p.clamp(1e-9, 1.0)).ln();
    lerp(&SURPRISE, s / 6.0)
}
