//! The `--trace` JSONL reader: one `Step` per line, checked line by line so
//! that every error names the file and the line (`t.jsonl:17: not JSON (...)`).
//!
//! A trace whose steps have no `c` and `h` (the states are optional in the
//! format) still loads, with those arrays empty, and `Trace::require_states` says so in
//! one line when something needs them.

use crate::generate::{LayerStep, Step};
use crate::model::lstm::LayerGates;
use anyhow::{anyhow, bail, Result};
use serde::Deserialize;
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// A whole trace: its steps in order, and the shape every line agreed on.
#[derive(Debug, Clone)]
pub struct Trace {
    pub path: PathBuf,
    pub steps: Vec<Step>,
    pub layers: usize,
    pub hidden: usize,
    /// The first line (1-based) without `c` and `h`, if any: an older trace.
    pub first_without_states: Option<usize>,
    /// What the run ran with, from the optional first line
    /// `{"interventions": ["l1:271:c=3", ...]}` (`generate::trace_header`).
    pub interventions: Vec<String>,
}

impl Trace {
    /// An error naming the first line without `c`/`h`, for uses that need them.
    pub fn require_states(&self, what: &str) -> Result<()> {
        match self.first_without_states {
            None => Ok(()),
            Some(line) => bail!(
                "{}:{line}: no 'c' and 'h' arrays (a trace written before states were traced); {what} needs them: \
                 write the trace again with `gatescope generate --trace`",
                self.path.display()
            ),
        }
    }

    /// The prompt's steps, then the generated ones.
    pub fn prompt_len(&self) -> usize {
        self.steps.iter().filter(|s| s.is_prompt).count()
    }
}

/// JSON numbers, with `null` read as NaN: serde_json writes a non-finite
/// float as `null`, and a model with NaN weights still traces.
#[derive(Deserialize)]
#[serde(transparent)]
struct Floats(Vec<Option<f32>>);

impl Floats {
    fn into_vec(self) -> Vec<f32> {
        self.0.into_iter().map(|v| v.unwrap_or(f32::NAN)).collect()
    }
}

#[derive(Deserialize)]
struct LineIn {
    t: usize,
    char: String,
    prompt: bool,
    /// Not written by today's writer; read when present (see `Step::prob`).
    #[serde(default)]
    prob: Option<Option<f32>>,
    layers: Vec<LayerIn>,
    top: Vec<(String, Option<f32>)>,
}

#[derive(Deserialize)]
struct LayerIn {
    i: Floats,
    f: Floats,
    g: Floats,
    o: Floats,
    #[serde(default)]
    c: Option<Floats>,
    #[serde(default)]
    h: Option<Floats>,
    c_norm: Option<f32>,
    h_norm: Option<f32>,
}

/// Read a trace written by `generate --trace` or the playground's save.
pub fn read_trace(path: &Path) -> Result<Trace> {
    let shown = path.display();
    // A FIFO or a device would block or never end: only regular files are read.
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => bail!("{shown}: is a directory; expected a trace (.jsonl)"),
        Ok(m) if !m.is_file() => bail!("{shown}: not a regular file; expected a trace (.jsonl)"),
        Ok(_) => {}
        Err(e) => bail!("{shown}: cannot read the trace ({e})"),
    }
    let file = std::fs::File::open(path).map_err(|e| anyhow!("{shown}: cannot read the trace ({e})"))?;
    let mut reader = std::io::BufReader::new(file);
    let mut trace = Trace {
        path: path.to_path_buf(),
        steps: Vec::new(),
        layers: 0,
        hidden: 0,
        first_without_states: None,
        interventions: Vec::new(),
    };
    let mut buf = Vec::new();
    for n in 1.. {
        buf.clear();
        let read = reader.read_until(b'\n', &mut buf).map_err(|e| anyhow!("{shown}:{n}: read failed ({e})"))?;
        if read == 0 {
            break;
        }
        let text = std::str::from_utf8(&buf).map_err(|e| anyhow!("{shown}:{n}: not UTF-8 ({e})"))?;
        if n == 1 {
            if let Some(specs) = interventions_header(text).map_err(|e| anyhow!("{shown}:1: {e}"))? {
                trace.interventions = specs;
                continue;
            }
        }
        add_line(&mut trace, n, text).map_err(|e| anyhow!("{shown}:{n}: {e}"))?;
    }
    if trace.steps.is_empty() {
        bail!("{shown}: the trace is empty; expected one JSON object per line");
    }
    Ok(trace)
}

/// The interventions named by a trace's first line, when it is the header
/// line (an object with `interventions` and no `t`); None for a step line.
fn interventions_header(text: &str) -> Result<Option<Vec<String>>> {
    #[derive(Deserialize)]
    struct Header {
        interventions: Vec<String>,
    }
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else { return Ok(None) };
    let is_header = value.get("interventions").is_some() && value.get("t").is_none();
    if !is_header {
        return Ok(None);
    }
    let header: Header = serde_json::from_value(value)
        .map_err(|e| anyhow!("not an interventions line ({e}); expected {{\"interventions\": [\"lK:U:...\", ...]}}"))?;
    Ok(Some(header.interventions))
}

/// Parse and check one line (`n` is 1-based), appending its step.
fn add_line(trace: &mut Trace, n: usize, text: &str) -> Result<()> {
    if text.trim().is_empty() {
        bail!("empty line; expected one JSON object per line");
    }
    let line: LineIn = serde_json::from_str(text).map_err(|e| {
        let msg = e.to_string().replace(" at line 1 column ", " at column ");
        match e.classify() {
            serde_json::error::Category::Data => anyhow!("not a trace step ({msg})"),
            _ => anyhow!("not JSON ({msg})"),
        }
    })?;
    let ch =
        one_char(&line.char).ok_or_else(|| anyhow!("'char' is {:?}; expected exactly one character", line.char))?;
    if let Some(prev) = trace.steps.last() {
        if line.t <= prev.t {
            bail!("step t={} follows t={}; steps must run in order (two traces joined?)", line.t, prev.t);
        }
    }
    if line.layers.is_empty() {
        bail!("'layers' is empty");
    }
    if trace.steps.is_empty() {
        trace.layers = line.layers.len();
        trace.hidden = line.layers[0].i.0.len();
        if trace.hidden == 0 {
            bail!("layer l0 'i' is empty");
        }
    } else if line.layers.len() != trace.layers {
        bail!("{} layers where line 1 has {}", line.layers.len(), trace.layers);
    }
    let hidden = trace.hidden;
    let mut layers = Vec::with_capacity(line.layers.len());
    let mut has_states = true;
    for (k, l) in line.layers.into_iter().enumerate() {
        let check = |name: &str, v: Vec<f32>| -> Result<Vec<f32>> {
            if v.len() != hidden {
                bail!("layer l{k} '{name}' has {} values where line 1 has {hidden}", v.len());
            }
            Ok(v)
        };
        // An empty array (a step written without states) counts as absent.
        let present = |v: Option<Floats>| v.filter(|v| !v.0.is_empty());
        let (c, h) = match (present(l.c), present(l.h)) {
            (Some(c), Some(h)) => (check("c", c.into_vec())?, check("h", h.into_vec())?),
            (None, None) => {
                has_states = false;
                (Vec::new(), Vec::new())
            }
            (Some(_), None) => bail!("layer l{k} has 'c' but no 'h'"),
            (None, Some(_)) => bail!("layer l{k} has 'h' but no 'c'"),
        };
        layers.push(LayerStep {
            gates: LayerGates {
                i: check("i", l.i.into_vec())?,
                f: check("f", l.f.into_vec())?,
                g: check("g", l.g.into_vec())?,
                o: check("o", l.o.into_vec())?,
                c,
                h,
            },
            c_norm: l.c_norm.unwrap_or(f32::NAN),
            h_norm: l.h_norm.unwrap_or(f32::NAN),
        });
    }
    if !has_states && trace.first_without_states.is_none() {
        trace.first_without_states = Some(n);
    }
    let mut top = Vec::with_capacity(line.top.len());
    for (j, (s, p)) in line.top.into_iter().enumerate() {
        let c = one_char(&s).ok_or_else(|| anyhow!("'top' entry {j} is {s:?}; expected exactly one character"))?;
        top.push((c, p.unwrap_or(f32::NAN)));
    }
    trace.steps.push(Step {
        t: line.t,
        ch,
        is_prompt: line.prompt,
        prob: line.prob.map(|p| p.unwrap_or(f32::NAN)),
        layers,
        top,
    });
    Ok(())
}

fn one_char(s: &str) -> Option<char> {
    let mut it = s.chars();
    match (it.next(), it.next()) {
        (Some(c), None) => Some(c),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn step(t: usize, ch: char, states: bool) -> Step {
        let v = |x: f32| vec![x, -x, f32::NAN];
        let layer = LayerStep {
            gates: LayerGates {
                i: v(0.1),
                f: v(0.2),
                g: v(0.3),
                o: v(0.4),
                c: if states { v(1.5) } else { vec![] },
                h: if states { v(0.5) } else { vec![] },
            },
            c_norm: 1.0,
            h_norm: 2.0,
        };
        Step {
            t,
            ch,
            is_prompt: t == 0,
            prob: None,
            layers: vec![layer.clone(), layer],
            top: vec![('"', 0.5), ('\n', 0.25)],
        }
    }

    fn write(lines: &[String]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        for l in lines {
            writeln!(f, "{l}").unwrap();
        }
        f
    }

    fn same(a: &[f32], b: &[f32]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y || (x.is_nan() && y.is_nan()))
    }

    #[test]
    fn round_trips_what_the_writer_writes_nan_included() {
        let steps = vec![step(0, '<', true), step(1, '\n', true), step(2, '"', true)];
        let f = write(&steps.iter().map(Step::to_json_line).collect::<Vec<_>>());
        let trace = read_trace(f.path()).unwrap();
        assert_eq!((trace.layers, trace.hidden, trace.first_without_states), (2, 3, None));
        for (a, b) in trace.steps.iter().zip(&steps) {
            assert_eq!((a.t, a.ch, a.is_prompt, &a.top), (b.t, b.ch, b.is_prompt, &b.top));
            for (x, y) in a.layers.iter().zip(&b.layers) {
                assert!(
                    same(&x.gates.c, &y.gates.c) && same(&x.gates.h, &y.gates.h) && same(&x.gates.f, &y.gates.f),
                    "{x:?} vs {y:?}"
                );
            }
        }
        assert!(trace.require_states("--state").is_ok());
    }

    #[test]
    fn older_traces_load_without_states_and_say_so_when_needed() {
        // A line without the keys, beside steps that have them empty.
        let old = step(1, 'b', false).to_json_line().replace(",\"c\":[],\"h\":[]", "");
        assert!(!old.contains("\"c\""), "{old}");
        let f = write(&[step(0, 'a', true).to_json_line(), old, step(2, 'c', false).to_json_line()]);
        let trace = read_trace(f.path()).unwrap();
        assert_eq!(trace.first_without_states, Some(2));
        assert!(trace.steps[2].layers[1].gates.h.is_empty());
        assert!(trace.steps[1].layers[0].gates.c.is_empty());
        let err = trace.require_states("--state c").unwrap_err().to_string();
        assert!(err.contains(":2: no 'c' and 'h'") && err.contains("--state c needs them"), "{err}");
    }

    #[test]
    fn errors_name_the_line() {
        let good = step(0, 'a', true).to_json_line();
        let cases: Vec<(Vec<String>, &str)> = vec![
            (vec![good.clone(), "{\"t\": 1,".into()], ":2: not JSON"),
            (vec![good.clone(), "{}".into()], ":2: not a trace step (missing field"),
            (vec![good.clone(), String::new(), good.clone()], ":2: empty line"),
            (vec![good.clone(), good.clone()], ":2: step t=0 follows t=0"),
            (vec![good.replace("\"char\":\"a\"", "\"char\":\"ab\"")], ":1: 'char' is \"ab\""),
            (vec![good.clone(), step(1, 'b', true).to_json_line().replacen("0.1,", "", 1)], ":2: layer l0 'i' has 2"),
            (vec![good.replacen(",\"h\":[", ",\"x\":[", 1)], ":1: layer l0 has 'c' but no 'h'"),
        ];
        for (lines, want) in cases {
            let f = write(&lines);
            let err = format!("{:#}", read_trace(f.path()).unwrap_err());
            assert!(err.contains(want), "{want:?} not in {err:?}");
        }
        let empty = write(&[]);
        assert!(read_trace(empty.path()).unwrap_err().to_string().contains("the trace is empty"));
        assert!(read_trace(Path::new("/nonexistent/t.jsonl")).unwrap_err().to_string().contains("cannot read"));
    }
}
