//! `multipart/form-data` bodies (serenity sends `files[n]` + `payload_json`), read with `multer`
//! into parts whose raw bytes tests can assert on and whose `payload_json` is validated like a
//! JSON body.

use std::convert::Infallible;

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

/// Splits a multipart body into its parts. `None` when the content type is not multipart or the
/// body is not well-formed multipart (the caller then keeps it as opaque text).
pub async fn parse(content_type: &str, body: &[u8]) -> Option<Vec<Part>> {
    let boundary = multer::parse_boundary(content_type).ok()?;
    let bytes = actix_web::web::Bytes::copy_from_slice(body);
    let stream = futures::stream::once(async move { Ok::<_, Infallible>(bytes) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut parts = Vec::new();
    while let Some(field) = multipart.next_field().await.ok()? {
        let name = field.name()?.to_string();
        let filename = field.file_name().map(str::to_string);
        let content_type = field.content_type().map(ToString::to_string);
        let bytes = field.bytes().await.ok()?.to_vec();
        parts.push(Part {
            name,
            filename,
            content_type,
            bytes,
        });
    }
    Some(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn splits_payload_json_and_file_parts() {
        let body = b"--XX\r\nContent-Disposition: form-data; name=\"files[0]\"; filename=\"codes.txt\"\r\nContent-Type: text/plain\r\n\r\nA\r\nB\r\n--XX\r\nContent-Disposition: form-data; name=\"payload_json\"\r\n\r\n{\"content\":\"hi\"}\r\n--XX--\r\n";
        let parts = parse("multipart/form-data; boundary=XX", body)
            .await
            .unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "files[0]");
        assert_eq!(parts[0].filename.as_deref(), Some("codes.txt"));
        assert_eq!(parts[0].content_type.as_deref(), Some("text/plain"));
        assert_eq!(parts[0].bytes, b"A\r\nB");
        assert_eq!(parts[1].text(), "{\"content\":\"hi\"}");
    }

    #[tokio::test]
    async fn refuses_what_is_not_multipart() {
        assert_eq!(parse("application/json", b"{}").await, None);
        let unterminated = b"--XX\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nno end";
        assert_eq!(
            parse("multipart/form-data; boundary=XX", unterminated).await,
            None
        );
    }
}
