//! The page of where a cell's memory came from (`gatescope explain
//! --html`): the text, each character s up to step T coloured by its memory
//! write w_s on the cell pages' scale, normalised to the largest |w_s|; the
//! characters after T wrote nothing into c_T and stay white. Same style and
//! guarantees as `html::page`: self-contained, nothing the text holds
//! becomes markup.

use super::html::{cell_colour, foot, head, lines, signed_scale, span, STEP_STYLE};
use super::{escape, label};
use crate::model::Unit;
use std::fmt::Write;

/// What the page is about, beyond the text and the writes.
#[derive(Debug, Clone, PartialEq)]
pub struct WritesMeta {
    /// Names the model (a checkpoint file or a built-in model).
    pub checkpoint: String,
    pub unit: Unit,
    /// T, the step explained.
    pub step: usize,
    /// The smallest m with R(m) < 0.5, if any.
    pub half_life: Option<usize>,
}

fn num(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else {
        format!("{v:+.4}")
    }
}

/// The page for `chars` (the whole text read) and `writes` (w_0..w_T).
pub fn writes_page(chars: &[char], writes: &[f64], meta: &WritesMeta) -> String {
    let t = meta.step;
    let c_t: f64 = writes.iter().sum();
    let largest = writes.iter().map(|w| w.abs()).filter(|w| w.is_finite()).fold(0.0f64, f64::max);
    let title = format!("{} · {} at step {t} · memory writes", meta.checkpoint, meta.unit);
    let mut out = String::with_capacity(1024 + chars.len() * 160);
    head(&mut out, "explain", &title, STEP_STYLE);
    let ch_t = chars.get(t).map_or(String::new(), |&c| label(c));
    let _ = write!(
        out,
        "<header>\n<h1>{}</h1>\n<dl>\n<dt>checkpoint</dt><dd>{}</dd>\n\
         <dt>unit</dt><dd><code>{}</code> (layer l{}, unit {}) at step {t}, after reading {}</dd>\n\
         <dt>colouring</dt><dd>w<sub>s</sub> = i<sub>s</sub>·g<sub>s</sub>·∏<sub>r=s+1..{t}</sub> f<sub>r</sub>: \
         what step s wrote into the cell that is still in it at step {t}; the writes add up to c<sub>{t}</sub> = {}</dd>\n",
        escape(&title),
        escape(&meta.checkpoint),
        meta.unit,
        meta.unit.layer,
        meta.unit.index,
        escape(&ch_t),
        num(c_t)
    );
    signed_scale(
        &mut out,
        largest,
        "w",
        "v = w<sub>s</sub> / max |w<sub>s</sub>|: hue 0 (red) when v ≤ 0, 200 (blue) when v &gt; 0; \
         lightness 100 − 40·|v|; magenta: not a number",
    );
    let half = match meta.half_life {
        Some(m) => format!("{m} step{}: the cell keeps less than half of what it held {m} steps before", plural(m)),
        None => "none: the cell keeps at least half of what it held at every earlier step".into(),
    };
    let _ = write!(
        out,
        "<dt>half-life</dt><dd>{half}</dd>\n<dt>text</dt><dd>{} characters; step {t} is outlined, the ones after it \
         (grey) wrote nothing into c<sub>{t}</sub>. ⏎ marks a line break. Hover a character for its w<sub>s</sub>.</dd>\n\
         </dl>\n</header>\n<main class=\"text\">\n",
        chars.len()
    );
    lines(&mut out, chars.iter().copied(), |out, s, c| {
        let (class, background, what) = match writes.get(s) {
            Some(&w) => {
                let v = if largest > 0.0 { (w / largest) as f32 } else { 0.0 };
                let share = if c_t != 0.0 { format!(" ({:.1}% of c_{t})", 100.0 * w / c_t) } else { String::new() };
                let class = match (s == t, c == '\n') {
                    (true, true) => " class=\"now nl\"",
                    (true, false) => " class=\"now\"",
                    (false, true) => " class=\"nl\"",
                    (false, false) => "",
                };
                (class, cell_colour(if w.is_nan() { f32::NAN } else { v }), format!("w = {}{share}", num(w)))
            }
            None => (
                if c == '\n' { " class=\"after nl\"" } else { " class=\"after\"" },
                cell_colour(0.0),
                format!("after step {t}: no write into c_{t}"),
            ),
        };
        span(out, s, class, &background, &format!("step {s} · {}\n{what}", label(c)), c);
    });
    foot(&mut out, "explain");
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_colour_the_text_up_to_the_step() {
        let chars: Vec<char> = "a<\nbc".chars().collect();
        let meta = WritesMeta { checkpoint: "m<1>".into(), unit: Unit::new(1, 2), step: 3, half_life: Some(2) };
        let page = writes_page(&chars, &[0.5, -1.0, 0.0, 0.25], &meta);
        assert!(page.contains("<title>m&lt;1&gt; · l1:2 at step 3 · memory writes</title>"));
        assert!(page.contains(&format!("background:{}", cell_colour(-1.0))), "the largest |w| is the scale's end");
        assert!(page.contains(&format!("background:{}", cell_colour(0.5))));
        assert!(page.contains("w = -1.0000 (400.0% of c_3)"));
        assert!(page.contains("class=\"now\""));
        assert!(page.contains("after step 3: no write"));
        assert!(page.contains("&lt;</span>") && !page.contains("><</span>"));
        assert!(page.contains("2 steps: the cell keeps less than half"));
    }
}
