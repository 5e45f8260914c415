//! Two lines: the model, sampling and state; then the latest message, or
//! what the prompt cannot be read for, or the key hints of the table in
//! `keys/table.rs`. Both lines fit the width by leaving whole parts out, least
//! useful first; nothing is cut mid-word.

use super::theme;
use crate::tui::app::{App, ColorMode, Mode, MsgKind, RunKind, RunState};
use crate::tui::keys;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;
use unicode_width::UnicodeWidthStr;

fn human(n: usize) -> String {
    match n {
        n if n >= 1_000_000 => format!("{:.1}M", n as f64 / 1e6),
        n if n >= 1_000 => format!("{:.1}k", n as f64 / 1e3),
        n => n.to_string(),
    }
}

/// What `fit` puts before the first part and between two parts; the pins'
/// room is reckoned with the same widths.
const LEAD: &str = " ";
const SEPARATOR: &str = " │ ";

/// A part of the first line and its rank: higher ranks go first when the
/// line is too long.
struct Part {
    rank: u8,
    spans: Vec<Span<'static>>,
}

fn width(spans: &[Span]) -> usize {
    spans.iter().map(|s| s.content.width()).sum()
}

fn first_line(app: &App, w: usize) -> Vec<Part> {
    let m = &app.model;
    let mut parts = Vec::new();
    let plain = |rank, s: String| Part { rank, spans: vec![Span::raw(s)] };
    // The model's name outranks its sizes: which model is running is worth
    // more room than the pins or the view when the line is short.
    parts.push(Part {
        rank: 1,
        spans: vec![Span::styled(crate::tui::text::sanitize_line(&m.name), Style::new().fg(Color::White))],
    });
    parts.push(Part {
        rank: 3,
        spans: vec![Span::styled(
            format!("{}×{} · {} params · {}", m.layers, m.hidden, human(m.params), m.device),
            Style::new().fg(Color::White),
        )],
    });
    let (state, color) = match app.run.state {
        RunState::Idle => ("idle".to_string(), Color::Gray),
        RunState::Generating => (format!("generating {:.0} ch/s", app.run.rate()), Color::LightGreen),
        RunState::Paused => ("paused".to_string(), Color::LightYellow),
    };
    parts.push(Part { rank: 0, spans: vec![Span::styled(state, Style::new().fg(color))] });
    if let Some((bits, n)) = prompt_bits(app).filter(|_| app.run.kind == RunKind::Preview) {
        // As the prompt is typed (the preview reads it); over the prompt's
        // steps the ring still holds, said when it has dropped the start.
        let over = if app.run.dropped > 0 { format!(" (last {n})") } else { String::new() };
        parts.push(plain(2, format!("prompt {bits:.2} bits/char{over}")));
    }
    if let Some(j) = &app.analyses.file_job {
        parts.push(Part { rank: 0, spans: vec![Span::styled(j.status(), Style::new().fg(theme::ACCENT))] });
    }
    if !app.interventions.active.is_empty() {
        parts.push(Part { rank: 0, spans: super::intervene::badge(&app.interventions.active, w / 2) });
    }
    if let Some(b) = app.branch_status() {
        parts.push(Part { rank: 0, spans: vec![Span::styled(b, Style::new().fg(theme::BRANCH))] });
    }
    let s = &app.sampling;
    let k = if s.top_k == 0 { "all".to_string() } else { s.top_k.to_string() };
    parts.push(plain(
        1,
        match app.beam {
            // The sampling settings do not apply to a beam search.
            Some(w) => format!("beam {w} (Alt-W)"),
            None => format!("T {:.2} top-k {k} top-p {:.2} seed {}", s.temperature, s.top_p, s.seed),
        },
    ));
    // The length is what Enter will run, as the sampling is; nothing else
    // on screen shows it.
    parts.push(plain(1, format!("len {}", app.length)));
    if app.mode == Mode::Inspect {
        if let Some(st) = app.focus().and_then(|f| app.run.steps.get(f)) {
            let p = st.prob.map(|p| format!("p={p:.3}")).unwrap_or_else(|| "p=–".into());
            let unit = app.view.unit();
            let cell = match app.view.color {
                ColorMode::Cell => st
                    .layers
                    .get(unit.layer)
                    .and_then(|l| l.gates.c.get(unit.index))
                    .map(|v| format!(" c[{unit}]={v:.2}"))
                    .unwrap_or_default(),
                _ => String::new(),
            };
            parts.push(Part {
                rank: 0,
                spans: vec![Span::styled(
                    format!("t={} {} {}{cell}", st.t, crate::tui::text::char_label(st.ch), p),
                    Style::new().fg(theme::CURSOR_BG),
                )],
            });
        }
    }
    let mut view = format!("l{}", app.view.layer);
    match app.view.color {
        ColorMode::Plain => {}
        ColorMode::Surprise => view.push_str(" · surprise"),
        ColorMode::Cell => view.push_str(&format!(" · colour {}", app.view.name(app.view.unit()))),
        ColorMode::Memory => view.push_str(&format!(" · memory of {}", app.view.name(app.view.unit()))),
        ColorMode::Attribution(m) => view.push_str(&format!(" · attribution {}", m.name())),
    }
    parts.push(plain(2, view));
    if !app.view.pins.is_empty() {
        // The pins take the room the parts ranked before them leave: their
        // labels while those fit, bare units after (the heatmap gutter names
        // them too).
        let before: usize = parts.iter().filter(|p| p.rank <= 2).map(|p| width(&p.spans) + SEPARATOR.width()).sum();
        parts.push(plain(2, pins(app, w.saturating_sub(LEAD.width() + before).max(24))));
    }
    parts.push(plain(5, if app.preview { "preview".into() } else { "no preview".into() }));
    parts
}

/// The prompt's bits per character, as `gatescope score` defines it: the
/// mean of −log2 p(x_i) over the run's prompt steps that a step before them
/// predicted (the first character read from a zero state has no
/// prediction), with their count. None while no prompt step has one.
pub fn prompt_bits(app: &App) -> Option<(f64, usize)> {
    let probs = app.run.steps.iter().take_while(|s| s.is_prompt).filter_map(|s| s.prob);
    let (sum, n) = probs.fold((0.0f64, 0usize), |(sum, n), p| (sum - f64::from(p).log2(), n + 1));
    (n > 0).then(|| (sum / n as f64, n))
}

/// The pinned units in at most `max` columns: each with its label while
/// that fits, then bare, then how many more.
pub fn pins(app: &App, max: usize) -> String {
    let v = &app.view;
    let mut out = String::from("pinned");
    for (k, &u) in v.pins.iter().enumerate() {
        let rest = v.pins.len() - k - 1;
        let more = if rest > 0 { format!(" +{rest}") } else { String::new() };
        let sep = if k == 0 { " " } else { ", " };
        let fits = |s: &str| out.width() + sep.width() + s.width() + more.width() <= max;
        let (full, bare) = (v.name(u), u.to_string());
        if fits(&full) {
            out.push_str(&format!("{sep}{full}"));
        } else if fits(&bare) {
            out.push_str(&format!("{sep}{bare}"));
        } else {
            out.push_str(&format!(" +{}", rest + 1));
            break;
        }
    }
    out
}

/// Join `parts` with separators in their order, taking them lowest rank
/// first while they fit `max` columns: a part too wide to fit leaves room
/// for a later-ranked, narrower one (the pins with long labels must not
/// take the length with them). The first-ranked part is always there.
fn fit(parts: Vec<Part>, max: usize) -> Vec<Span<'static>> {
    let sep = || Span::styled(SEPARATOR, theme::dim());
    let mut by_rank: Vec<usize> = (0..parts.len()).collect();
    by_rank.sort_by_key(|&i| (parts[i].rank, i));
    let mut keep = vec![false; parts.len()];
    let mut total = LEAD.width();
    for (n, i) in by_rank.into_iter().enumerate() {
        let add = width(&parts[i].spans) + if n > 0 { SEPARATOR.width() } else { 0 };
        if n == 0 || total + add <= max {
            keep[i] = true;
            total += add;
        }
    }
    let parts = parts.into_iter().zip(keep).filter_map(|(p, k)| k.then_some(p));
    let mut spans = vec![Span::raw(LEAD)];
    for (i, p) in parts.enumerate() {
        if i > 0 {
            spans.push(sep());
        }
        spans.extend(p.spans);
    }
    spans
}

/// As many hints as fit `max` columns, in the table's order of usefulness.
pub fn hint_line(hints: &[&str], max: usize) -> String {
    let mut out = String::new();
    for h in hints {
        let add = if out.is_empty() { format!(" {h}") } else { format!(" · {h}") };
        if out.width() + add.width() > max {
            break;
        }
        out.push_str(&add);
    }
    out
}

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    if area.height == 0 {
        return;
    }
    let w = area.width as usize;
    Line::from(fit(first_line(app, w), w)).render(Rect { height: 1, ..area }, buf);
    if area.height < 2 {
        return;
    }
    let second = Rect { y: area.y + 1, height: 1, ..area };
    let problem = if app.mode == Mode::Typing { app.prompt.vocab_problem() } else { None };
    let line = match (&app.message, problem) {
        (None, _) if app.mode == Mode::Intervene => super::intervene::check_line(app),
        (Some(m), _) => {
            let color = if m.kind == MsgKind::Error { theme::ERROR } else { theme::ACCENT };
            Line::from(Span::styled(format!(" {}", m.text), Style::new().fg(color)))
        }
        (None, Some(p)) => Line::from(Span::styled(format!(" {p}"), Style::new().fg(theme::ERROR))),
        (None, None) => Line::from(Span::styled(hint_line(&keys::hints(app.context()), w), theme::dim())),
    };
    line.render(second, buf);
}
