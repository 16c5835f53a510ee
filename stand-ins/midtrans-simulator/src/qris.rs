//! A realistic dynamic QRIS payload (EMVCo merchant-presented QR, Indonesian profile).
//!
//! Only the shape matters to the bot, which renders `qr_string` itself; the merchant identifiers
//! are made up and no real wallet will pay it.

/// Builds the EMV tag-length-value string for a dynamic QRIS asking for `amount` rupiah, with
/// the CRC-16/CCITT-FALSE checksum in tag 63 as scanners require.
pub fn qr_string(merchant_id: &str, transaction_id: &str, amount: i64) -> String {
    let reference: String = transaction_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(25)
        .collect();
    let merchant_account = [
        tlv("00", "COM.GO-JEK.WWW"),
        tlv("01", "936009140000000001"),
        tlv("02", merchant_id),
        tlv("03", "UMI"),
    ]
    .concat();
    let qris_domestic = [
        tlv("00", "ID.CO.QRIS.WWW"),
        tlv("02", "ID1020000000001"),
        tlv("03", "UMI"),
    ]
    .concat();
    let mut payload = [
        tlv("00", "01"),
        tlv("01", "12"),
        tlv("26", &merchant_account),
        tlv("51", &qris_domestic),
        tlv("52", "5815"),
        tlv("53", "360"),
        tlv("54", &amount.to_string()),
        tlv("58", "ID"),
        tlv("59", "REDFINGER SIMULATOR"),
        tlv("60", "JAKARTA SELATAN"),
        tlv("61", "12190"),
        tlv("62", &tlv("05", &reference)),
    ]
    .concat();
    payload.push_str("6304");
    let crc = crc16_ccitt_false(payload.as_bytes());
    payload.push_str(&format!("{crc:04X}"));
    payload
}

/// The QR code of `payload` as a PNG, what `actions[].url` (`generate-qr-code`) serves.
pub fn qr_png(payload: &str) -> anyhow::Result<Vec<u8>> {
    let code = qrcode::QrCode::new(payload.as_bytes())?;
    let image = code
        .render::<image::Luma<u8>>()
        .min_dimensions(300, 300)
        .build();
    let mut png = std::io::Cursor::new(Vec::new());
    image.write_to(&mut png, image::ImageFormat::Png)?;
    Ok(png.into_inner())
}

fn tlv(tag: &str, value: &str) -> String {
    // EMV lengths are two decimal digits; every value built here is far below 100 characters.
    format!("{tag}{:02}{value}", value.len().min(99))
}

fn crc16_ccitt_false(data: &[u8]) -> u16 {
    let mut crc: u16 = 0xFFFF;
    for &byte in data {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_the_standard_check_value() {
        assert_eq!(crc16_ccitt_false(b"123456789"), 0x29B1);
    }

    #[test]
    fn png_is_a_png() {
        let png = qr_png(&qr_string("G123456789", "abc", 10_000)).unwrap();
        assert!(png.starts_with(b"\x89PNG"));
    }

    #[test]
    fn payload_carries_amount_and_checksum() {
        let qr = qr_string("G123456789", "513f1f01-c9da-474c-9fc9-d5c64364b709", 50_000);
        assert!(qr.starts_with("000201010212"));
        assert!(qr.contains("540550000"));
        let (body, crc) = qr.split_at(qr.len() - 4);
        assert!(body.ends_with("6304"));
        assert_eq!(crc, format!("{:04X}", crc16_ccitt_false(body.as_bytes())));
    }
}
