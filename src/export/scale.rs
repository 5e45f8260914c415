//! The colour scales as plain RGB (viridis for 0..1, a blue-white-red
//! diverging scale for −1..1), for the exported files and, wrapped in
//! `Color::Rgb` by `tui::ui::theme`, for the playground: both always agree.

/// An sRGB colour.
pub type Rgb = (u8, u8, u8);

/// Non-finite values get a colour of their own (magenta, as in the playground).
pub const NAN: Rgb = (255, 0, 255);

const VIRIDIS: [Rgb; 5] = [(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)];
const DIVERGING: [Rgb; 3] = [(33, 102, 172), (240, 240, 240), (178, 24, 43)];

/// The colour at `t` in 0..1 along evenly spaced `stops`.
pub fn lerp(stops: &[Rgb], t: f32) -> Rgb {
    let t = t.clamp(0.0, 1.0) * (stops.len() - 1) as f32;
    let i = (t.floor() as usize).min(stops.len() - 2);
    let f = t - i as f32;
    let (a, b) = (stops[i], stops[i + 1]);
    let mix = |x: u8, y: u8| (x as f32 + (y as f32 - x as f32) * f).round() as u8;
    (mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// The fixed 0..1 gate scale (i, f, o).
pub fn unit(v: f32) -> Rgb {
    if !v.is_finite() {
        return NAN;
    }
    lerp(&VIRIDIS, v)
}

/// The fixed −1..1 scale (g).
pub fn signed(v: f32) -> Rgb {
    if !v.is_finite() {
        return NAN;
    }
    lerp(&DIVERGING, (v + 1.0) / 2.0)
}

/// The colour of a cell value v in −1..1 (tanh(c) or h), as the exported
/// page draws it: hsl(H, 60%, L) with H = 200 (blue) when v > 0, else 0
/// (red), and L = 100 − 40·|v| (0 is white). The playground's text colouring
/// uses it too, so a unit looks the same in both.
pub fn cell(v: f32) -> Rgb {
    if !v.is_finite() {
        return NAN;
    }
    let hue = if v > 0.0 { 200.0 } else { 0.0 };
    hsl(hue, 0.6, 1.0 - 0.4 * v.abs().min(1.0))
}

/// CSS's hsl() in sRGB: hue in degrees, saturation and lightness in 0..1.
fn hsl(hue: f32, sat: f32, light: f32) -> Rgb {
    let c = (1.0 - (2.0 * light - 1.0).abs()) * sat;
    let h = hue / 60.0;
    let x = c * (1.0 - (h % 2.0 - 1.0).abs());
    let (r, g, b) = match h as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = light - c / 2.0;
    let byte = |v: f32| ((v + m) * 255.0).round().clamp(0.0, 255.0) as u8;
    (byte(r), byte(g), byte(b))
}

/// `#rrggbb`.
pub fn hex((r, g, b): Rgb) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ends_middle_and_nan() {
        assert_eq!(unit(0.0), (68, 1, 84));
        assert_eq!(unit(1.0), (253, 231, 37));
        assert_eq!(unit(0.5), (33, 145, 140));
        assert_eq!(unit(7.0), unit(1.0), "clamped");
        assert_eq!(signed(-1.0), (33, 102, 172));
        assert_eq!(signed(0.0), (240, 240, 240));
        assert_eq!(signed(1.0), (178, 24, 43));
        assert_eq!(unit(f32::NAN), NAN);
        assert_eq!(signed(f32::INFINITY), NAN);
        assert_eq!(hex((255, 0, 16)), "#ff0010");
        // The page's hsl(200,60%,60%), hsl(0,60%,60%) and white, as a browser converts them.
        assert_eq!(cell(1.0), (92, 173, 214));
        assert_eq!(cell(-1.0), (214, 92, 92));
        assert_eq!(cell(0.0), (255, 255, 255));
        assert_eq!(cell(f32::NAN), NAN);
    }
}
