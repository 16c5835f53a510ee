//! A small `multipart/form-data` reader for the bodies serenity sends (`files[n]` + `payload_json`).
//!
//! Hand-written rather than a crate because the fake only needs to split parts and keep their raw
//! bytes for assertions; it never streams or validates beyond that.

/// One part of a multipart body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    /// The form field name, e.g. `files[0]` or `payload_json`.
    pub name: String,
    /// The file name, for file parts.
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

impl Part {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// The boundary from a `Content-Type: multipart/form-data; boundary=...` header value.
pub fn boundary(content_type: &str) -> Option<String> {
    if !content_type
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("multipart/")
    {
        return None;
    }
    content_type.split(';').find_map(|param| {
        let (key, value) = param.split_once('=')?;
        (key.trim().eq_ignore_ascii_case("boundary"))
            .then(|| value.trim().trim_matches('"').to_string())
    })
}

/// Splits `body` into parts; `None` when it is not well-formed multipart.
pub fn parse(body: &[u8], boundary: &str) -> Option<Vec<Part>> {
    let delimiter = format!("--{boundary}").into_bytes();
    let mut parts = Vec::new();
    let mut rest = &body[find(body, &delimiter)? + delimiter.len()..];
    loop {
        if rest.starts_with(b"--") {
            return Some(parts);
        }
        rest = rest.strip_prefix(b"\r\n")?;
        let next = find(rest, &delimiter)?;
        let raw = rest[..next].strip_suffix(b"\r\n")?;
        parts.push(parse_part(raw)?);
        rest = &rest[next + delimiter.len()..];
    }
}

fn parse_part(raw: &[u8]) -> Option<Part> {
    let split = find(raw, b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let bytes = raw[split + 4..].to_vec();
    let mut name = None;
    let mut filename = None;
    let mut content_type = None;
    for line in head.split("\r\n") {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        if key.trim().eq_ignore_ascii_case("content-disposition") {
            for param in value.split(';') {
                if let Some((k, v)) = param.split_once('=') {
                    let v = v.trim().trim_matches('"').to_string();
                    match k.trim() {
                        "name" => name = Some(v),
                        "filename" => filename = Some(v),
                        _ => {}
                    }
                }
            }
        } else if key.trim().eq_ignore_ascii_case("content-type") {
            content_type = Some(value.trim().to_string());
        }
    }
    Some(Part {
        name: name?,
        filename,
        content_type,
        bytes,
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_payload_json_and_file_parts() {
        let body = b"--XX\r\nContent-Disposition: form-data; name=\"files[0]\"; filename=\"codes.txt\"\r\nContent-Type: text/plain\r\n\r\nA\r\nB\r\n--XX\r\nContent-Disposition: form-data; name=\"payload_json\"\r\n\r\n{\"content\":\"hi\"}\r\n--XX--\r\n";
        let parts = parse(body, "XX").unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "files[0]");
        assert_eq!(parts[0].filename.as_deref(), Some("codes.txt"));
        assert_eq!(parts[0].bytes, b"A\r\nB");
        assert_eq!(parts[1].text(), "{\"content\":\"hi\"}");
    }

    #[test]
    fn reads_boundary_from_content_type() {
        assert_eq!(
            boundary("multipart/form-data; boundary=abc123").as_deref(),
            Some("abc123")
        );
        assert_eq!(boundary("application/json"), None);
    }
}
