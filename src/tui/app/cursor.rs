//! Cursors that follow a row's id through a list that changes under them.

/// A cursor that follows a row's id; `hint` is where it was, for when the row disappears.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Cursor {
    pub id: Option<String>,
    pub(crate) hint: usize,
}

/// The cursor after the rows changed: same id if it is still there, else the row now at its
/// old place, else nothing.
pub(super) fn follow(ids: &[&str], cursor: &Cursor) -> Cursor {
    if let Some(id) = cursor.id.as_deref()
        && let Some(index) = ids.iter().position(|i| *i == id)
    {
        return Cursor {
            id: cursor.id.clone(),
            hint: index,
        };
    }
    match ids.get(cursor.hint.min(ids.len().saturating_sub(1))) {
        Some(id) => Cursor {
            id: Some(id.to_string()),
            hint: cursor.hint.min(ids.len() - 1),
        },
        None => Cursor::default(),
    }
}

pub(super) fn step(ids: &[&str], cursor: &Cursor, delta: isize) -> Cursor {
    if ids.is_empty() {
        return Cursor::default();
    }
    let current = follow(ids, cursor).hint as isize;
    let index = current
        .saturating_add(delta)
        .clamp(0, ids.len() as isize - 1) as usize;
    Cursor {
        id: Some(ids[index].to_string()),
        hint: index,
    }
}
