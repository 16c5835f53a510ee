//! Known answers for the signature and the three published notification samples.

use midtrans_simulator::{notification_body, resign, signature_key, NotificationSpec};
use serde_json::Value;

use crate::helpers::{correctly_signed, SERVER_KEY};

/// The fixtures copy is what CI reads; the shared originals are compared when present.
fn sample(name: &str) -> Value {
    let fixture = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&fixture).expect("fixture present");
    let shared = format!(
        "{}/../../../shared/midtrans/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    if let Ok(original) = std::fs::read_to_string(shared) {
        assert_eq!(
            text, original,
            "fixture {name} drifted from the shared sample"
        );
    }
    serde_json::from_str(&text).expect("sample is JSON")
}

#[test]
fn known_answer_vector_from_midtrans_docs() {
    assert_eq!(
        signature_key("1111", "200", "100000.00", "askvnoibnosifnboseofinbofinfgbiufglnbfg"),
        "edc076b21793ebe3e17926350f5b8ae67d902fe657b3d0aa31b932d5c127e2375d308a2bc94f3265ac2d80a1f181a79b997ac178a236fcff35af263fc4d4c231"
    );
}

fn resigned(name: &str) -> String {
    let body = sample(name);
    let field = |f: &str| body[f].as_str().expect("string field").to_owned();
    signature_key(
        &field("order_id"),
        &field("status_code"),
        &field("gross_amount"),
        SERVER_KEY,
    )
}

#[test]
fn qris_docs_sample_resigns_to_the_published_value() {
    assert_eq!(
        resigned("qris-settlement-docs.json"),
        "08c38188bcfc2f3aded4c6ad9856fc192c844fc844a5b67285aae08f7d45c986720efdc5ab0618a8c7a7b9bfb33e003404f80b1bedc1d947b49506ea87ce3d4c"
    );
}

#[test]
fn gopay_pos_sample_resigns_to_the_published_value() {
    assert_eq!(
        resigned("qris-settlement-gopay-pos.json"),
        "0fe882d2595b1dbff2881ea11b3bd13542d3df57bba34e0841a6c1271930ce4d3f7f112e572a6d2ad2d543c06b35fbd9beb4c6d4ad8ccd5117b80883fa8cdaa5"
    );
}

#[test]
fn bank_transfer_sample_resigns_to_the_published_value() {
    assert_eq!(
        resigned("bank-transfer-settlement-sandbox.json"),
        "ed5a4a9e76cd7236048082267de541f243a4a24e673ad0460a9c70746f67f8045a11f66f6889cf9bf256b47e5c1a3e580b6ea1fe7cf0660679c66ed396a6c77b"
    );
}

#[test]
fn resign_helper_rewrites_a_sample_in_place() {
    let mut body = sample("qris-settlement-docs.json");
    resign(&mut body, SERVER_KEY);
    assert!(correctly_signed(&body, SERVER_KEY));
    assert_eq!(
        body["signature_key"],
        "08c38188bcfc2f3aded4c6ad9856fc192c844fc844a5b67285aae08f7d45c986720efdc5ab0618a8c7a7b9bfb33e003404f80b1bedc1d947b49506ea87ce3d4c"
    );
}

#[test]
fn built_notifications_have_every_field_of_the_docs_sample() {
    let docs = sample("qris-settlement-docs.json");
    let body = notification_body(
        &NotificationSpec::new("ORDER-42-1700000000", "settlement", 50_000),
        SERVER_KEY,
    );
    for key in docs.as_object().expect("object").keys() {
        assert!(body.get(key).is_some(), "missing {key}");
    }
    assert_eq!(body["gross_amount"], "50000.00");
    assert_eq!(body["status_code"], "200");
    assert_eq!(body["payment_type"], "qris");
    assert!(correctly_signed(&body, SERVER_KEY));
}

#[test]
fn built_pending_notification_has_no_settlement_time() {
    let body = notification_body(&NotificationSpec::new("o-1", "pending", 10_000), SERVER_KEY);
    assert_eq!(body["status_code"], "201");
    assert!(body.get("settlement_time").is_none());
}
