//! Renders a QRIS payload as a PNG the bot attaches to the top-up message.

use image::{ImageFormat, Luma};
use qrcode::QrCode;

#[derive(Debug, thiserror::Error)]
pub enum QrError {
    #[error("the QR payload cannot be encoded: {0}")]
    Encode(#[from] qrcode::types::QrError),
    #[error("the QR image cannot be written as PNG: {0}")]
    Png(#[from] image::ImageError),
}

/// A PNG of `payload`, at least `min_px` wide, with the quiet zone scanners need.
pub fn render_png(payload: &str, min_px: u32) -> Result<Vec<u8>, QrError> {
    let code = QrCode::new(payload.as_bytes())?;
    let img = code
        .render::<Luma<u8>>()
        .min_dimensions(min_px, min_px)
        .quiet_zone(true)
        .build();
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, ImageFormat::Png)?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_real_png() {
        let payload = "00020101021226620014COM.GO-JEK.WWW01189360091434506469550210G4506469550303UMI51440014ID.CO.QRIS.WWW0215ID10243341364120303UMI5204569753033605405500005802ID5920Redfinger Shop6007JAKARTA61051234062070703A016304ABCD";
        let png = render_png(payload, 300).unwrap();
        assert!(png.len() > 100);
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        // IHDR: width and height as big-endian u32 at bytes 16..24.
        let width = u32::from_be_bytes([png[16], png[17], png[18], png[19]]);
        let height = u32::from_be_bytes([png[20], png[21], png[22], png[23]]);
        assert!(width >= 300 && width == height, "{width}x{height}");
        let decoded = image::load_from_memory(&png).unwrap();
        assert_eq!(decoded.width(), width);
    }

    #[test]
    fn oversized_payload_is_an_error_not_a_panic() {
        assert!(render_png(&"x".repeat(10_000), 100).is_err());
    }
}
