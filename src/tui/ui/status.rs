//! Two lines: the model, sampling and state; then the latest message or key hints.

use super::theme;
use crate::tui::app::{App, ColorMode, Mode, MsgKind, RunState};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

fn human(n: usize) -> String {
    match n {
        n if n >= 1_000_000 => format!("{:.1}M", n as f64 / 1e6),
        n if n >= 1_000 => format!("{:.1}k", n as f64 / 1e3),
        n => n.to_string(),
    }
}

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    if area.height == 0 {
        return;
    }
    let sep = Span::styled(" │ ", theme::dim());
    let mut spans = Vec::new();
    match &app.model {
        Some(m) => spans.push(Span::styled(
            format!(
                " {} · {}×{} · {} params · {}",
                crate::tui::text::sanitize_line(&m.name),
                m.layers,
                m.hidden,
                human(m.params),
                m.device
            ),
            Style::new().fg(Color::White),
        )),
        None => spans.push(Span::raw(" loading…")),
    }
    spans.push(sep.clone());
    let (state, color) = match app.state {
        RunState::Loading => ("loading".to_string(), Color::Gray),
        RunState::Idle => ("idle".to_string(), Color::Gray),
        RunState::Generating => (format!("generating {:.0} ch/s", app.rate), Color::LightGreen),
        RunState::Paused => ("paused".to_string(), Color::LightYellow),
    };
    spans.push(Span::styled(state, Style::new().fg(color)));
    spans.push(sep.clone());
    let s = &app.sampling;
    let k = if s.top_k == 0 { "all".to_string() } else { s.top_k.to_string() };
    spans.push(Span::raw(format!("T {:.2} top-k {k} top-p {:.2} seed {}", s.temperature, s.top_p, s.seed)));
    spans.push(sep.clone());
    spans.push(Span::raw(format!("len {}", app.length)));
    if app.mode == Mode::Inspect {
        if let Some(st) = app.focus().and_then(|f| app.steps.get(f)) {
            spans.push(sep.clone());
            let p = st.prob.map(|p| format!("p={p:.3}")).unwrap_or_else(|| "p=–".into());
            let cell = match app.color {
                ColorMode::Cell => st
                    .layers
                    .get(app.layer)
                    .and_then(|l| l.c.get(app.cell))
                    .map(|v| format!(" c[{}]={v:.2}", app.cell))
                    .unwrap_or_default(),
                _ => String::new(),
            };
            spans.push(Span::styled(
                format!("t={} {} {}{cell}", st.t, crate::tui::text::char_label(st.ch), p),
                Style::new().fg(theme::CURSOR_BG),
            ));
        }
    }
    spans.push(sep.clone());
    spans.push(Span::raw(format!("layer {}", app.layer + 1)));
    match app.color {
        ColorMode::Plain => {}
        ColorMode::Surprise => spans.push(Span::raw(" · surprise")),
        ColorMode::Cell => spans.push(Span::raw(format!(" · cell {}", app.cell))),
    }
    spans.push(Span::raw(if app.preview { " · preview" } else { " · no preview" }));
    Line::from(spans).render(Rect { height: 1, ..area }, buf);
    if area.height < 2 {
        return;
    }
    let second = Rect { y: area.y + 1, height: 1, ..area };
    let line = match &app.message {
        Some((m, MsgKind::Error)) => Line::from(Span::styled(format!(" {m}"), Style::new().fg(theme::ERROR))),
        Some((m, MsgKind::Info)) => Line::from(Span::styled(format!(" {m}"), Style::new().fg(theme::ACCENT))),
        None => {
            let hints = match app.mode {
                Mode::Inspect => " ←→ step · PgUp/PgDn ×10 · Home/End · t/T k/K p/P s/S l g h c n , . m · Tab back · ? help",
                Mode::Load => " Enter load · Esc cancel",
                Mode::Cell => " Enter set the colouring cell · Esc cancel",
                Mode::Typing => " F1 help · Enter generate · Esc stop · Tab inspect · Ctrl-C quit · Alt-t/T temp · Alt-l layer · Alt-g g · Alt-c colour · Ctrl-S save · Ctrl-O load",
            };
            Line::from(Span::styled(hints, theme::dim()))
        }
    };
    line.render(second, buf);
}
