//! `gatescope attribute`: check every option (one line naming it, before
//! the model runs), attribute, then print the target, the prompt coloured by
//! attribution and the largest attributions, or the JSON; `--html` also
//! writes the page.

use super::{source_name, Stdout};
use crate::analysis::attribution::{attribute as compute, Attribution, Method, Resolved, Target, DEFAULT_IG_STEPS};
use crate::analysis::State;
use crate::atomic::{check_destination, refuse_same_file, refuse_stdout, write_atomic};
use crate::cli::{AttributeArgs, AttributeMethod};
use crate::export::attribution::{attribution_page, largest, normalised, AttributionMeta};
use crate::export::{label, scale, shown};
use crate::model::{builtin_named, refuse_checkpoint};
use crate::vocab::{quoted_char, Vocab};
use anyhow::{anyhow, bail, Result};
use serde::Serialize;
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::Path;

/// How many of the largest attributions the text lists.
const LISTED: usize = 10;

pub fn attribute(a: AttributeArgs) -> Result<()> {
    if a.prompt.is_empty() {
        bail!("--prompt is empty; give the text whose characters are attributed");
    }
    let method = match (a.method, a.ig_steps) {
        (AttributeMethod::Grad, Some(_)) => bail!("--ig-steps belongs to --method ig (gradient × input has no steps)"),
        (AttributeMethod::Grad, None) => Method::Grad,
        (AttributeMethod::Ig, m) => Method::Ig(m.unwrap_or(DEFAULT_IG_STEPS)),
    };
    if let Some(out) = &a.html {
        let mut inputs: Vec<(&str, &Path)> = Vec::new();
        if let Some(c) = a.model.checkpoint.as_deref().filter(|c| builtin_named(c).is_none()) {
            inputs.push(("--checkpoint", c));
        }
        if let Some(v) = &a.model.source.vocab {
            inputs.push(("--vocab", v));
        }
        refuse_same_file(("--html", out), &inputs)?;
        refuse_stdout("--html", out)?;
        refuse_checkpoint("--html", out)?;
        check_destination(out)?;
    }
    let ck = a.model.load()?;
    let source = source_name(a.model.checkpoint.as_deref());
    for w in &ck.warnings {
        eprintln!("gatescope: warning: {source}: {w}");
    }
    let model = &ck.model;
    let chars: Vec<char> = a.prompt.chars().collect();
    let ids = model.vocab.encode(&a.prompt).map_err(|e| anyhow!("--prompt: {e}"))?;
    let n = chars.len();
    let step = a.step.unwrap_or(n - 1);
    if step >= n {
        bail!("--step {step} is beyond the prompt: it has {n} characters (steps 0..{})", n - 1);
    }
    let target = match (a.target, a.unit) {
        (Some(_), Some(_)) => bail!("give one of --target and --unit"),
        (Some(c), None) => Target::Next(Some(model.vocab.id(c).ok_or_else(|| {
            anyhow!("--target {}: not in the model's vocabulary ({} characters)", quoted_char(c), model.dims.vocab)
        })?)),
        (None, Some(u)) => {
            u.unit.check(&model.dims).map_err(|e| anyhow!("--unit: {e}"))?;
            Target::Unit(u)
        }
        (None, None) => Target::Next(None),
    };
    let r = compute(model, &ids, step, target, method)?;
    if let Some(out) = &a.html {
        let meta = AttributionMeta {
            checkpoint: source.clone(),
            step,
            target: describe_target(&r, &model.vocab),
            method: describe_method(r.method),
            f_x: r.f_x,
            f_baseline: r.f_baseline,
        };
        write_atomic(out, attribution_page(&chars, &r.attributions, &meta).as_bytes())?;
        eprintln!("html: {} characters coloured by attribution in {}", step + 1, out.display());
    }
    let text = if a.json {
        json(&r, &chars, &model.vocab)
    } else {
        let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        text(&r, &chars, &model.vocab, colour)
    };
    let mut out = Stdout::new();
    out.write(text.as_bytes())?;
    out.flush()
}

/// The JSON object, on one line.
pub fn json(r: &Attribution, chars: &[char], vocab: &Vocab) -> String {
    #[derive(Serialize)]
    #[serde(untagged)]
    enum JsonTarget {
        Next { char: String, log_p: f32 },
        Unit { unit: String, state: String, value: f32 },
    }
    #[derive(Serialize)]
    struct Json<'a> {
        step: usize,
        method: &'static str,
        ig_steps: Option<usize>,
        target: JsonTarget,
        chars: Vec<String>,
        attributions: &'a [f32],
        f_x: f32,
        f_baseline: f32,
    }
    let target = match r.target {
        Resolved::Next { id, log_p } => JsonTarget::Next { char: vocab.char(id as usize).to_string(), log_p },
        Resolved::Unit { target, value } => {
            JsonTarget::Unit { unit: target.unit.to_string(), state: target.state.letter().to_string(), value }
        }
    };
    let j = Json {
        step: r.step,
        method: r.method.name(),
        ig_steps: match r.method {
            Method::Grad => None,
            Method::Ig(m) => Some(m),
        },
        target,
        chars: chars[..=r.step].iter().map(|c| c.to_string()).collect(),
        attributions: &r.attributions,
        f_x: r.f_x,
        f_baseline: r.f_baseline,
    };
    serde_json::to_string(&j).expect("an attribution serializes") + "\n"
}

fn describe_target(r: &Attribution, vocab: &Vocab) -> String {
    match r.target {
        Resolved::Next { id, log_p } => format!(
            "log p of the next character {} = {log_p:.4} (p = {:.1}%)",
            quoted_char(vocab.char(id as usize)),
            100.0 * (log_p as f64).exp()
        ),
        Resolved::Unit { target, value } => format!(
            "{} of unit {} = {value:.4}",
            match target.state {
                State::C => "c",
                State::H => "h",
            },
            target.unit
        ),
    }
}

fn describe_method(m: Method) -> String {
    match m {
        Method::Grad => "gradient × input".into(),
        Method::Ig(m) => format!("integrated gradients from a zero baseline, M = {m} midpoint steps"),
    }
}

/// The three parts: the target, the prompt coloured by attribution (values
/// one per line when `colour` is off), and the largest attributions.
pub fn text(r: &Attribution, chars: &[char], vocab: &Vocab, colour: bool) -> String {
    let mut s = String::new();
    let t = r.step;
    let sum: f64 = r.attributions.iter().map(|&a| a as f64).sum();
    let _ = writeln!(s, "target    {} at step {t}, after reading {}", describe_target(r, vocab), quoted_char(chars[t]));
    let _ = writeln!(s, "method    {}", describe_method(r.method));
    let _ = writeln!(
        s,
        "totals    sum of a_s = {sum:.6}; f_x - f_baseline = {:.6} - {:.6} = {:.6} (gap {:.6})",
        r.f_x,
        r.f_baseline,
        r.f_x as f64 - r.f_baseline as f64,
        r.completeness_gap()
    );
    let top = largest(&r.attributions);
    s.push('\n');
    if colour {
        let bg = |(r, g, b): scale::Rgb| format!("\x1b[48;2;{r};{g};{b}m\x1b[38;2;0;0;0m");
        for (i, &c) in chars.iter().enumerate() {
            let shown = shown(c);
            match r.attributions.get(i) {
                Some(&a) => {
                    let underline = if i == t { "\x1b[4m" } else { "" };
                    let _ = write!(s, "{}{underline}{shown}\x1b[0m", bg(scale::cell(normalised(a, top))));
                }
                None => {
                    let _ = write!(s, "\x1b[2m{shown}\x1b[0m");
                }
            }
            if c == '\n' {
                s.push('\n');
            }
        }
        let _ = write!(s, "\n\nscale     -{top:.4} ");
        for i in 0..=10 {
            let _ = write!(s, "{} \x1b[0m", bg(scale::cell(-1.0 + 0.2 * i as f32)));
        }
        let _ = writeln!(s, " +{top:.4} (red negative, blue positive; step {t} underlined, later steps dim)");
    } else {
        let _ = writeln!(s, "step  char  a_s");
        for (i, &a) in r.attributions.iter().enumerate() {
            let _ = writeln!(s, "{i:>4}  {:<4}  {a:+.6}", label(chars[i]));
        }
    }
    let mut order: Vec<usize> = (0..r.attributions.len()).collect();
    // Largest |a_s| first; NaN last; ties to the earlier step.
    order.sort_by(|&x, &y| {
        let key = |i: usize| {
            let a = r.attributions[i].abs();
            if a.is_nan() {
                -1.0
            } else {
                a
            }
        };
        key(y).total_cmp(&key(x)).then(x.cmp(&y))
    });
    let _ = writeln!(s, "\nlargest |a_s|");
    for &i in order.iter().take(LISTED) {
        let _ = writeln!(s, "{i:>6}  {:<4}  {:+.6}", label(chars[i]), r.attributions[i]);
    }
    s
}
