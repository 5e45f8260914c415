//! One self-contained HTML page of the text the model read and wrote, each
//! character's background coloured by one cell or by surprise, after the
//! classic pages of LSTM cells (hsl: blue for positive, red for negative,
//! white at zero). No scripts, external stylesheets or fonts: it opens in
//! any browser, offline, and nothing the model wrote can become markup.

use super::{escape, label, shown};
use crate::analysis::State;
use crate::generate::Step;
use crate::model::Unit;
use std::borrow::Borrow;
use std::fmt::Write;

/// How the page's legend and hover text name a state's value.
fn value_name(state: State) -> &'static str {
    match state {
        State::C => "tanh(c)",
        State::H => "h",
    }
}

/// What colours each character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colouring {
    /// One unit's state after reading the character.
    Cell { unit: Unit, state: State },
    /// −ln p, p the probability the model gave the character before reading
    /// it (`Step::prob`, temperature 1).
    Surprise,
}

/// What the legend says beyond the colouring, and the optional guess rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageMeta {
    /// Names the model (a checkpoint file, or a label given by the user).
    pub checkpoint: String,
    /// Under each character, its top-5 next-character guesses.
    pub top: bool,
}

/// Surprise at or above this many nats gets the darkest red (as the playground's 0..6 scale).
pub const SURPRISE_MAX: f32 = 6.0;

/// The value a step is coloured by: `(v, shown)` where v is on the scale
/// (tanh(c), h, or surprise in nats) and `shown` says what v was made from.
/// None when the step lacks it (the first character has no probability; a
/// unit outside the step's layers, or a trace without states).
pub fn value(step: &Step, colouring: Colouring) -> Option<(f32, String)> {
    match colouring {
        Colouring::Cell { unit, state } => {
            let layer = step.layers.get(unit.layer)?;
            match state {
                State::C => {
                    let c = *layer.gates.c.get(unit.index)?;
                    Some((c.tanh(), format!("tanh(c) = {} (c = {})", num(c.tanh()), num(c))))
                }
                State::H => {
                    let h = *layer.gates.h.get(unit.index)?;
                    Some((h, format!("h = {}", num(h))))
                }
            }
        }
        Colouring::Surprise => {
            let p = step.prob?;
            let s = surprise(p);
            Some((s, format!("surprise = {s:.2} nats (p = {})", percent(p))))
        }
    }
}

/// −ln p in nats, with p floored at 1e-9 so a zero probability stays finite.
pub fn surprise(p: f32) -> f32 {
    if p.is_nan() {
        return f32::NAN;
    }
    -(p.clamp(1e-9, 1.0)).ln()
}

/// The background for a cell value v in −1..1: hue 200 (blue) when v > 0,
/// else 0 (red); lightness 100 − 40·|v|, so 0 is white. NaN is magenta.
pub fn cell_colour(v: f32) -> String {
    if v.is_nan() {
        return "hsl(300,100%,50%)".into();
    }
    let hue = if v > 0.0 { 200 } else { 0 };
    format!("hsl({hue},60%,{:.1}%)", 100.0 - 40.0 * v.abs().min(1.0))
}

/// The background for a surprise s in nats: red, lightness 100 − 40·min(s/6, 1).
pub fn surprise_colour(s: f32) -> String {
    if s.is_nan() {
        return "hsl(300,100%,50%)".into();
    }
    format!("hsl(0,60%,{:.1}%)", 100.0 - 40.0 * (s / SURPRISE_MAX).clamp(0.0, 1.0))
}

fn colour(colouring: Colouring, v: Option<f32>) -> String {
    match (colouring, v) {
        (_, None) => "hsl(0,60%,100.0%)".into(),
        (Colouring::Cell { .. }, Some(v)) => cell_colour(v),
        (Colouring::Surprise, Some(s)) => surprise_colour(s),
    }
}

fn num(v: f32) -> String {
    if v.is_nan() {
        "NaN".into()
    } else {
        format!("{v:+.3}")
    }
}

fn percent(p: f32) -> String {
    if p.is_nan() {
        "NaN".into()
    } else {
        format!("{:.1}%", p * 100.0)
    }
}

pub(super) const STYLE: &str = "
body{margin:0;padding:24px 32px;background:#fff;color:#1d1d1f;font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}
header{max-width:70em;border-bottom:1px solid #ddd;margin-bottom:18px;padding-bottom:10px}
h1{font-size:19px;font-weight:600;margin:0 0 8px}
dl{display:grid;grid-template-columns:max-content 1fr;gap:3px 14px;margin:0;font-size:14px}
dt{color:#666}
dd{margin:0}
code,.text,.scale{font-family:'DejaVu Sans Mono','SFMono-Regular',Menlo,Consolas,'Liberation Mono',monospace}
.scale{display:inline-flex;align-items:center;gap:6px;font-size:13px}
.scale .bar{display:inline-flex;border:1px solid #bbb}
.scale .bar span{display:inline-block;width:16px;height:14px}
.text{font-size:15px;line-height:1.65;max-width:100em}
.line{white-space:pre-wrap;overflow-wrap:anywhere;min-height:1.65em}
.p{box-shadow:inset 0 -2px 0 #1f7a8c}
.nl{color:#555}
.key{padding:0 3px}
.top .line{display:flex;flex-wrap:wrap;white-space:pre;margin-bottom:10px}
.col{display:inline-flex;flex-direction:column;min-width:1ch}
.col .g{font-size:10.5px;line-height:1.3;text-align:center;color:#222;border-top:1px solid #fff}
footer{margin-top:24px;color:#999;font-size:12px}
";

/// The extra style of a page about one step T (explain's memory writes,
/// attribute): T outlined, the characters after it grey.
pub(super) const STEP_STYLE: &str = ".after{color:#999}\n.now{outline:2px solid #1d1d1f}\n";

/// A page's start, up to `<body>`: self-contained, its title escaped, the
/// pages' style and `style` after it; `command` names the gatescope command
/// that wrote it.
pub(super) fn head(out: &mut String, command: &str, title: &str, style: &str) {
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\" />\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\" />\n\
         <meta name=\"generator\" content=\"gatescope {command}\" />\n<title>{}</title>\n<style>{STYLE}{style}</style>\n</head>\n<body>\n",
        escape(title)
    );
}

/// A page's end, from the text's `</main>`.
pub(super) fn foot(out: &mut String, command: &str) {
    let _ = write!(out, "</main>\n<footer>gatescope {command}</footer>\n</body>\n</html>\n");
}

/// The legend's scale for a signed value x on −`top`..+`top` (the cell
/// pages' colours of v = x / `top`): eleven stops, each titled `name = x`,
/// then `rule`, the words that say how v is coloured.
pub(super) fn signed_scale(out: &mut String, top: f64, name: &str, rule: &str) {
    let _ = write!(out, "<dt>scale</dt><dd><span class=\"scale\">−{top:.4}<span class=\"bar\">");
    for i in 0..=10 {
        let v = -1.0 + 0.2 * i as f32;
        let _ = write!(
            out,
            "<span style=\"background:{}\" title=\"{name} = {:+.4}\"></span>",
            cell_colour(v),
            f64::from(v) * top
        );
    }
    let _ = writeln!(out, "</span>+{top:.4}</span> {rule}</dd>");
}

/// The text, a `<div class="line">` per line: `one(out, s, c)` writes
/// character s, and a line break ends its line.
pub(super) fn lines(
    out: &mut String,
    chars: impl IntoIterator<Item = char>,
    mut one: impl FnMut(&mut String, usize, char),
) {
    let mut open = false;
    for (s, c) in chars.into_iter().enumerate() {
        if !open {
            out.push_str("<div class=\"line\">");
            open = true;
        }
        one(out, s, c);
        if c == '\n' {
            out.push_str("</div>\n");
            open = false;
        }
    }
    if open {
        out.push_str("</div>\n");
    }
}

/// One character of the text: its step, `class` (a whole ` class="…"`
/// attribute, or empty), background and hover title; nothing the text
/// holds becomes markup.
pub(super) fn span(out: &mut String, t: usize, class: &str, background: &str, title: &str, ch: char) {
    let _ = write!(
        out,
        "<span data-t=\"{t}\"{class} style=\"background:{background}\" title=\"{}\">{}</span>",
        escape(title).replace('\n', "&#10;"),
        escape(&shown(ch))
    );
}

/// The whole page for `steps` (in order), coloured by `colouring`: a
/// trace's own steps, or the playground's shared ones.
pub fn page<S: Borrow<Step>>(steps: &[S], colouring: Colouring, meta: &PageMeta) -> String {
    let mut out = String::with_capacity(512 + steps.len() * if meta.top { 700 } else { 160 });
    let what = match colouring {
        Colouring::Cell { unit, state } => format!("cell {unit} · {}", value_name(state)),
        Colouring::Surprise => "surprise".to_string(),
    };
    head(&mut out, "export", &format!("{} · {what}", meta.checkpoint), "");
    legend(&mut out, steps, colouring, meta, &what);
    out.push_str(if meta.top { "<main class=\"text top\">\n" } else { "<main class=\"text\">\n" });
    lines(&mut out, steps.iter().map(|s| s.borrow().ch), |out, s, _| {
        character(out, steps[s].borrow(), colouring, meta.top)
    });
    if steps.is_empty() {
        out.push_str("<p>No steps.</p>\n");
    }
    foot(&mut out, "export");
    out
}

fn legend<S: Borrow<Step>>(out: &mut String, steps: &[S], colouring: Colouring, meta: &PageMeta, what: &str) {
    let n_prompt = steps.iter().filter(|&s| s.borrow().is_prompt).count();
    let _ = write!(
        out,
        "<header>\n<h1>{}</h1>\n<dl>\n<dt>checkpoint</dt><dd>{}</dd>\n",
        escape(&format!("{} · {what}", meta.checkpoint)),
        escape(&meta.checkpoint)
    );
    let (desc, stops, ends, rule): (String, Vec<f32>, [&str; 2], &str) = match colouring {
        Colouring::Cell { unit, state } => (
            format!(
                "unit <code>{unit}</code> (layer l{}, unit {}); state {}",
                unit.layer,
                unit.index,
                match state {
                    State::C => "c: v = tanh(c<sub>t</sub>), the cell state after reading each character",
                    State::H => "h: v = h<sub>t</sub> = o<sub>t</sub>·tanh(c<sub>t</sub>), the output after reading each character",
                }
            ),
            (0..=10).map(|i| -1.0 + 0.2 * i as f32).collect(),
            ["−1", "+1"],
            "hue 0 (red) when v ≤ 0, 200 (blue) when v &gt; 0; lightness 100 − 40·|v|; magenta: not a number",
        ),
        Colouring::Surprise => (
            "surprise: −ln p, p the probability the model gave each character before reading it (temperature 1); \
             the first character has none"
                .to_string(),
            (0..=6).map(|i| i as f32).collect(),
            ["0 nats", "6+ nats"],
            "red, lightness 100 − 40·min(s/6, 1): white is expected, dark red surprising; magenta: not a number",
        ),
    };
    let _ = write!(
        out,
        "<dt>colouring</dt><dd>{desc}</dd>\n<dt>scale</dt><dd><span class=\"scale\">{}<span class=\"bar\">",
        ends[0]
    );
    for v in stops {
        let (c, t) = match colouring {
            Colouring::Cell { .. } => (cell_colour(v), format!("v = {v:+.1}")),
            Colouring::Surprise => (surprise_colour(v), format!("{v:.0} nats")),
        };
        let _ = write!(out, "<span style=\"background:{c}\" title=\"{t}\"></span>");
    }
    let _ = writeln!(out, "</span>{}</span> {rule}</dd>", ends[1]);
    let _ = write!(
        out,
        "<dt>text</dt><dd>{} steps: <span class=\"p key\">prompt</span> ({n_prompt}, underlined), then generated ({}); \
         ⏎ marks a line break. Hover a character for its step, value and the model's top-5 next characters.{}</dd>\n</dl>\n</header>\n",
        steps.len(),
        steps.len() - n_prompt,
        if meta.top { " Under each character: its top-5 guesses for the next one, red opacity = probability." } else { "" }
    );
}

fn character(out: &mut String, step: &Step, colouring: Colouring, top: bool) {
    let v = value(step, colouring);
    let mut title = format!("step {}{} · {}\n", step.t, if step.is_prompt { " (prompt)" } else { "" }, label(step.ch));
    match &v {
        Some((_, s)) => title.push_str(s),
        None if colouring == Colouring::Surprise => title.push_str("surprise: none (nothing predicted this character)"),
        None => title.push_str("no value in this step"),
    }
    title.push_str("\nnext:");
    for (c, p) in &step.top {
        let _ = write!(title, " {} {}", label(*c), percent(*p));
    }
    let class = match (step.is_prompt, step.ch == '\n') {
        (true, true) => " class=\"p nl\"",
        (true, false) => " class=\"p\"",
        (false, true) => " class=\"nl\"",
        (false, false) => "",
    };
    if top {
        out.push_str("<span class=\"col\">");
    }
    span(out, step.t, class, &colour(colouring, v.map(|(v, _)| v)), &title, step.ch);
    if top {
        for (c, p) in &step.top {
            let alpha = if p.is_finite() { p.clamp(0.0, 1.0) } else { 0.0 };
            let _ = write!(
                out,
                "<span class=\"g\" style=\"background:rgba(220,38,38,{alpha:.3})\" title=\"{}\">{}</span>",
                escape(&format!("{} {}", label(*c), percent(*p))),
                escape(&label(*c))
            );
        }
        out.push_str("</span>");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_follow_the_classic_formula() {
        assert_eq!(cell_colour(0.5), "hsl(200,60%,80.0%)");
        assert_eq!(cell_colour(-1.0), "hsl(0,60%,60.0%)");
        assert_eq!(cell_colour(0.0), "hsl(0,60%,100.0%)");
        assert_eq!(cell_colour(f32::NAN), "hsl(300,100%,50%)");
        assert_eq!(surprise_colour(3.0), "hsl(0,60%,80.0%)");
        assert_eq!(surprise_colour(60.0), "hsl(0,60%,60.0%)");
        assert!((surprise(0.5) - std::f32::consts::LN_2).abs() < 1e-6);
        assert!(surprise(0.0).is_finite());
    }
}
