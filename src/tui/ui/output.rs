//! The transcript: the prompt (styled apart) and the continuation, wrapped
//! at word boundaries by display width (a word longer than the line breaks
//! where it must), with control characters made safe. Colour modes: plain,
//! surprise (probability of each character), one unit's activation, and
//! two answers computed at the inspect cursor: the unit's memory writes and
//! the prediction's attribution.

use super::{theme, Focus};
use crate::analysis::attribution::{Attribution, Method, Resolved};
use crate::analysis::explain::Explanation;
use crate::tui::app::analyses::SpanSearch;
use crate::tui::app::{ColorMode, Run, RunKind, View};
use crate::tui::text::{char_label, control_picture, glyph, lone_mark, Glyph};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::{Block, Widget};

/// One drawn cell: a symbol, its width, and the step it shows.
struct Cell {
    sym: String,
    width: u16,
    step: usize,
    /// Whether a following combining mark may join it (not a space or a
    /// control picture).
    base: bool,
}

/// Start a new line; the word being written at the end of the full one
/// (the cells after its last space) moves down with it, unless it fills
/// the whole line anyway. Returns the new line's width so far.
fn break_line(lines: &mut Vec<Vec<Cell>>) -> u16 {
    let line = lines.last_mut().expect("a line");
    let word_start = line.iter().rposition(|c| c.sym == " ").map_or(0, |i| i + 1);
    let carried = if word_start > 0 { line.split_off(word_start) } else { Vec::new() };
    let col = carried.iter().map(|c| c.width).sum();
    lines.push(carried);
    col
}

/// Lay out steps `start..end` into lines of at most `width` columns.
fn layout(run: &Run, start: usize, end: usize, width: u16) -> Vec<Vec<Cell>> {
    let mut lines: Vec<Vec<Cell>> = vec![Vec::new()];
    let mut col: u16 = 0;
    for i in start..end {
        let ch = run.steps[i].ch;
        match glyph(ch) {
            Glyph::Newline => {
                let line = lines.last_mut().expect("a line");
                if col < width {
                    line.push(Cell { sym: " ".into(), width: 1, step: i, base: false });
                }
                lines.push(Vec::new());
                col = 0;
            }
            Glyph::Attach(c) => {
                let line = lines.last_mut().expect("a line");
                match line.last_mut() {
                    // A combining mark joins the character before it (within reason).
                    Some(prev) if prev.base && prev.sym.len() < 24 => prev.sym.push(c),
                    _ => {
                        if col + 1 > width {
                            col = break_line(&mut lines);
                        }
                        lines.last_mut().expect("a line").push(Cell {
                            sym: lone_mark(c),
                            width: 1,
                            step: i,
                            base: false,
                        });
                        col += 1;
                    }
                }
            }
            Glyph::Show(sym, w) => {
                if col + w > width {
                    col = if ch == ' ' {
                        // A space at the edge is the break itself.
                        lines.push(Vec::new());
                        0
                    } else {
                        break_line(&mut lines)
                    };
                    if ch == ' ' {
                        continue;
                    }
                }
                let base = ch != ' ' && control_picture(ch).is_none();
                lines.last_mut().expect("a line").push(Cell { sym, width: w, step: i, base });
                col += w;
            }
        }
    }
    lines
}

/// The answers at the inspect cursor that the memory and attribution
/// colourings read (None while they are not there).
#[derive(Debug, Clone, Copy, Default)]
pub struct AtCursor<'a> {
    pub memory: Option<&'a Explanation>,
    pub attribution: Option<&'a Result<Attribution, String>>,
    /// The model's characters, which name an attribution's target.
    pub vocab: &'a [char],
}

/// A colouring by one value per step of the text read at the cursor (the
/// ring's steps): the memory writes w_s, or the attributions a_s, scaled to
/// the largest |value|, and a step to underline (the half-life's reach).
struct Shade {
    values: Vec<f64>,
    largest: f64,
    mark: Option<usize>,
}

impl Shade {
    fn new(values: Vec<f64>, mark: Option<usize>) -> Self {
        let largest = values.iter().map(|w| w.abs()).filter(|w| w.is_finite()).fold(0.0, f64::max);
        Self { values, largest, mark }
    }

    fn memory(e: &Explanation) -> Self {
        Self::new(e.memory.writes.clone(), e.memory.half_life.and_then(|m| e.step.checked_sub(m)))
    }

    fn attribution(a: &Attribution) -> Self {
        Self::new(a.attributions.iter().map(|&v| v as f64).collect(), None)
    }
}

/// The attribution colouring's title: what is attributed, its value, and
/// the method, with integrated gradients' completeness gap (the cursor's t
/// is in the status line).
fn attribution_title(a: &Attribution, vocab: &[char]) -> String {
    let method = match a.method {
        Method::Grad => "grad".to_string(),
        // The midpoint rule's error: a large gap says the colouring is rough.
        Method::Ig(m) => format!("ig {m} gap {:.2}", a.completeness_gap()),
    };
    let what = match a.target {
        Resolved::Next { id, log_p } => {
            let c = vocab.get(id as usize).map_or_else(|| format!("#{id}"), |&c| char_label(c));
            format!("{c} ({:.1}%)", 100.0 * (log_p as f64).exp())
        }
        Resolved::Unit { target, value } => format!("{target} = {value:.2}"),
    };
    format!(" why {what} · {method} · red − blue + ")
}

/// The first characters of the alternatives at each branch point of the
/// text on screen (step `at + 1` for a point after `at`), by step index t.
fn branch_marks(run: &Run) -> Vec<usize> {
    let mut t: Vec<usize> = run.tree.as_ref().map_or(Vec::new(), |tr| tr.points().iter().map(|p| p.at + 1).collect());
    t.sort_unstable();
    t
}

fn style_for(
    run: &Run,
    view: &View,
    search: &SpanSearch,
    focus: Focus,
    shade: Option<&Shade>,
    marks: &[usize],
    i: usize,
) -> Style {
    let step = &run.steps[i];
    let mut style = if step.is_prompt {
        Style::new().fg(theme::PROMPT).add_modifier(Modifier::BOLD)
    } else if run.kind == RunKind::Preview {
        Style::new().fg(theme::GHOST)
    } else {
        Style::new()
    };
    match view.color {
        ColorMode::Plain => {}
        ColorMode::Surprise => {
            if let Some(p) = step.prob {
                style = style.bg(theme::surprise(p)).fg(Color::Black);
            }
        }
        ColorMode::Cell => {
            if let Some(v) = step.layers.get(view.layer).and_then(|l| l.gates.c.get(view.cell)) {
                style = style.bg(theme::cell(v.tanh())).fg(Color::Black);
            }
        }
        ColorMode::Memory | ColorMode::Attribution(_) => {
            if let Some((s, &w)) = shade.and_then(|s| Some((s, s.values.get(i)?))) {
                let v = if s.largest > 0.0 { (w / s.largest) as f32 } else { 0.0 };
                style = style.bg(theme::cell(v)).fg(Color::Black);
                if s.mark == Some(i) {
                    style = style.add_modifier(Modifier::UNDERLINED | Modifier::BOLD);
                }
            }
        }
    }
    // A branch point: the character that has alternatives, underlined (in
    // the branch colour where no colouring sets the background).
    if marks.binary_search(&step.t).is_ok() {
        style = style.add_modifier(Modifier::UNDERLINED | Modifier::BOLD);
        if view.color == ColorMode::Plain {
            style = style.fg(theme::BRANCH);
        }
    }
    // The span search: the searched span, its matches (the one jumped to
    // brighter), and a start marked but not yet ended.
    if search.span.as_ref().is_some_and(|r| r.contains(&i)) || search.start == Some(i) {
        style = style.bg(theme::SPAN_BG).fg(Color::Black);
    } else if let Some(k) = search.matches.iter().position(|r| r.contains(&i)) {
        let bg = if search.current == Some(k) { theme::MATCH_CURRENT_BG } else { theme::MATCH_BG };
        style = style.bg(bg).fg(Color::Black).add_modifier(Modifier::UNDERLINED);
    }
    if focus.inspecting && focus.step == Some(i) {
        style = Style::new().bg(theme::CURSOR_BG).fg(Color::Black).add_modifier(Modifier::BOLD);
    }
    style
}

pub fn render(run: &Run, view: &View, search: &SpanSearch, focus: Focus, area: Rect, buf: &mut Buffer) {
    render_with(run, view, search, focus, AtCursor::default(), area, buf)
}

/// `render`, with the answers at the cursor that the memory and the
/// attribution colourings read.
pub fn render_with(
    run: &Run,
    view: &View,
    search: &SpanSearch,
    focus: Focus,
    at: AtCursor,
    area: Rect,
    buf: &mut Buffer,
) {
    let memory = at.memory;
    let shade = match view.color {
        ColorMode::Memory => memory.map(Shade::memory),
        ColorMode::Attribution(_) => at.attribution.and_then(|r| r.as_ref().ok()).map(Shade::attribution),
        _ => None,
    };
    let mut title = String::from(" output ");
    if run.kind == RunKind::Preview && !run.steps.is_empty() {
        title.push_str("· preview ");
    }
    match view.color {
        ColorMode::Plain => {}
        ColorMode::Surprise => title.push_str("· surprise: red = unexpected "),
        ColorMode::Cell => {
            // The longest form that fits: the unit's label, then the bare
            // unit, then without "output" (at 80 columns the title has 34).
            // A label cut at the border would show a wrong r (`r .8`).
            let (u, legend) = (view.unit(), "red − blue +");
            let forms = [
                format!("{title}· tanh(c) of {}: {legend} ", view.name(u)),
                format!("{title}· tanh(c) of {u}: {legend} "),
                format!(" tanh(c) of {u}: {legend} "),
            ];
            let fits = |t: &&String| t.chars().count() + 2 <= area.width as usize;
            title = forms.iter().find(fits).unwrap_or(&forms[2]).clone();
        }
        ColorMode::Memory => {
            let name = view.unit();
            match memory {
                // The whole title, without "output": at 80 columns it has 34.
                Some(e) => {
                    let half = e.memory.half_life.map_or("no half-life".into(), |m| format!("half-life {m}"));
                    title = format!(" memory of {name} · {half} (underlined) · w_s red − blue + ");
                }
                None if focus.inspecting => title.push_str(&format!("· memory of {name}: computing… ")),
                None => title.push_str(&format!("· memory of {name}: at the inspect cursor (Tab) ")),
            }
        }
        ColorMode::Attribution(method) => match at.attribution {
            Some(Ok(a)) => title = attribution_title(a, at.vocab),
            Some(Err(e)) => title = format!(" attribution: {e} "),
            None if focus.inspecting => title.push_str(&format!("· {}: computing… ", method.name())),
            None => title.push_str("· attribution: at the inspect cursor (Tab) "),
        },
    }
    if !search.matches.is_empty() {
        title.push_str(&format!("· {} matches (j) ", search.matches.len()));
    }
    if run.dropped > 0 {
        title.push_str(&format!("· first {} chars dropped ", run.dropped));
    }
    let marks = branch_marks(run);
    if !marks.is_empty() {
        title.push_str("· branch points underlined ");
    }
    let block = Block::bordered().title(title).title_style(theme::title());
    let inner = block.inner(area);
    block.render(area, buf);
    let (w, h) = (inner.width, inner.height as usize);
    if w == 0 || h == 0 || run.steps.is_empty() {
        if run.steps.is_empty() && w > 0 && h > 0 {
            buf.set_stringn(inner.x, inner.y, "type a prompt below; the model continues it", w as usize, theme::dim());
        }
        return;
    }
    let len = run.steps.len();
    // Only the tail can be visible: each line holds at least one step and at
    // most `w` columns, so (lines needed) x (w + slack) steps is plenty.
    let at = focus.step.unwrap_or(len - 1);
    let end = if focus.inspecting { (at + 1 + (h / 2) * w as usize).min(len) } else { len };
    let scroll = if focus.inspecting { 0 } else { view.scroll };
    let budget = (h + scroll + 1) * (w as usize + 8);
    let start = end.saturating_sub(budget);
    let lines = layout(run, start, end, w);
    // Show the last h lines (scrolled back), keeping the focus visible when inspecting.
    let total = lines.len();
    let mut last = total.saturating_sub(scroll.min(total.saturating_sub(1)));
    if focus.inspecting {
        if let Some(li) = lines.iter().position(|l| l.iter().any(|c| c.step >= at)) {
            if li + 1 > last || li + h < last {
                last = (li + 1).max(h.min(total)).min(total);
            }
        }
    }
    let first = last.saturating_sub(h);
    for (row, line) in lines[first..last].iter().enumerate() {
        let mut x = inner.x;
        let y = inner.y + row as u16;
        for cell in line {
            let style = style_for(run, view, search, focus, shade.as_ref(), &marks, cell.step);
            buf.set_stringn(x, y, &cell.sym, cell.width as usize, style);
            x += cell.width;
        }
    }
}
