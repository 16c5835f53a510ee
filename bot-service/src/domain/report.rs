//! What a buyer types when reporting codes, and what an admin types when acting on a report:
//! the codes' positions (as numbered in the delivery, never the codes themselves) and notes.

use shared_proto::ReportReason;

use super::i18n::Lang;
use crate::tr;

/// Highest position a report can name: the largest package has 50 codes.
pub const MAX_POSITION: u32 = 50;
/// Longest note a buyer may give (the payment-service refuses longer ones).
pub const MAX_NOTE_CHARS: usize = 500;
/// Longest reason an admin may give for rejecting a report.
pub const MAX_REJECTION_CHARS: usize = 500;
/// Longest text accepted in a positions input (`1, 2, 3, …, 50` is 140 characters).
pub const MAX_POSITIONS_CHARS: usize = 200;

/// Which codes of an order: every one, or these positions (1-based, sorted, each once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Positions {
    All,
    Some(Vec<u32>),
}

impl Positions {
    /// As `report.create` / `admin.report.action` carry them: none means all.
    pub fn into_wire(self) -> Vec<u32> {
        match self {
            Positions::All => Vec::new(),
            Positions::Some(p) => p,
        }
    }
}

/// Why a positions text was refused. Carries the offending piece, cut short.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PositionsError {
    Empty,
    NotANumber(String),
    OutOfRange(u32),
}

impl PositionsError {
    pub fn message(&self, lang: Lang) -> String {
        match self {
            PositionsError::Empty => tr!(lang, "report-positions-empty"),
            PositionsError::NotANumber(text) => {
                tr!(lang, "report-positions-not-a-number", text = text.as_str())
            }
            PositionsError::OutOfRange(n) => tr!(
                lang,
                "report-positions-out-of-range",
                position = *n,
                max = MAX_POSITION
            ),
        }
    }
}

/// Reads `2, 4`, `2 4 7` or `all` / `semua` (any case). Numbers are 1 to [`MAX_POSITION`],
/// separated by commas and/or spaces; anything else is refused, nothing is guessed.
pub fn parse_positions(text: &str) -> Result<Positions, PositionsError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(PositionsError::Empty);
    }
    if text.eq_ignore_ascii_case("all") || text.eq_ignore_ascii_case("semua") {
        return Ok(Positions::All);
    }
    let mut positions = Vec::new();
    for piece in text
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|p| !p.is_empty())
    {
        if !piece.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PositionsError::NotANumber(piece.chars().take(20).collect()));
        }
        // Only digits: a failed parse is a number too large for u32.
        let n = piece.parse::<u32>().unwrap_or(u32::MAX);
        if !(1..=MAX_POSITION).contains(&n) {
            return Err(PositionsError::OutOfRange(n));
        }
        positions.push(n);
    }
    if positions.is_empty() {
        return Err(PositionsError::Empty);
    }
    positions.sort_unstable();
    positions.dedup();
    Ok(Positions::Some(positions))
}

/// What an admin typed for Replace or Refund: empty means every code still open.
pub fn parse_admin_positions(text: &str) -> Result<Positions, PositionsError> {
    if text.trim().is_empty() {
        return Ok(Positions::All);
    }
    parse_positions(text)
}

/// The buyer's note, trimmed; `None` when empty. "Other" needs one.
pub fn buyer_note(reason: ReportReason, text: &str) -> Result<Option<String>, NoteError> {
    let note = text.trim();
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err(NoteError::TooLong);
    }
    match (reason, note.is_empty()) {
        (ReportReason::Other, true) => Err(NoteError::Required),
        (_, true) => Ok(None),
        (_, false) => Ok(Some(note.to_string())),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteError {
    Required,
    TooLong,
}

impl NoteError {
    pub fn message(self, lang: Lang) -> String {
        match self {
            NoteError::Required => tr!(lang, "report-note-required"),
            NoteError::TooLong => tr!(lang, "report-note-too-long", max = MAX_NOTE_CHARS),
        }
    }
}

/// `#2, #4` — positions as the delivery numbered them.
pub fn positions_list(positions: &[u32]) -> String {
    positions
        .iter()
        .map(|p| format!("#{p}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_numbers_separated_by_commas_or_spaces() {
        assert_eq!(parse_positions("2,4"), Ok(Positions::Some(vec![2, 4])));
        assert_eq!(parse_positions(" 4, 2 "), Ok(Positions::Some(vec![2, 4])));
        assert_eq!(
            parse_positions("7 1  3"),
            Ok(Positions::Some(vec![1, 3, 7]))
        );
        assert_eq!(parse_positions("2,, 2"), Ok(Positions::Some(vec![2])));
        assert_eq!(parse_positions("1,50"), Ok(Positions::Some(vec![1, 50])));
        for all in ["all", "ALL", " Semua "] {
            assert_eq!(parse_positions(all), Ok(Positions::All), "{all}");
        }
    }

    #[test]
    fn anything_else_is_refused() {
        assert_eq!(parse_positions("  "), Err(PositionsError::Empty));
        assert_eq!(parse_positions(", ,"), Err(PositionsError::Empty));
        assert_eq!(parse_positions("0"), Err(PositionsError::OutOfRange(0)));
        assert_eq!(parse_positions("2,51"), Err(PositionsError::OutOfRange(51)));
        assert_eq!(
            parse_positions("99999999999"),
            Err(PositionsError::OutOfRange(u32::MAX))
        );
        for bad in ["2-4", "#2", "2;4", "two", "-1", "+3", "all 2", "2.0", "１"] {
            assert!(
                matches!(parse_positions(bad), Err(PositionsError::NotANumber(_))),
                "{bad} was accepted"
            );
        }
        for lang in Lang::ALL {
            let text = parse_positions("x").unwrap_err().message(lang);
            assert!(text.contains('x') && !text.starts_with("report-"), "{text}");
        }
    }

    #[test]
    fn an_admin_leaving_positions_empty_means_every_open_code() {
        assert_eq!(parse_admin_positions(""), Ok(Positions::All));
        assert_eq!(parse_admin_positions("3"), Ok(Positions::Some(vec![3])));
        assert!(parse_admin_positions("x").is_err());
        assert_eq!(Positions::All.into_wire(), Vec::<u32>::new());
    }

    #[test]
    fn other_needs_a_note_and_notes_are_bounded() {
        assert_eq!(
            buyer_note(ReportReason::Other, "  "),
            Err(NoteError::Required)
        );
        assert_eq!(buyer_note(ReportReason::AlreadyUsed, " "), Ok(None));
        assert_eq!(
            buyer_note(ReportReason::Invalid, " says not found "),
            Ok(Some("says not found".into()))
        );
        assert_eq!(
            buyer_note(ReportReason::Invalid, &"x".repeat(501)),
            Err(NoteError::TooLong)
        );
        assert_eq!(positions_list(&[2, 4]), "#2, #4");
    }
}
