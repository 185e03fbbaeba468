//! The confirm dialog: names the participant, the conference and the consequence; warns about a
//! customer or the last other party (which need a second confirmation). Its default is Cancel.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph, Wrap};

use super::widgets::centered;
use crate::text::truncate;
use crate::text::wrap;
use crate::tui::app::{Choice, Confirm, Risk};
use crate::tui::keymap::Keymap;
use crate::tui::theme::Theme;

pub(super) fn draw(
    frame: &mut Frame,
    area: Rect,
    confirm: &Confirm,
    _keymap: &Keymap,
    theme: Theme,
) {
    let width = 66;
    // Inside the borders and padding. Names and the conference are cut to one line each, so a
    // long name never pushes the warning or the buttons out of the dialog.
    let inner = usize::from(width.min(area.width)).saturating_sub(4);
    let purpose = truncate(&confirm.purpose, 12);
    let name_room =
        inner.saturating_sub(" ( ) from the call?".len() + "Remove".len() + purpose.len());
    let mut lines = vec![
        Line::from(vec![
            Span::raw("Remove "),
            Span::styled(truncate(&confirm.name, name_room.max(8)), theme.title()),
            Span::raw(format!(" ({purpose}) from the call?")),
        ]),
        Line::raw(format!(
            "Conference: {}",
            truncate(&confirm.conference, inner.saturating_sub(12).max(8))
        )),
        Line::raw(""),
    ];
    let parties = |n: usize| format!("{n} connected part{}", if n == 1 { "y" } else { "ies" });
    let consequence = match confirm.risk {
        Some(Risk::Customer) => {
            "⚠ This is the CUSTOMER: removing them hangs up on them.".to_string()
        }
        Some(Risk::LastOtherParty) => format!(
            "⚠ Only {} would remain: the call may end for them. {}.",
            parties(confirm.others_remaining),
            confirm.who_stays
        ),
        None => format!("Their leg is disconnected; {}.", confirm.who_stays),
    };
    // Wrapped here, not by the paragraph, so the dialog's height counts every line.
    if confirm.other_kicks > 0 {
        let note = format!(
            "{} other kick{} on this call already running: counted as leaving.",
            confirm.other_kicks,
            if confirm.other_kicks == 1 { "" } else { "s" }
        );
        for line in wrap(&note, inner) {
            lines.push(Line::styled(line, theme.warning()));
        }
    }
    let style = if confirm.risk.is_some() {
        theme.error()
    } else {
        Style::new()
    };
    for line in wrap(&consequence, inner) {
        lines.push(Line::styled(line, style));
    }
    if confirm.risk.is_some() {
        lines.push(Line::styled(
            if confirm.second_stage {
                "Second confirmation: this forces past the safety rule."
            } else {
                "This needs a second confirmation."
            },
            theme.warning(),
        ));
    }
    lines.push(Line::raw(""));
    let remove_label = if confirm.second_stage {
        " Remove anyway "
    } else {
        " Remove "
    };
    let button = |label: &'static str, chosen: bool| {
        if chosen {
            Span::styled(format!("▶[{label}]"), theme.selected())
        } else {
            Span::raw(format!(" [{label}]"))
        }
    };
    lines.push(
        Line::from(vec![
            button(" Cancel ", confirm.choice == Choice::Cancel),
            Span::raw("   "),
            button(remove_label, confirm.choice == Choice::Remove),
        ])
        .centered(),
    );
    let keys = if confirm.second_stage {
        "Y (shift-y) remove anyway · n/esc cancel · ←/→ choose"
    } else {
        "y remove · n/esc cancel · ←/→ choose"
    };
    lines.push(Line::styled(keys, theme.dim()).centered());
    let title = if confirm.second_stage {
        " Confirm again "
    } else {
        " Confirm kick "
    };
    let height = lines.len() as u16 + 4;
    let rect = centered(area, width, height);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Double)
        .border_style(if confirm.risk.is_some() {
            theme.error()
        } else {
            theme.border(true)
        })
        .title(Line::styled(title, theme.title()));
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block.padding(ratatui::widgets::Padding::horizontal(1))),
        rect,
    );
}
