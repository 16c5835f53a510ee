//! Property tests: no input makes a decoder panic; valid messages survive any round trip.

use proptest::prelude::*;
use shared_proto::*;

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Envelope::<Command>::from_bytes(&bytes);
        let _ = Envelope::<Event>::from_bytes(&bytes);
        let _ = Envelope::<Reply>::from_bytes(&bytes);
    }

    #[test]
    fn arbitrary_payloads_in_a_valid_envelope_never_panic(
        ty in prop::sample::select(vec!["order.create", "topup.create", "admin.stock.add", "delivery.requested", "reply.order.create"]),
        payload in "\\PC{0,200}",
        version in 0u16..4,
    ) {
        let doc = serde_json::json!({
            "message_id": "01937a1e-0000-7000-8000-000000000002",
            "correlation_id": "01937a1e-0000-7000-8000-000000000001",
            "type": ty,
            "schema_version": version,
            "timestamp": "2026-11-25T10:30:00Z",
            "payload": serde_json::from_str::<serde_json::Value>(&payload).unwrap_or(serde_json::Value::String(payload.clone())),
        });
        let bytes = serde_json::to_vec(&doc).unwrap();
        let _ = Envelope::<Command>::from_bytes(&bytes);
        let _ = Envelope::<Event>::from_bytes(&bytes);
        let _ = Envelope::<Reply>::from_bytes(&bytes);
    }

    #[test]
    fn order_requests_round_trip(uid in 1u64..=(i64::MAX as u64), idx in 0usize..5, rid in "[0-9]{1,20}", name in proptest::option::of("\\PC{0,32}"), pid in 1i64..=i64::MAX, price in proptest::option::of(1i64..=10_000_000_000)) {
        let cmd = Command::OrderCreate(OrderCreate {
            request_id: rid,
            user: UserRef { user_id: DiscordUserId::new(uid).unwrap(), username: name, locale: None },
            package: PackageSize::ALL[idx],
            interaction: None,
            product_id: shared_proto::ProductId(pid),
            confirmed_price: price.map(shared_proto::Idr::new),
        });
        let env = Envelope::new(cmd);
        let back = Envelope::<Command>::from_bytes(&env.to_bytes()).unwrap();
        prop_assert_eq!(back, env);
    }
}
