//! Parsing an admin's stock upload: one code a line. Pure; never panics on any input.
//!
//! Lines are trimmed (CRLF included); blank lines and lines starting with `#` are skipped; every
//! other line is either a code or rejected with its 1-based number and a reason. Duplicates are
//! not decided here (they need the keyed hash and the table), only well-formedness.

use shared_proto::RejectedLine;

/// Longest accepted code, in characters. Redfinger codes are far shorter; anything longer is a
/// pasted paragraph, not a code.
pub const MAX_CODE_LEN: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParsedUpload {
    /// Codes in upload order, each with its line number.
    pub codes: Vec<(u32, String)>,
    pub rejected: Vec<RejectedLine>,
}

pub fn parse_upload(text: &str) -> ParsedUpload {
    let mut out = ParsedUpload::default();
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // `lines()` splits on `\n` and drops the `\r` of a CRLF, so line numbers match an editor's.
    for (index, raw) in text.lines().enumerate() {
        let line = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let code = raw.trim();
        if code.is_empty() || code.starts_with('#') {
            continue;
        }
        match check_code(code) {
            Ok(()) => out.codes.push((line, code.to_string())),
            Err(reason) => out.rejected.push(RejectedLine { line, reason }),
        }
    }
    out
}

fn check_code(code: &str) -> Result<(), String> {
    let len = code.chars().count();
    if len > MAX_CODE_LEN {
        return Err(format!(
            "too long ({len} characters, at most {MAX_CODE_LEN})"
        ));
    }
    if code.chars().any(char::is_whitespace) {
        return Err("contains whitespace inside the code".into());
    }
    if code.chars().any(char::is_control) {
        return Err("contains a non-printable character".into());
    }
    if !code.is_ascii() {
        return Err("contains a non-ASCII character".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn skips_blanks_and_comments_and_trims() {
        let p = parse_upload("# header\n\n  AAA-111  \r\nBBB222\r\n\t\n#x\nCCC");
        assert_eq!(
            p.codes,
            vec![
                (3, "AAA-111".into()),
                (4, "BBB222".into()),
                (7, "CCC".into())
            ]
        );
        assert!(p.rejected.is_empty());
    }

    #[test]
    fn crlf_line_numbers_count_each_line_once() {
        let p = parse_upload("A1\r\nB2\r\nbad code\r\nC3\r\n");
        let lines: Vec<u32> = p.codes.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, vec![1, 2, 4]);
        assert_eq!(p.rejected[0].line, 3);
    }

    #[test]
    fn rejects_with_line_number_and_reason() {
        let long = "X".repeat(MAX_CODE_LEN + 1);
        let text = format!("OK1\nhas space\n{long}\nbell\u{7}\nkode\u{e9}\n\u{feff}BOM\n");
        let p = parse_upload(&text);
        assert_eq!(p.codes, vec![(1, "OK1".into())]);
        let reasons: Vec<(u32, &str)> = p
            .rejected
            .iter()
            .map(|r| (r.line, r.reason.as_str()))
            .collect();
        assert_eq!(reasons[0], (2, "contains whitespace inside the code"));
        assert_eq!(reasons[1].0, 3);
        assert!(reasons[1].1.starts_with("too long (65 characters"));
        assert_eq!(reasons[2], (4, "contains a non-printable character"));
        assert_eq!(reasons[3], (5, "contains a non-ASCII character"));
        // A BOM is stripped only at the very start of the upload.
        assert_eq!(reasons[4], (6, "contains a non-ASCII character"));
        assert!(
            !p.rejected.iter().any(|r| r.reason.contains("has space")),
            "reasons never echo codes"
        );
    }

    #[test]
    fn leading_bom_and_empty_input() {
        assert_eq!(parse_upload("\u{feff}A1\n").codes, vec![(1, "A1".into())]);
        assert_eq!(parse_upload(""), ParsedUpload::default());
        assert_eq!(
            parse_upload("\n\n# only comments\n"),
            ParsedUpload::default()
        );
    }

    #[test]
    fn hundred_thousand_lines() {
        let text: String = (0..100_000).map(|i| format!("CODE{i:06}\n")).collect();
        let p = parse_upload(&text);
        assert_eq!(p.codes.len(), 100_000);
        assert_eq!(p.codes[99_999].0, 100_000);
    }

    proptest! {
        #[test]
        fn never_panics_and_accounts_for_every_line(text in "\\PC*|[\\x00-\\x7f\\r\\n ]*") {
            let p = parse_upload(&text);
            for (_, code) in &p.codes {
                prop_assert!(!code.is_empty() && code.len() <= MAX_CODE_LEN);
                prop_assert!(!code.starts_with('#'));
                prop_assert!(code.chars().all(|c| c.is_ascii_graphic()));
            }
        }
    }
}
