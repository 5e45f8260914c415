//! The `?` overlay: every key, in two columns.

use super::theme;
use crate::tui::app::KEYS;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::widgets::{Block, Clear, Widget};

pub fn render(area: Rect, buf: &mut Buffer) {
    let half = KEYS.len().div_ceil(2);
    let col_w: u16 = 50;
    let w = (col_w * 2 + 3).min(area.width);
    let h = (half as u16 + 4).min(area.height);
    let r = Rect { x: area.x + (area.width - w) / 2, y: area.y + (area.height - h) / 2, width: w, height: h };
    Clear.render(r, buf);
    let block = Block::bordered()
        .title(" keys · Alt-x while typing = x in inspect mode · any key closes ")
        .title_style(theme::title());
    let inner = block.inner(r);
    block.render(r, buf);
    let cw = (inner.width / 2) as usize;
    for (i, (k, d)) in KEYS.iter().enumerate() {
        let (col, row) = (i / half, i % half);
        let y = inner.y + 1 + row as u16;
        if y >= inner.y + inner.height {
            continue;
        }
        let x = inner.x + 1 + (col * cw) as u16;
        let kw = 17usize.min(cw.saturating_sub(1));
        buf.set_stringn(x, y, k, kw, Style::new().fg(theme::ACCENT));
        buf.set_stringn(x + kw as u16, y, d, cw.saturating_sub(kw + 1), Style::new());
    }
}
