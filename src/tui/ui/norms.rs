//! |c_t| per step for every layer (and |h_t| when toggled), over the same
//! steps as the heatmaps, with a marker at the focused step. Non-finite
//! points are dropped and the y bounds always keep min < max.

use super::{step_window, theme, Focus};
use crate::generate::Step;
use crate::tui::app::{Run, View};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Chart, Dataset, GraphType, Widget};
use std::sync::Arc;

/// Bounds that a chart can use: finite, and min < max.
pub fn bounds(values: impl Iterator<Item = f64>) -> [f64; 2] {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() || !hi.is_finite() {
        return [0.0, 1.0];
    }
    if hi - lo < 1e-6 {
        return [lo - 0.5, hi + 0.5];
    }
    let pad = (hi - lo) * 0.05;
    // Norms are never negative: don't pad below zero.
    let low = if lo >= 0.0 { (lo - pad).max(0.0) } else { lo - pad };
    [low, hi + pad]
}

/// A named, coloured line of (t, value) points.
type Series = (String, Color, Vec<(f64, f64)>);

pub fn render(run: &Run, view: &View, focus: Focus, area: Rect, buf: &mut Buffer) {
    render_with_baseline(run, None, view, focus, area, buf)
}

/// The chart with a baseline run's |c| (the compare view's) drawn dim under
/// the run's own lines, over the same steps.
pub fn render_with_baseline(
    run: &Run,
    baseline: Option<&[Arc<Step>]>,
    view: &View,
    focus: Focus,
    area: Rect,
    buf: &mut Buffer,
) {
    // The window matches the heatmaps' so the marker lines up in meaning.
    let (start, end) = step_window(run.steps.len(), focus, (area.width as usize).saturating_sub(12).max(1) * 2);
    let layers = view.layers();
    let mut series: Vec<Series> = Vec::new();
    // The baseline over the run's window of t (the run may still be shorter).
    let t_window = match (run.steps.get(start), end.checked_sub(1).and_then(|e| run.steps.get(e))) {
        (Some(a), Some(b)) => Some((a.t, b.t)),
        _ => None,
    };
    if let Some(base) = baseline {
        let (lo, hi) = t_window.unwrap_or((0, 0));
        for l in 0..layers {
            let pts: Vec<(f64, f64)> = base
                .iter()
                .filter(|s| (lo..=hi).contains(&s.t))
                .filter_map(|s| {
                    let v = s.layers.get(l)?.c_norm as f64;
                    v.is_finite().then_some((s.t as f64, v))
                })
                .collect();
            series.push((String::new(), Color::DarkGray, pts));
        }
    }
    for l in 0..layers {
        let color = theme::LAYERS[l % theme::LAYERS.len()];
        let pts = |h: bool| -> Vec<(f64, f64)> {
            run.steps
                .range(start..end)
                .filter_map(|s| {
                    let ls = s.layers.get(l)?;
                    let v = if h { ls.h_norm } else { ls.c_norm } as f64;
                    v.is_finite().then_some((s.t as f64, v))
                })
                .collect()
        };
        series.push((format!("c l{l}"), color, pts(false)));
        if view.show_h {
            series.push((format!("h l{l}"), Color::Gray, pts(true)));
        }
    }
    // The legend lives in the title: it never hides and never covers the lines.
    let mut title = vec![Span::styled(
        if view.show_h { " norms |c| |h| per step " } else { " cell-state norm |c| per step " },
        theme::title(),
    )];
    if baseline.is_some() {
        title.push(Span::styled("── ", Style::new().fg(Color::DarkGray)));
        title.push(Span::raw("baseline "));
    }
    for (name, color, _) in series.iter().filter(|s| !s.0.is_empty()) {
        title.push(Span::styled("── ", Style::new().fg(*color)));
        title.push(Span::raw(format!("{name} ")));
    }
    let block = Block::bordered().title(Line::from(title));
    let y = bounds(series.iter().flat_map(|s| s.2.iter().map(|p| p.1)));
    let (t0, t1) = match (run.steps.get(start), end.checked_sub(1).and_then(|e| run.steps.get(e))) {
        (Some(a), Some(b)) => (a.t as f64, b.t as f64),
        _ => (0.0, 1.0),
    };
    let x = if t1 > t0 { [t0, t1] } else { [t0, t0 + 1.0] };
    let marker: Vec<(f64, f64)> = match focus.step.and_then(|f| run.steps.get(f)) {
        Some(s) if (x[0]..=x[1]).contains(&(s.t as f64)) => vec![(s.t as f64, y[0]), (s.t as f64, y[1])],
        _ => Vec::new(),
    };
    let mut datasets: Vec<Dataset> = series
        .iter()
        .map(|(name, color, pts)| {
            Dataset::default()
                .name(name.clone())
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(Style::new().fg(*color))
                .data(pts)
        })
        .collect();
    if !marker.is_empty() {
        datasets.push(
            Dataset::default()
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(Style::new().fg(theme::CURSOR_BG))
                .data(&marker),
        );
    }
    let label = |v: f64| Span::styled(format!("{v:.1}"), theme::dim());
    let chart = Chart::new(datasets)
        .block(block)
        .legend_position(None)
        .x_axis(Axis::default().bounds(x).labels([
            Span::styled(format!("t={}", x[0] as i64), theme::dim()),
            Span::styled(format!("t={}", x[1] as i64), theme::dim()),
        ]))
        .y_axis(Axis::default().bounds(y).labels([label(y[0]), label(y[1])]));
    chart.render(area, buf);
}
