//! Where each part of the screen goes in a terminal of a given size. The views place their parts
//! with it, and the reducer asks it how many rows a page holds, so the two always agree.

use ratatui::layout::{Constraint, Layout, Rect};

/// Below this the screen would be broken: a message is shown instead.
pub(crate) const MIN_WIDTH: u16 = 60;
pub(crate) const MIN_HEIGHT: u16 = 12;
/// From this width the panes sit side by side; below it they stack.
const WIDE: u16 = 110;

/// True when the terminal cannot hold the screen (the too-small message is shown instead).
pub(crate) fn too_small(area: Rect) -> bool {
    area.width < MIN_WIDTH || area.height < MIN_HEIGHT
}

/// The header line, the banner of blocking states (often none), the body (the panes or a
/// view) and the two status lines.
pub(crate) struct Screen {
    pub(crate) header: Rect,
    pub(crate) banner: Rect,
    pub(crate) body: Rect,
    pub(crate) status: Rect,
}

impl Screen {
    /// With a banner of `lines` lines (at most half of what the header and status leave).
    pub(crate) fn with_banner(area: Rect, lines: u16) -> Self {
        let lines = lines.min(area.height.saturating_sub(3) / 2);
        let [header, banner, body, status] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(lines),
            Constraint::Min(1),
            Constraint::Length(2),
        ])
        .areas(area);
        Screen {
            header,
            banner,
            body,
            status,
        }
    }

    /// The conferences pane and the participants pane: side by side when wide, else stacked.
    pub(crate) fn panes(&self) -> (Rect, Rect) {
        if self.body.width >= WIDE {
            let [l, r] =
                Layout::horizontal([Constraint::Percentage(40), Constraint::Percentage(60)])
                    .areas(self.body);
            (l, r)
        } else {
            let [t, b] = Layout::vertical([Constraint::Percentage(45), Constraint::Percentage(55)])
                .areas(self.body);
            (t, b)
        }
    }
}

/// Rows a bordered table shows in `area`: two borders and a header row are not rows.
pub(crate) fn table_rows(area: Rect) -> usize {
    usize::from(area.height.saturating_sub(3))
}

/// Lines a bordered list (no header row) shows in `area`.
pub(crate) fn list_rows(area: Rect) -> usize {
    usize::from(area.height.saturating_sub(2))
}
