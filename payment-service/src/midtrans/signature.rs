//! Midtrans notification signatures: `signature_key` = lowercase hex SHA-512 of
//! `order_id + status_code + gross_amount + server_key`, over the strings exactly as received.
//!
//! The comparison is constant-time and the server key never leaves this module in any form
//! other than the digest; nothing here logs.

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha512};
use subtle::ConstantTimeEq;

fn digest(order_id: &str, status_code: &str, gross_amount: &str, server_key: &str) -> [u8; 64] {
    let mut hasher = Sha512::new();
    hasher.update(order_id.as_bytes());
    hasher.update(status_code.as_bytes());
    hasher.update(gross_amount.as_bytes());
    hasher.update(server_key.as_bytes());
    hasher.finalize().into()
}

/// The signature Midtrans would send for these fields (lowercase hex).
pub fn signature_key(
    order_id: &str,
    status_code: &str,
    gross_amount: &str,
    server_key: &SecretString,
) -> String {
    hex::encode(digest(
        order_id,
        status_code,
        gross_amount,
        server_key.expose_secret(),
    ))
}

/// Whether `received` is the signature of these fields. Constant-time in the digest bytes; a
/// value that is not 128 hex characters is refused without comparing.
pub fn verify(
    order_id: &str,
    status_code: &str,
    gross_amount: &str,
    server_key: &SecretString,
    received: &str,
) -> bool {
    let Ok(received) = hex::decode(received.trim()) else {
        return false;
    };
    if received.len() != 64 {
        return false;
    }
    let expected = digest(
        order_id,
        status_code,
        gross_amount,
        server_key.expose_secret(),
    );
    expected.as_slice().ct_eq(received.as_slice()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str) -> SecretString {
        SecretString::from(k.to_string())
    }

    #[test]
    fn known_answer_from_midtrans_php_example() {
        let k = key("askvnoibnosifnboseofinbofinfgbiufglnbfg");
        let expected = "edc076b21793ebe3e17926350f5b8ae67d902fe657b3d0aa31b932d5c127e2375d308a2bc94f3265ac2d80a1f181a79b997ac178a236fcff35af263fc4d4c231";
        assert_eq!(signature_key("1111", "200", "100000.00", &k), expected);
        assert!(verify("1111", "200", "100000.00", &k, expected));
        assert!(verify(
            "1111",
            "200",
            "100000.00",
            &k,
            &expected.to_uppercase()
        ));
    }

    #[test]
    fn any_change_breaks_the_signature() {
        let k = key("askvnoibnosifnboseofinbofinfgbiufglnbfg");
        let good = signature_key("1111", "200", "100000.00", &k);
        assert!(!verify("1111", "200", "100001.00", &k, &good));
        assert!(!verify("1112", "200", "100000.00", &k, &good));
        assert!(!verify("1111", "201", "100000.00", &k, &good));
        assert!(!verify("1111", "200", "100000.00", &key("other"), &good));
        assert!(!verify("1111", "200", "100000.00", &k, &good[..64]));
        assert!(!verify("1111", "200", "100000.00", &k, "not hex"));
        assert!(!verify("1111", "200", "100000.00", &k, ""));
    }

    #[test]
    fn shared_samples_resigned_with_the_test_key() {
        let k = key("SB-Mid-server-TEST");
        for (order_id, gross, expected) in [
            ("qris-01", "5539.00", "08c38188bcfc2f3aded4c6ad9856fc192c844fc844a5b67285aae08f7d45c986720efdc5ab0618a8c7a7b9bfb33e003404f80b1bedc1d947b49506ea87ce3d4c"),
            ("Shuttle-61a7aeb5647f7", "145000.00", "ed5a4a9e76cd7236048082267de541f243a4a24e673ad0460a9c70746f67f8045a11f66f6889cf9bf256b47e5c1a3e580b6ea1fe7cf0660679c66ed396a6c77b"),
        ] {
            assert_eq!(signature_key(order_id, "200", gross, &k), expected, "{order_id}");
        }
    }
}
