//! The page of an attribution (`gatescope attribute --html`): the prompt,
//! each character s up to step T coloured by its attribution a_s on the cell
//! pages' scale (blue positive, red negative, white zero), normalised to the
//! largest |a_s|; characters after T played no part and stay white. Same
//! style and guarantees as `html::page`: self-contained, and nothing the
//! text holds becomes markup.

use super::html::{cell_colour, foot, head, lines, signed_scale, span, STEP_STYLE};
use super::{escape, label};
use std::fmt::Write;

/// What the page says beyond the text and the attributions: plain text,
/// written by the caller, so the page needs no analysis types.
#[derive(Debug, Clone, PartialEq)]
pub struct AttributionMeta {
    /// Names the model (a checkpoint file or a built-in model).
    pub checkpoint: String,
    /// T, the step attributed.
    pub step: usize,
    /// What F is, e.g. "log p of the next character 'o' = −1.672".
    pub target: String,
    /// How the attributions were computed, e.g. "integrated gradients, M = 32".
    pub method: String,
    pub f_x: f32,
    pub f_baseline: f32,
}

fn num(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else {
        format!("{v:+.5}")
    }
}

/// The largest finite |a_s|, the scale's end (0 when there is none).
pub fn largest(values: &[f32]) -> f32 {
    values.iter().map(|a| a.abs()).filter(|a| a.is_finite()).fold(0.0, f32::max)
}

/// `a` on −1..1, as the scale draws it.
pub fn normalised(a: f32, largest: f32) -> f32 {
    if largest > 0.0 {
        a / largest
    } else if a.is_nan() {
        a
    } else {
        0.0
    }
}

/// The page for `chars` (the whole prompt) and `values` (a_0..a_T).
pub fn attribution_page(chars: &[char], values: &[f32], meta: &AttributionMeta) -> String {
    let t = meta.step;
    let top = largest(values);
    let sum: f64 = values.iter().map(|&a| a as f64).sum();
    let title = format!("{} · attribution at step {t}", meta.checkpoint);
    let mut out = String::with_capacity(1024 + chars.len() * 160);
    head(&mut out, "attribute", &title, STEP_STYLE);
    let ch_t = chars.get(t).map_or(String::new(), |&c| label(c));
    let _ = write!(
        out,
        "<header>\n<h1>{}</h1>\n<dl>\n<dt>checkpoint</dt><dd>{}</dd>\n\
         <dt>target</dt><dd>F = {} at step {t}, after reading {}</dd>\n\
         <dt>method</dt><dd>{}: a<sub>s</sub> = Σ<sub>d</sub> e<sub>s</sub>[d]·∂F/∂e<sub>s</sub>[d], \
         e<sub>s</sub> the first layer's input at step s</dd>\n\
         <dt>totals</dt><dd>Σ a<sub>s</sub> = {}; F(e) − F(0) = {} − {} = {}</dd>\n",
        escape(&title),
        escape(&meta.checkpoint),
        escape(&meta.target),
        escape(&ch_t),
        escape(&meta.method),
        num(sum),
        num(meta.f_x as f64),
        num(meta.f_baseline as f64),
        num(meta.f_x as f64 - meta.f_baseline as f64),
    );
    signed_scale(
        &mut out,
        f64::from(top),
        "a",
        "a<sub>s</sub> / max|a<sub>s</sub>|: hue 0 (red) when ≤ 0, 200 (blue) when &gt; 0; \
         lightness 100 − 40·|v|; magenta: not a number",
    );
    let _ = write!(
        out,
        "<dt>text</dt><dd>{} characters; step {t} is outlined, and what follows it is grey. \
         ⏎ marks a line break. Hover a character for its step and a<sub>s</sub>.</dd>\n</dl>\n</header>\n\
         <main class=\"text\">\n",
        chars.len()
    );
    lines(&mut out, chars.iter().copied(), |out, s, c| {
        let (background, title, class) = match values.get(s) {
            Some(&a) => (
                cell_colour(normalised(a, top)),
                format!("step {s} · {}\na = {}", label(c), num(a as f64)),
                if s == t { " class=\"now\"" } else { "" },
            ),
            None => (cell_colour(0.0), format!("step {s} · {}\nafter step {t}", label(c)), " class=\"after\""),
        };
        span(out, s, class, &background, &title, c);
    });
    foot(&mut out, "attribute");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaled_to_the_largest_and_escaped() {
        let meta = AttributionMeta {
            checkpoint: "m<1>".into(),
            step: 1,
            target: "log p of '<'".into(),
            method: "gradient × input".into(),
            f_x: -1.0,
            f_baseline: -2.0,
        };
        let page = attribution_page(&['<', 'b', 'c'], &[0.5, -1.0], &meta);
        assert!(!page.contains("<1>") && page.contains("m&lt;1&gt;"));
        assert!(page.contains(&format!("background:{}\" title=\"step 0", cell_colour(0.5))));
        assert!(page.contains(&format!("class=\"now\" style=\"background:{}\"", cell_colour(-1.0))));
        assert!(page.contains("class=\"after\""));
        assert_eq!(normalised(0.0, 0.0), 0.0);
        assert_eq!(largest(&[f32::NAN, -3.0, 2.0]), 3.0);
    }
}
