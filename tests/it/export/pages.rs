//! `gatescope export`: the HTML page and the SVG heatmap, parsed with real
//! parsers (Python's html.parser and xml.etree through the project's venv),
//! checked against the values in the trace.

use crate::common::{python, run, tiny_checkpoint};
use serde_json::Value;
use std::path::{Path, PathBuf};

const TEXT: &str = "First Citizen:\nBefore we proceed any further, hear me speak.\n";

/// Parses a page or a heatmap and prints what the tests look at, as JSON.
/// html: html.parser for structure and text (every element closed, in
/// order), and xml.etree as a strict second opinion (the page is written as
/// well-formed markup, so any unescaped '<' or '&' fails it).
const CHECKER: &str = r#"
import sys, json
from html.parser import HTMLParser
import xml.etree.ElementTree as ET
mode, path = sys.argv[1], sys.argv[2]
doc = open(path, encoding='utf-8').read()
if mode == 'svg':
    root = ET.fromstring(doc)
    ns = '{http://www.w3.org/2000/svg}'
    g = {e.get('id'): e for e in root.iter(ns + 'g')}
    cells = [{'x': int(r.get('x')), 'y': int(r.get('y')), 'fill': r.get('fill'), 'title': r.find(ns + 'title').text}
             for r in g['cells'].iter(ns + 'rect')]
    units = [t.text for t in g['units'].iter(ns + 'text')]
    chars = [t.text for t in g['chars'].iter(ns + 'text') if t.get('font-size') is None]
    print(json.dumps({'cells': cells, 'units': units, 'chars': chars, 'tags': sorted({e.tag[len(ns):] for e in root.iter()})}))
    sys.exit(0)
class P(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.tags, self.errors, self.spans, self.guesses, self.h1 = [], set(), [], [], [], ''
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.add(tag)
        for k in a:
            if k.startswith('on'):
                self.errors.append('event attribute ' + k)
        if tag == 'meta':
            return
        self.stack.append((tag, a))
        if tag == 'span' and 'data-t' in a:
            self.spans.append({'t': int(a['data-t']), 'style': a.get('style'), 'class': a.get('class', ''), 'title': a.get('title'), 'text': ''})
        elif tag == 'span' and a.get('class') == 'g':
            self.guesses.append({'t': self.spans[-1]['t'], 'style': a.get('style'), 'text': ''})
    def handle_startendtag(self, tag, attrs):
        self.tags.add(tag)
        if tag != 'meta':
            self.errors.append('self-closed ' + tag)
    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1][0] != tag:
            self.errors.append('unbalanced </%s> in %r' % (tag, [t for t, _ in self.stack]))
        else:
            self.stack.pop()
    def handle_data(self, d):
        if not self.stack:
            if d.strip():
                self.errors.append('text outside elements: %r' % d)
            return
        tag, a = self.stack[-1]
        if tag == 'span' and 'data-t' in a:
            self.spans[-1]['text'] += d
        elif tag == 'span' and a.get('class') == 'g':
            self.guesses[-1]['text'] += d
        elif tag == 'h1':
            self.h1 += d
    def handle_comment(self, d):
        self.errors.append('comment')
    def handle_pi(self, d):
        self.errors.append('processing instruction')
p = P()
p.feed(doc)
p.close()
if p.stack:
    p.errors.append('unclosed %r' % [t for t, _ in p.stack])
try:
    ET.fromstring(doc)
    xml_ok = ''
except ET.ParseError as e:
    xml_ok = str(e)
print(json.dumps({'tags': sorted(p.tags), 'errors': p.errors, 'spans': p.spans, 'guesses': p.guesses, 'h1': p.h1, 'xml_error': xml_ok}))
"#;

fn parse(mode: &str, path: &Path) -> Value {
    let out = python().args(["-c", CHECKER, mode, path.to_str().unwrap()]).output().unwrap();
    assert!(out.status.success(), "checker: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A trace of `prompt` and `n` generated characters from a tiny model of `text`.
fn trace(dir: &Path, text: &str, prompt: &str, n: usize, hidden: usize) -> PathBuf {
    let ck = tiny_checkpoint(dir, "m.safetensors", text, 8, hidden, 2);
    let t = dir.join("t.jsonl");
    let out = run(&[
        "generate",
        "-c",
        ck.to_str().unwrap(),
        "-p",
        prompt,
        "-l",
        &n.to_string(),
        "-t",
        "1.0",
        "--seed",
        "5",
        "--trace",
        t.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    t
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn export(args: &[&str]) {
    let out = run(&[&["export"], args].concat());
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn ch(line: &Value) -> char {
    line["char"].as_str().unwrap().chars().next().unwrap()
}

/// The stand-ins the page must show, written out here rather than taken from the crate.
fn expected_shown(c: char) -> String {
    match c {
        '\n' => "⏎".into(),
        '\t' => "⇥".into(),
        '\r' => "␍".into(),
        '\u{1b}' => "␛".into(),
        '\u{7}' => "␇".into(),
        '\u{0}' => "␀".into(),
        '\u{202e}' => "�".into(),
        '\u{301}' => "\u{25cc}\u{301}".into(),
        c => c.to_string(),
    }
}

fn expected_label(c: char) -> String {
    if c == ' ' {
        "␠".into()
    } else {
        expected_shown(c)
    }
}

/// `background:hsl(H,60%,L%)` to (H, L).
fn hue_lightness(style: &str) -> (u32, f64) {
    let inner =
        style.strip_prefix("background:hsl(").and_then(|s| s.strip_suffix("%)")).unwrap_or_else(|| panic!("{style}"));
    let parts: Vec<&str> = inner.split(',').collect();
    assert_eq!(parts.len(), 3, "{style}");
    assert_eq!(parts[1], "60%", "{style}");
    (parts[0].parse().unwrap(), parts[2].parse().unwrap())
}

#[test]
fn html_has_one_span_per_step_coloured_by_the_trace_values() {
    let dir = tempfile::tempdir().unwrap();
    let t = trace(dir.path(), TEXT, "First", 150, 16);
    let trace = lines(&t);
    // The unit whose state changes sign most evenly, so both hues are tested.
    let balanced = |state: &str| {
        (0..16)
            .max_by_key(|&u| {
                let pos = trace.iter().filter(|l| l["layers"][1][state][u].as_f64().unwrap() > 0.0).count();
                pos.min(trace.len() - pos)
            })
            .unwrap()
    };
    for state in ["c", "h"] {
        let unit = balanced(state);
        let html = dir.path().join(format!("{state}.html"));
        export(&[
            t.to_str().unwrap(),
            "--unit",
            &format!("l1:{unit}"),
            "--state",
            state,
            "--html",
            html.to_str().unwrap(),
        ]);
        let page = parse("html", &html);
        assert_eq!(page["errors"].as_array().unwrap().len(), 0, "{}", page["errors"]);
        assert_eq!(page["xml_error"], "");
        let spans = page["spans"].as_array().unwrap();
        assert_eq!(spans.len(), trace.len(), "one span per step");
        let (mut blue, mut red) = (0, 0);
        for (span, line) in spans.iter().zip(&trace) {
            assert_eq!(span["t"], line["t"]);
            assert_eq!(span["text"].as_str().unwrap(), expected_shown(ch(line)));
            assert_eq!(span["class"].as_str().unwrap().split(' ').any(|c| c == "p"), line["prompt"].as_bool().unwrap());
            let raw = line["layers"][1][state][unit].as_f64().unwrap();
            let v = if state == "c" { raw.tanh() } else { raw };
            let (h, l) = hue_lightness(span["style"].as_str().unwrap());
            assert_eq!(h, if v > 0.0 { 200 } else { 0 }, "t={} v={v}", line["t"]);
            assert!((l - (100.0 - 40.0 * v.abs())).abs() <= 0.051, "t={} v={v} L={l}", line["t"]);
            let title = span["title"].as_str().unwrap();
            assert!(title.starts_with(&format!("step {}", line["t"])), "{title}");
            assert!(title.contains(&format!("{v:+.3}")), "value in the hover text: {title} vs {v}");
            let top0 = &line["top"][0];
            assert!(title.contains(&expected_label(top0[0].as_str().unwrap().chars().next().unwrap())), "{title}");
            if v > 0.0 {
                blue += 1
            } else {
                red += 1
            }
        }
        assert!(blue > 5 && red > 5, "both hues exercised: {blue} blue, {red} red");
    }
}

#[test]
fn top_rows_show_five_guesses_with_probability_as_opacity() {
    let dir = tempfile::tempdir().unwrap();
    let t = trace(dir.path(), TEXT, "hear", 60, 16);
    let trace = lines(&t);
    let html = dir.path().join("top.html");
    export(&[t.to_str().unwrap(), "--unit", "l0:2", "--top", "--html", html.to_str().unwrap()]);
    let page = parse("html", &html);
    assert_eq!(page["errors"].as_array().unwrap().len(), 0, "{}", page["errors"]);
    assert_eq!(page["xml_error"], "");
    let guesses = page["guesses"].as_array().unwrap();
    assert_eq!(guesses.len(), trace.len() * 5);
    for (g, (line, j)) in guesses.iter().zip(trace.iter().flat_map(|l| (0..5).map(move |j| (l, j)))) {
        assert_eq!(g["t"], line["t"]);
        let (c, p) = (&line["top"][j][0], line["top"][j][1].as_f64().unwrap());
        assert_eq!(g["text"].as_str().unwrap(), expected_label(c.as_str().unwrap().chars().next().unwrap()));
        let alpha: f64 = g["style"]
            .as_str()
            .unwrap()
            .trim_start_matches("background:rgba(220,38,38,")
            .trim_end_matches(')')
            .parse()
            .unwrap();
        assert!((alpha - p).abs() <= 0.0005, "opacity {alpha} for p {p}");
    }
}

#[test]
fn hostile_text_stays_text() {
    let dir = tempfile::tempdir().unwrap();
    let vocab = "<script>alert(\"x\")</script></span> & 'q' \t\r\u{1b}\u{7}\u{0}\u{202e}\u{301}é\n";
    let prompt = "<script>alert('x')</script>\t&\"q\"</span>\u{1b}\r\u{202e}é\u{301}";
    let t = trace(dir.path(), vocab, prompt, 400, 8);
    let trace = lines(&t);
    let html = dir.path().join("h.html");
    let label = "<b>\"m\" & 'n'</b>";
    export(&[t.to_str().unwrap(), "--unit", "l1:3", "--top", "--label", label, "--html", html.to_str().unwrap()]);
    let page = parse("html", &html);
    assert_eq!(page["errors"].as_array().unwrap().len(), 0, "{}", page["errors"]);
    assert_eq!(page["xml_error"], "", "well-formed");
    let allowed = [
        "body", "code", "dd", "div", "dl", "dt", "footer", "h1", "head", "header", "html", "main", "meta", "span",
        "style", "sub", "title",
    ];
    for tag in page["tags"].as_array().unwrap() {
        assert!(allowed.contains(&tag.as_str().unwrap()), "unexpected element <{tag}>");
    }
    assert!(page["h1"].as_str().unwrap().starts_with(label), "label shown as text: {}", page["h1"]);
    let spans = page["spans"].as_array().unwrap();
    assert_eq!(spans.len(), trace.len());
    let generated: String = trace.iter().filter(|l| l["prompt"] == false).map(ch).collect();
    for c in ['<', '&', '"', '\'', '\u{0}', '\u{7}', '\n'] {
        assert!(generated.contains(c), "the model wrote {c:?} too, so generated text is exercised");
    }
    for (span, line) in spans.iter().zip(&trace) {
        assert_eq!(span["text"].as_str().unwrap(), expected_shown(ch(line)), "t={}", line["t"]);
    }
    for g in page["guesses"].as_array().unwrap() {
        let text = g["text"].as_str().unwrap();
        assert!(text.chars().all(|c| !c.is_control() && c != '\u{202e}'), "guess {text:?} shown as a picture");
    }
    let raw = std::fs::read_to_string(&html).unwrap();
    assert!(!raw.contains("<script") && !raw.contains("\u{0}") && !raw.contains("\u{1b}"), "nothing raw in the file");
}

#[test]
fn surprise_page_from_the_playground_function() {
    use gatescope::export::{page, Colouring, PageMeta};
    use gatescope::generate::Generator;
    use gatescope::model::sample::Sampling;
    use gatescope::model::CharLstm;
    let model = CharLstm::random(gatescope::vocab::Vocab::from_text(TEXT).unwrap(), 8, 12, 2, 3);
    let mut g = Generator::new(&model, Sampling { temperature: 1.0, top_k: 0, top_p: 1.0, seed: 9 });
    let mut steps = g.feed_prompt("First").unwrap();
    for _ in 0..80 {
        steps.push(g.generate_step().unwrap());
    }
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("s.html");
    std::fs::write(&html, page(&steps, Colouring::Surprise, &PageMeta { checkpoint: "random".into(), top: false }))
        .unwrap();
    let parsed = parse("html", &html);
    assert_eq!(parsed["errors"].as_array().unwrap().len(), 0, "{}", parsed["errors"]);
    let spans = parsed["spans"].as_array().unwrap();
    assert_eq!(spans.len(), steps.len());
    for (span, s) in spans.iter().zip(&steps) {
        let (h, l) = hue_lightness(span["style"].as_str().unwrap());
        assert_eq!(h, 0);
        let want = match s.prob {
            None => 100.0,
            Some(p) => 100.0 - 40.0 * (-(p as f64).ln() / 6.0).min(1.0),
        };
        assert!((l - want).abs() <= 0.051, "t={} p={:?} L={l}", s.t, s.prob);
    }
    assert!(steps[0].prob.is_none() && steps[1..].iter().all(|s| s.prob.is_some()));
}

#[test]
fn svg_has_a_rect_per_step_and_unit_coloured_by_the_gate() {
    use gatescope::export::scale::{hex, signed, unit};
    let dir = tempfile::tempdir().unwrap();
    let t = trace(dir.path(), TEXT, "First", 70, 16);
    let trace = lines(&t);
    let svg = dir.path().join("f.svg");
    export(&[
        t.to_str().unwrap(),
        "--layer",
        "l0",
        "--gate",
        "f",
        "--units",
        "3,0,l0:7",
        "--svg",
        svg.to_str().unwrap(),
    ]);
    let doc = parse("svg", &svg);
    let cells = doc["cells"].as_array().unwrap();
    assert_eq!(cells.len(), trace.len() * 3);
    assert_eq!(doc["units"], serde_json::json!(["l0:3", "l0:0", "l0:7"]));
    let chars: Vec<String> = trace.iter().map(|l| expected_label(ch(l))).collect();
    assert_eq!(doc["chars"], serde_json::json!(chars));
    let (x0, y0) = (cells[0]["x"].as_i64().unwrap(), cells[0]["y"].as_i64().unwrap());
    for cell in cells {
        let (col, row) = ((cell["x"].as_i64().unwrap() - x0) / 12, (cell["y"].as_i64().unwrap() - y0) / 12);
        let u = [3, 0, 7][row as usize];
        let v = trace[col as usize]["layers"][0]["f"][u].as_f64().unwrap() as f32;
        assert_eq!(cell["fill"].as_str().unwrap(), hex(unit(v)), "step {col}, unit {u}");
    }
    // g on its own −1..1 scale; all units by default.
    export(&[t.to_str().unwrap(), "--layer", "l1", "--gate", "g", "--svg", svg.to_str().unwrap()]);
    let doc = parse("svg", &svg);
    let cells = doc["cells"].as_array().unwrap();
    assert_eq!(cells.len(), trace.len() * 16);
    let v = trace[0]["layers"][1]["g"][0].as_f64().unwrap() as f32;
    assert_eq!(cells[0]["fill"].as_str().unwrap(), hex(signed(v)));
    assert!(doc["tags"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| ["svg", "title", "rect", "text", "g"].contains(&t.as_str().unwrap())));
}

#[test]
fn most_variable_picks_the_units_with_the_largest_variance() {
    let dir = tempfile::tempdir().unwrap();
    let t = trace(dir.path(), TEXT, "First", 120, 16);
    let trace = lines(&t);
    let var = |u: usize| {
        let xs: Vec<f64> = trace.iter().map(|l| l["layers"][1]["o"][u].as_f64().unwrap()).collect();
        let m = xs.iter().sum::<f64>() / xs.len() as f64;
        xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / xs.len() as f64
    };
    let mut by_var: Vec<usize> = (0..16).collect();
    by_var.sort_by(|&a, &b| var(b).total_cmp(&var(a)));
    let mut want: Vec<String> = by_var[..4]
        .iter()
        .copied()
        .collect::<std::collections::BTreeSet<_>>()
        .iter()
        .map(|u| format!("l1:{u}"))
        .collect();
    want.sort_by_key(|s| s[3..].parse::<usize>().unwrap());
    let svg = dir.path().join("o.svg");
    export(&[
        t.to_str().unwrap(),
        "--layer",
        "l1",
        "--gate",
        "o",
        "--most-variable",
        "4",
        "--svg",
        svg.to_str().unwrap(),
    ]);
    let doc = parse("svg", &svg);
    assert_eq!(doc["units"], serde_json::json!(want));
    assert_eq!(doc["cells"].as_array().unwrap().len(), trace.len() * 4);
}

#[test]
fn older_traces_without_states_still_draw_gates_and_say_what_the_page_needs() {
    let dir = tempfile::tempdir().unwrap();
    let t = trace(dir.path(), TEXT, "First", 40, 16);
    let old = dir.path().join("old.jsonl");
    let stripped: Vec<String> = lines(&t)
        .into_iter()
        .map(|mut l| {
            for layer in l["layers"].as_array_mut().unwrap() {
                let m = layer.as_object_mut().unwrap();
                assert!(m.remove("c").is_some() && m.remove("h").is_some());
            }
            l.to_string()
        })
        .collect();
    std::fs::write(&old, stripped.join("\n") + "\n").unwrap();
    let (a, b) = (dir.path().join("a.svg"), dir.path().join("b.svg"));
    export(&[t.to_str().unwrap(), "--layer", "l1", "--gate", "i", "--label", "m", "--svg", a.to_str().unwrap()]);
    export(&[old.to_str().unwrap(), "--layer", "l1", "--gate", "i", "--label", "m", "--svg", b.to_str().unwrap()]);
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap(), "the same heatmap from either trace");
    let html = dir.path().join("p.html");
    let out = run(&["export", old.to_str().unwrap(), "--unit", "l1:0", "--html", html.to_str().unwrap()]);
    let err = crate::common::one_line_error(&out);
    assert!(err.contains("old.jsonl:1: no 'c' and 'h'") && err.contains("--state c needs them"), "{err}");
    assert!(!html.exists());
}
