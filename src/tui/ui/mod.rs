//! Drawing: a pure function of `&App` into any ratatui backend. One file per
//! panel; each renders into its own `Rect` of the frame's buffer.

pub mod cells;
pub mod compare;
pub mod explain;
pub mod gates;
pub mod help;
pub mod intervene;
pub mod norms;
pub mod output;
pub mod prompt;
pub mod samples;
pub mod saturation;
pub mod status;
pub mod theme;
pub mod timeline;
pub mod topk;

use super::app::{App, Panel};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

/// Below this the layout does not fit; the app says so instead.
pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

/// The panels' rectangles for a frame of `area`.
pub struct Areas {
    pub output: Rect,
    pub gates: Rect,
    pub norms: Rect,
    pub topk: Rect,
    pub prompt: Rect,
    pub status: Rect,
}

pub fn areas(area: Rect) -> Areas {
    let bottom = if area.height >= 40 {
        12
    } else if area.height >= 30 {
        8
    } else {
        7
    };
    let [main, bottom, prompt, status] = Layout::vertical([
        Constraint::Min(8),
        Constraint::Length(bottom),
        Constraint::Length(3),
        Constraint::Length(2),
    ])
    .areas(area);
    let [output, gates] = Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(main);
    let [norms, topk] = Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(bottom);
    Areas { output, gates, norms, topk, prompt, status }
}

/// Draw the whole screen. Reads `app`, writes the frame; nothing else.
pub fn draw(frame: &mut Frame, app: &App) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        too_small(frame, area);
        return;
    }
    let a = match &app.timeline {
        Some(t) => {
            let [bar, rest] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
            timeline::render(t, bar, frame.buffer_mut());
            areas(rest)
        }
        None => areas(area),
    };
    let focus = Focus { step: app.focus(), inspecting: app.inspecting() };
    let buf = frame.buffer_mut();
    let compare = app.interventions.shown();
    // Samples side by side take the output's and the heatmaps' room.
    let side_by_side = app.samples.as_ref().map(|s| {
        let main = Rect { width: a.gates.right() - a.output.x, ..a.output };
        samples::render(app, s, main, buf)
    });
    match compare {
        _ if side_by_side.is_some() => {}
        Some(c) => compare::render(c, &app.run, a.output, buf),
        None => {
            let at = output::AtCursor {
                memory: app.explanation().and_then(|r| r.as_ref().ok()),
                attribution: app.attribution(),
                vocab: &app.model.vocab,
            };
            output::render_with(&app.run, &app.view, &app.analyses.search, focus, at, a.output, buf)
        }
    }
    // The explain panel takes the heatmaps' column down to the prompt (the
    // next-character panel's place), the norm chart the output's width.
    let (norms, topk) = match app.view.panel {
        Panel::Explain => (Rect { width: a.gates.x - a.norms.x, ..a.norms }, None),
        _ => (a.norms, Some(a.topk)),
    };
    match app.view.panel {
        _ if side_by_side.is_some() => {}
        Panel::Gates => gates::render(&app.run, &app.view, focus, a.gates, buf),
        Panel::Cells => cells::render(app, a.gates, buf),
        Panel::Saturation => saturation::render(app, a.gates, buf),
        Panel::Explain => explain::render(app, Rect { height: a.prompt.y - a.gates.y, ..a.gates }, buf),
    }
    norms::render_with_baseline(&app.run, compare.map(|c| &c.baseline[..]), &app.view, focus, norms, buf);
    if let Some(topk) = topk {
        let choice = if focus.inspecting { app.view.choice } else { None };
        topk::render_with_choice(&app.run, focus, choice, topk, buf);
    }
    let cursor = prompt::render(app, a.prompt, buf);
    status::render(app, a.status, buf);
    intervene::render_list(app, Rect { height: a.prompt.y - area.y, ..area }, buf);
    if app.view.help {
        help::render(app.view.help_scroll, area, buf);
    } else if let Some(pos) = cursor {
        if !focus.inspecting || app.mode.is_box() {
            frame.set_cursor_position(pos);
        }
    }
}

fn too_small(frame: &mut Frame, area: Rect) {
    let text = vec![
        Line::from(format!("terminal too small: {}×{}", area.width, area.height)),
        Line::from(format!("gatescope needs at least {MIN_WIDTH}×{MIN_HEIGHT}")),
        Line::from("(enlarge the window; Ctrl-C quits)"),
    ];
    let h = (text.len() as u16).min(area.height);
    let y = area.y + area.height.saturating_sub(h) / 2;
    let r = Rect { x: area.x, y, width: area.width, height: h };
    frame.render_widget(Paragraph::new(text).centered().wrap(Wrap { trim: true }), r);
}

/// The step the panels describe, and whether the user is inspecting it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Focus {
    pub step: Option<usize>,
    pub inspecting: bool,
}

/// The window of steps the panels show: `width` steps ending at the newest,
/// or around the inspect cursor when it has moved back past them.
pub fn step_window(len: usize, focus: Focus, width: usize) -> (usize, usize) {
    if width == 0 || len == 0 {
        return (0, 0);
    }
    let mut end = len;
    if let Some(f) = focus.step {
        if f + width < len {
            end = (f + 1 + width / 2).min(len);
        }
    }
    (end.saturating_sub(width), end)
}
