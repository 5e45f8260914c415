//! Interventions: set, add to or scale one unit's gate, c or h while the
//! model runs, written `lK:U:TARGET OP VALUE[@SPAN]`, e.g.
//! `l1:134:c=0`, `l0:12:f=0@40..`, `l1:7:h*=2@3..10`.
//!
//! - TARGET: `i f g o` (after their sigmoid/tanh), `c` or `h`.
//! - OP: `=` sets, `+=` adds, `*=` scales.
//! - SPAN, in step indices t (0-based over consumed characters, the prompt's
//!   included): `@A..B` covers A ≤ t < B, `@A..` every t ≥ A; no span covers
//!   every generated step.
//!
//! Where a covered step applies it (`Stepper::step_with`): i, f, g, o right
//! after their nonlinearity and before c_t = f·c_(t−1) + i·g; c before
//! h_t = o·tanh(c_t) and before the carry; h before the next layer, the head
//! and the carry. Several apply in the order given. Values are not clamped.

use super::layout::{parse_layer, Dims, Gate, Unit};
use anyhow::{anyhow, bail, Result};
use std::fmt;
use std::str::FromStr;

/// What an intervention changes: a gate after its nonlinearity, or a state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    Gate(Gate),
    C,
    H,
}

impl Target {
    pub const ALL: [Target; 6] = [
        Target::Gate(Gate::I),
        Target::Gate(Gate::F),
        Target::Gate(Gate::G),
        Target::Gate(Gate::O),
        Target::C,
        Target::H,
    ];

    pub fn letter(self) -> char {
        match self {
            Target::Gate(g) => g.letter(),
            Target::C => 'c',
            Target::H => 'h',
        }
    }

    pub fn from_letter(c: char) -> Option<Target> {
        Target::ALL.into_iter().find(|t| t.letter() == c)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// `=`
    Set,
    /// `+=`
    Add,
    /// `*=`
    Scale,
}

impl Op {
    pub fn symbol(self) -> &'static str {
        match self {
            Op::Set => "=",
            Op::Add => "+=",
            Op::Scale => "*=",
        }
    }

    /// The new value of `x`.
    pub fn apply(self, x: f32, value: f32) -> f32 {
        match self {
            Op::Set => value,
            Op::Add => x + value,
            Op::Scale => x * value,
        }
    }
}

/// Steps `start ≤ t < end` (`end` None: no end). Never empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Span {
    pub start: usize,
    pub end: Option<usize>,
}

impl Span {
    pub fn contains(&self, t: usize) -> bool {
        t >= self.start && self.end.is_none_or(|e| t < e)
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.end {
            Some(e) => write!(f, "{}..{e}", self.start),
            None => write!(f, "{}..", self.start),
        }
    }
}

/// One intervention. Parse with `str::parse` (grammar, finite value, non-empty
/// span), then `check` it against the model and `check_run` against the run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Intervention {
    pub unit: Unit,
    pub target: Target,
    pub op: Op,
    /// Finite (the parser refuses anything else).
    pub value: f32,
    /// None: every generated step.
    pub span: Option<Span>,
}

impl Intervention {
    /// Whether step `t` is covered; `generated` says whether the step's
    /// character was generated (or read as a continuation) rather than prompt.
    pub fn covers(&self, t: usize, generated: bool) -> bool {
        match self.span {
            Some(s) => s.contains(t),
            None => generated,
        }
    }

    /// An error naming the layer or unit if the model has no such unit.
    pub fn check(&self, dims: &Dims) -> Result<()> {
        self.unit.check(dims).map(|_| ())
    }

    /// An error if the intervention covers no step of a run that reads
    /// `prompt_len` characters and then generates `length`.
    pub fn check_run(&self, prompt_len: usize, length: usize) -> Result<()> {
        let steps = prompt_len + length;
        match self.span {
            Some(s) if s.start >= steps => bail!(
                "the span {s} starts after the run, whose steps are 0..{} ({prompt_len} of prompt + {length} generated)",
                steps
            ),
            None if length == 0 => bail!("with no span it covers the generated steps, and the run generates none"),
            _ => Ok(()),
        }
    }

    /// Change this intervention's unit in `v`, one layer's `[hidden]` vector
    /// of its target, in place.
    pub fn apply_to(&self, v: &mut [f32]) {
        let x = &mut v[self.unit.index];
        *x = self.op.apply(*x, self.value);
    }
}

impl fmt::Display for Intervention {
    /// The canonical spelling, which parses back to the same intervention.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}{}{}", self.unit, self.target.letter(), self.op.symbol(), self.value)?;
        match self.span {
            Some(s) => write!(f, "@{s}"),
            None => Ok(()),
        }
    }
}

const GRAMMAR: &str = "expected lK:U:TARGET OP VALUE[@A..B or @A..], TARGET one of i f g o c h, OP one of = += *=";

impl FromStr for Intervention {
    type Err = anyhow::Error;

    /// Spaces are allowed around OP and before `@`, as in `l1:7:h *= 2 @3..`.
    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim();
        let (body, span) = match s.split_once('@') {
            Some((b, sp)) => (b.trim_end(), Some(parse_span(sp.trim())?)),
            None => (s, None),
        };
        let eq = body.find('=').ok_or_else(|| anyhow!("no operator; {GRAMMAR}"))?;
        let (lhs, op) = match body[..eq].chars().last() {
            Some('+') => (&body[..eq - 1], Op::Add),
            Some('*') => (&body[..eq - 1], Op::Scale),
            _ => (&body[..eq], Op::Set),
        };
        let raw = body[eq + 1..].trim();
        let mut parts = lhs.trim_end().split(':');
        let (Some(layer), Some(index), Some(target), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            bail!("'{}' is not lK:U:TARGET; {GRAMMAR}", lhs.trim_end());
        };
        if layer != layer.trim() || index != index.trim() {
            bail!("spaces inside '{}'; {GRAMMAR}", lhs.trim_end());
        }
        let layer = parse_layer(layer)?;
        let index: usize = index
            .parse()
            .map_err(|_| anyhow!("'{index}' is not a unit index; expected a whole number, e.g. l1:134"))?;
        let mut letters = target.chars();
        let target = match (letters.next(), letters.next()) {
            (Some(c), None) => Target::from_letter(c),
            _ => None,
        }
        .ok_or_else(|| anyhow!("'{target}' is not a target; expected one of i f g o c h"))?;
        if raw.is_empty() {
            bail!("no value after '{}'", op.symbol());
        }
        let value: f32 = raw.parse().map_err(|_| anyhow!("'{raw}' is not a number"))?;
        if !value.is_finite() {
            bail!("the value '{raw}' is not finite (as a 32-bit float)");
        }
        Ok(Intervention { unit: Unit::new(layer, index), target, op, value, span })
    }
}

fn parse_span(s: &str) -> Result<Span> {
    let bad = || anyhow!("'@{s}' is not a span; expected @A..B (A ≤ t < B) or @A.. (t ≥ A)");
    let (a, b) = s.split_once("..").ok_or_else(bad)?;
    let start: usize = a.parse().map_err(|_| bad())?;
    let end: Option<usize> = if b.is_empty() { None } else { Some(b.parse().map_err(|_| bad())?) };
    if let Some(e) = end {
        if start >= e {
            bail!("the span {start}..{e} is empty (it needs A < B)");
        }
    }
    Ok(Span { start, end })
}

/// Parse and check a list of specs for a model, each error naming its spec.
pub fn parse_all<S: AsRef<str>>(specs: &[S], dims: &Dims) -> Result<Vec<Intervention>> {
    specs
        .iter()
        .map(|s| {
            let s = s.as_ref();
            let iv: Intervention = s.parse().map_err(|e: anyhow::Error| anyhow!("--intervene '{s}': {e}"))?;
            iv.check(dims).map_err(|e| anyhow!("--intervene '{s}': {e}"))?;
            Ok(iv)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_target_op_and_span_and_display_round_trips() {
        let iv: Intervention = "l1:134:c=0".parse().unwrap();
        assert_eq!(
            iv,
            Intervention { unit: Unit::new(1, 134), target: Target::C, op: Op::Set, value: 0.0, span: None }
        );
        let iv: Intervention = " l0:12:f = -0.25 @40.. ".parse().unwrap();
        assert_eq!((iv.target, iv.op, iv.value), (Target::Gate(Gate::F), Op::Set, -0.25));
        assert_eq!(iv.span, Some(Span { start: 40, end: None }));
        assert_eq!(iv.to_string(), "l0:12:f=-0.25@40..");
        for spec in [
            "l0:0:i=1",
            "l0:1:f+=0.5@0..3",
            "l2:3:g*=-2@5..",
            "l0:4:o=0.1",
            "l1:5:c+=1e-7",
            "l1:6:h*=3.5@2..9",
            "l0:7:h=100000000",
        ] {
            let iv: Intervention = spec.parse().unwrap();
            assert_eq!(iv.to_string().parse::<Intervention>().unwrap(), iv, "{spec}");
        }
        assert_eq!("l0:0:i=0.1".parse::<Intervention>().unwrap().to_string(), "l0:0:i=0.1");
    }

    #[test]
    fn bad_specs_name_what_is_wrong() {
        let err = |s: &str| s.parse::<Intervention>().unwrap_err().to_string();
        assert!(err("l1:134:c").contains("no operator"));
        assert!(err("1:134:c=0").contains("not a layer"));
        assert!(err("l1:c=0").contains("not lK:U:TARGET"));
        assert!(err("l1:x:c=0").contains("not a unit index"));
        assert!(err("l1:2:q=0").contains("'q' is not a target"));
        assert!(err("l1:2:cc=0").contains("not a target"));
        assert!(err("l1:2:c-=1").contains("not a target"));
        assert!(err("l1:2:c=").contains("no value"));
        assert!(err("l1:2:c=abc").contains("'abc' is not a number"));
        assert!(err("l1:2:c=nan").contains("not finite"));
        assert!(err("l1:2:c=inf").contains("not finite"));
        assert!(err("l1:2:c=1e39").contains("not finite"));
        assert!(err("l1:2:c=0@5..5").contains("empty"));
        assert!(err("l1:2:c=0@7..3").contains("empty"));
        assert!(err("l1:2:c=0@..3").contains("not a span"));
        assert!(err("l1:2:c=0@3").contains("not a span"));
        let dims = Dims { vocab: 5, embed: 0, hidden: 8, layers: 2 };
        assert!(parse_all(&["l2:0:c=0"], &dims).unwrap_err().to_string().contains("2 layers"));
        assert!(parse_all(&["l1:8:c=0"], &dims).unwrap_err().to_string().contains("8 units"));
        let iv: Intervention = "l0:0:c=0@10..".parse().unwrap();
        assert!(iv.check_run(4, 6).unwrap_err().to_string().contains("starts after the run"));
        assert!(iv.check_run(4, 7).is_ok());
        assert!("l0:0:c=0".parse::<Intervention>().unwrap().check_run(4, 0).is_err());
    }

    #[test]
    fn spans_cover_their_steps() {
        let at = |s: &str| s.parse::<Intervention>().unwrap();
        assert!(at("l0:0:c=0@2..4").covers(2, false) && at("l0:0:c=0@2..4").covers(3, true));
        assert!(!at("l0:0:c=0@2..4").covers(4, true) && !at("l0:0:c=0@2..4").covers(1, true));
        assert!(at("l0:0:c=0@2..").covers(1_000_000, false));
        assert!(at("l0:0:c=0").covers(0, true) && !at("l0:0:c=0").covers(9, false));
    }

    #[test]
    fn applies_in_place_to_one_unit() {
        let mut v = [1.0f32, 2.0, 3.0];
        "l0:1:h*=-2".parse::<Intervention>().unwrap().apply_to(&mut v);
        "l0:2:h+=0.5".parse::<Intervention>().unwrap().apply_to(&mut v);
        "l0:0:h=7".parse::<Intervention>().unwrap().apply_to(&mut v);
        assert_eq!(v, [7.0, -4.0, 3.5]);
        assert_eq!(Op::Scale.apply(2.0, -2.0), -4.0);
    }
}
