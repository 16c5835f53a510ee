//! The gateway is as strict as Discord's, seen by raw websocket clients: heartbeats enforced and
//! requested, RESUME replaying missed events at `resume_gateway_url`, intents checked, and
//! zlib-stream / payload compression.

use std::io::Read as _;
use std::time::Duration;

use fake_discord::{FakeDiscord, FakeDiscordConfig, FakeUser, GatewayOptions, RunningFake};
use flate2::{Decompress, FlushDecompress};
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use serenity::all::{Event, GatewayEvent};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

const WAIT: Duration = Duration::from_secs(5);

/// A raw client and how it reads frames.
struct Client {
    ws: Ws,
    /// One inflater for the whole connection when it asked for `compress=zlib-stream`.
    zlib: Option<Decompress>,
}

/// What came in: a payload, or a close frame with its code (`None` for a dropped socket).
#[derive(Debug)]
enum Incoming {
    Payload(Value),
    Closed(Option<u16>),
}

impl Client {
    async fn connect(url: &str, zlib_stream: bool) -> Client {
        let query = if zlib_stream {
            "?v=10&encoding=json&compress=zlib-stream"
        } else {
            "?v=10&encoding=json"
        };
        let (ws, _) = tokio_tungstenite::connect_async(format!("{url}/{query}"))
            .await
            .expect("the gateway accepts the websocket");
        let mut client = Client {
            ws,
            zlib: zlib_stream.then(|| Decompress::new(true)),
        };
        let hello = client.payload().await;
        assert_eq!(hello["op"], 10, "{hello}");
        client
    }

    async fn send(&mut self, payload: Value) {
        self.ws
            .send(Message::Text(payload.to_string()))
            .await
            .expect("sent");
    }

    async fn next(&mut self) -> Incoming {
        loop {
            let msg = match tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("a frame in time")
            {
                Some(Ok(m)) => m,
                Some(Err(_)) | None => return Incoming::Closed(None),
            };
            match msg {
                Message::Text(text) => {
                    assert!(self.zlib.is_none(), "zlib-stream frames must be binary");
                    return Incoming::Payload(serde_json::from_str(&text).unwrap());
                }
                Message::Binary(bytes) => {
                    let text = match self.zlib.as_mut() {
                        Some(zlib) => {
                            assert!(
                                bytes.ends_with(&[0, 0, 0xff, 0xff]),
                                "each frame ends with a sync flush"
                            );
                            let start = zlib.total_in();
                            let mut out = Vec::with_capacity(bytes.len() * 8 + 1024);
                            loop {
                                let used = usize::try_from(zlib.total_in() - start).unwrap();
                                zlib.decompress_vec(
                                    &bytes[used..],
                                    &mut out,
                                    FlushDecompress::Sync,
                                )
                                .unwrap();
                                let used = usize::try_from(zlib.total_in() - start).unwrap();
                                if used == bytes.len() && out.len() < out.capacity() {
                                    break;
                                }
                                out.reserve(out.capacity().max(1024));
                            }
                            String::from_utf8(out).unwrap()
                        }
                        None => {
                            // Payload compression: each frame is a whole zlib stream.
                            let mut text = String::new();
                            flate2::read::ZlibDecoder::new(&bytes[..])
                                .read_to_string(&mut text)
                                .unwrap();
                            text
                        }
                    };
                    return Incoming::Payload(serde_json::from_str(&text).unwrap());
                }
                Message::Close(frame) => return Incoming::Closed(frame.map(|f| f.code.into())),
                _ => continue,
            }
        }
    }

    async fn payload(&mut self) -> Value {
        match self.next().await {
            Incoming::Payload(v) => v,
            Incoming::Closed(code) => panic!("closed with {code:?}"),
        }
    }

    async fn closed(&mut self) -> Option<u16> {
        loop {
            match self.next().await {
                Incoming::Closed(code) => return code,
                Incoming::Payload(p) if p["op"] == 0 || p["op"] == 11 => continue,
                Incoming::Payload(p) => panic!("expected a close, got {p}"),
            }
        }
    }

    async fn identify(&mut self, intents: Value, compress: bool) {
        self.send(json!({"op": 2, "d": {
            "token": "Bot fake-token", "compress": compress, "large_threshold": 250,
            "intents": intents, "properties": {"os": "linux", "browser": "test", "device": "test"},
        }}))
        .await;
    }

    /// Identifies and reads READY and GUILD_CREATE; returns the session id.
    async fn ready(&mut self) -> String {
        self.identify(json!(1), false).await;
        let ready = self.payload().await;
        assert_eq!(ready["t"], "READY", "{ready}");
        assert_eq!(ready["s"], 1);
        let guild = self.payload().await;
        assert_eq!(guild["t"], "GUILD_CREATE");
        ready["d"]["session_id"].as_str().unwrap().to_string()
    }
}

fn fast_heartbeats() -> FakeDiscordConfig {
    FakeDiscordConfig {
        heartbeat_interval: Duration::from_millis(300),
        gateway: GatewayOptions {
            heartbeat_grace: Duration::from_millis(200),
            heartbeat_request_deadline: Duration::from_millis(300),
            ..GatewayOptions::default()
        },
        ..FakeDiscordConfig::default()
    }
}

async fn resume(client: &mut Client, session_id: &str, seq: u64) {
    client
        .send(json!({"op": 6, "d": {"token": "Bot fake-token", "session_id": session_id, "seq": seq}}))
        .await;
}

#[tokio::test]
async fn a_client_that_stops_heartbeating_is_closed_with_4009_and_cannot_resume() {
    let fake = FakeDiscord::start(fast_heartbeats()).await.unwrap();
    let mut client = Client::connect(&fake.gateway_url(), false).await;
    let session_id = client.ready().await;
    let started = std::time::Instant::now();
    assert_eq!(client.closed().await, Some(4009));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "closed after the interval and the grace, not much later"
    );
    let session = &fake.sessions()[0];
    assert!(!session.connected && session.invalidated);

    let mut again = Client::connect(&fake.resume_gateway_url(), false).await;
    resume(&mut again, &session_id, 2).await;
    let answer = again.payload().await;
    assert_eq!(answer["op"], 9, "a timed-out session is gone: {answer}");
    assert_eq!(answer["d"], false);
}

#[tokio::test]
async fn heartbeats_in_time_are_each_acknowledged_and_keep_the_session() {
    let fake = FakeDiscord::start(fast_heartbeats()).await.unwrap();
    let mut client = Client::connect(&fake.gateway_url(), false).await;
    client.ready().await;
    for _ in 0..6 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        client.send(json!({"op": 1, "d": 2})).await;
        let ack = client.payload().await;
        assert_eq!(ack["op"], 11, "{ack}");
    }
    let session = &fake.sessions()[0];
    assert!(session.connected);
    assert_eq!(session.heartbeats, 6);
}

#[tokio::test]
async fn the_fake_asks_for_a_heartbeat_and_closes_a_client_that_ignores_it() {
    let fake = FakeDiscord::start(FakeDiscordConfig {
        gateway: GatewayOptions {
            heartbeat_request_deadline: Duration::from_millis(300),
            ..GatewayOptions::default()
        },
        ..FakeDiscordConfig::default()
    })
    .await
    .unwrap();
    let mut client = Client::connect(&fake.gateway_url(), false).await;
    client.ready().await;

    assert_eq!(fake.request_heartbeat(), 1);
    let asked = client.payload().await;
    assert_eq!(asked["op"], 1, "{asked}");
    client.send(json!({"op": 1, "d": 2})).await;
    assert_eq!(client.payload().await["op"], 11);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        fake.sessions()[0].connected,
        "an answered request keeps the session"
    );

    fake.request_heartbeat();
    assert_eq!(client.payload().await["op"], 1);
    assert_eq!(client.closed().await, Some(4009), "no answer: closed");
}

#[tokio::test]
async fn resume_at_the_resume_url_replays_the_events_missed_while_disconnected() {
    let fake = FakeDiscord::start(FakeDiscordConfig::default())
        .await
        .unwrap();
    assert_ne!(fake.resume_gateway_url(), fake.gateway_url());
    let mut client = Client::connect(&fake.gateway_url(), false).await;
    client.identify(json!(1), false).await;
    let ready = client.payload().await;
    assert_eq!(
        ready["d"]["resume_gateway_url"],
        json!(fake.resume_gateway_url())
    );
    let session_id = ready["d"]["session_id"].as_str().unwrap().to_string();
    assert_eq!(client.payload().await["s"], 2);

    assert_eq!(fake.disconnect_sessions(None), 1, "TCP dropped");
    assert_eq!(client.closed().await, None);
    let user = FakeUser::new(1_200_000_000_000_000_077, "gap");
    let missed = [
        fake.send_slash_command(&user, "shop", vec![]).unwrap(),
        fake.send_slash_command(&user, "balance", vec![]).unwrap(),
    ];

    let mut back = Client::connect(&fake.resume_gateway_url(), false).await;
    resume(&mut back, &session_id, 2).await;
    for (i, id) in missed.iter().enumerate() {
        let frame = back.payload().await;
        assert_eq!(frame["t"], "INTERACTION_CREATE", "{frame}");
        assert_eq!(frame["s"], 3 + i as u64);
        assert_eq!(frame["d"]["id"], json!(id.to_string()));
        serde_json::from_value::<GatewayEvent>(frame).expect("serenity parses the replay");
    }
    let resumed = back.payload().await;
    assert!(matches!(
        serde_json::from_value::<GatewayEvent>(resumed.clone()).unwrap(),
        GatewayEvent::Dispatch(5, Event::Resumed(_))
    ));
    let session = &fake.sessions()[0];
    assert!(session.connected);
    assert_eq!(
        (
            session.resumed,
            session.resumed_via_resume_url,
            session.replayed
        ),
        (1, 1, 2)
    );

    // Events after the resume continue the sequence.
    fake.send_slash_command(&user, "shop", vec![]).unwrap();
    assert_eq!(back.payload().await["s"], 6);
}

#[tokio::test]
async fn resume_from_a_sequence_no_longer_buffered_gets_op_9() {
    let fake = FakeDiscord::start(FakeDiscordConfig {
        gateway: GatewayOptions {
            replay_buffer: 2,
            ..GatewayOptions::default()
        },
        ..FakeDiscordConfig::default()
    })
    .await
    .unwrap();
    let mut client = Client::connect(&fake.gateway_url(), false).await;
    let session_id = client.ready().await;
    fake.disconnect_sessions(Some(4000));
    assert_eq!(client.closed().await, Some(4000));
    let user = FakeUser::new(1_200_000_000_000_000_078, "late");
    for _ in 0..3 {
        fake.send_slash_command(&user, "shop", vec![]).unwrap();
    }
    let mut back = Client::connect(&fake.resume_gateway_url(), false).await;
    resume(&mut back, &session_id, 2).await;
    let answer = back.payload().await;
    assert_eq!(
        (answer["op"].clone(), answer["d"].clone()),
        (json!(9), json!(false))
    );
}

#[tokio::test]
async fn with_require_resume_url_a_resume_on_the_first_url_is_refused() {
    let fake = FakeDiscord::start(FakeDiscordConfig {
        gateway: GatewayOptions {
            require_resume_url: true,
            ..GatewayOptions::default()
        },
        ..FakeDiscordConfig::default()
    })
    .await
    .unwrap();
    let mut client = Client::connect(&fake.gateway_url(), false).await;
    let session_id = client.ready().await;
    fake.disconnect_sessions(None);
    client.closed().await;

    let mut wrong = Client::connect(&fake.gateway_url(), false).await;
    resume(&mut wrong, &session_id, 2).await;
    assert_eq!(wrong.payload().await["op"], 9);

    let mut right = Client::connect(&fake.resume_gateway_url(), false).await;
    resume(&mut right, &session_id, 2).await;
    assert_eq!(right.payload().await["t"], "RESUMED");
}

#[tokio::test]
async fn intents_are_checked_4013_unknown_4014_privileged_not_enabled() {
    let fake = FakeDiscord::start(FakeDiscordConfig::default())
        .await
        .unwrap();
    for (intents, code) in [
        (json!(1u64 << 30), 4013),
        (Value::Null, 4013),
        (json!(1 | (1 << 1)), 4014),  // GUILD_MEMBERS
        (json!(1 | (1 << 15)), 4014), // MESSAGE_CONTENT
    ] {
        let mut client = Client::connect(&fake.gateway_url(), false).await;
        client.identify(intents.clone(), false).await;
        assert_eq!(client.closed().await, Some(code), "intents {intents}");
    }
    assert!(fake.sessions().is_empty());

    let enabled = FakeDiscord::start(FakeDiscordConfig {
        gateway: GatewayOptions {
            privileged_intents: 1 << 15,
            ..GatewayOptions::default()
        },
        ..FakeDiscordConfig::default()
    })
    .await
    .unwrap();
    let mut client = Client::connect(&enabled.gateway_url(), false).await;
    client
        .identify(json!(1 | (1 << 9) | (1 << 15)), false)
        .await;
    assert_eq!(client.payload().await["t"], "READY");
}

#[tokio::test]
async fn zlib_stream_sends_every_frame_compressed_in_one_context() {
    let fake = FakeDiscord::start(FakeDiscordConfig::default())
        .await
        .unwrap();
    // `Client::next` checks each frame is binary, ends in 00 00 ff ff and inflates in sequence.
    let mut client = Client::connect(&fake.gateway_url(), true).await;
    client.ready().await;
    client.send(json!({"op": 1, "d": 2})).await;
    assert_eq!(client.payload().await["op"], 11);
    let user = FakeUser::new(1_200_000_000_000_000_079, "zipped");
    let id = fake.send_slash_command(&user, "shop", vec![]).unwrap();
    let frame = client.payload().await;
    assert_eq!(frame["d"]["id"], json!(id.to_string()));
    assert!(matches!(
        serde_json::from_value::<GatewayEvent>(frame).unwrap(),
        GatewayEvent::Dispatch(3, Event::InteractionCreate(_))
    ));
    let session = &fake.sessions()[0];
    assert!(session.zlib_stream && !session.payload_compression);
}

#[tokio::test]
async fn identify_with_compress_true_gets_dispatches_as_zlib_binary_frames() {
    let fake = FakeDiscord::start(FakeDiscordConfig::default())
        .await
        .unwrap();
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("{}/?v=10&encoding=json", fake.gateway_url()))
            .await
            .unwrap();
    let mut client = Client {
        ws: {
            let hello = ws.next().await.unwrap().unwrap();
            assert!(matches!(hello, Message::Text(_)), "Hello stays text");
            ws
        },
        zlib: None,
    };
    client.identify(json!(1), true).await;
    let raw = tokio::time::timeout(WAIT, client.ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let Message::Binary(bytes) = raw else {
        panic!("READY must be a compressed binary frame, got {raw:?}");
    };
    let mut text = String::new();
    flate2::read::ZlibDecoder::new(&bytes[..])
        .read_to_string(&mut text)
        .unwrap();
    let ready: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(ready["t"], "READY");
    assert!(fake.sessions()[0].payload_compression);
}

#[tokio::test]
async fn payloads_before_identify_and_unknown_versions_are_refused() {
    let fake: RunningFake = FakeDiscord::start(FakeDiscordConfig::default())
        .await
        .unwrap();
    let mut client = Client::connect(&fake.gateway_url(), false).await;
    client
        .send(json!({"op": 3, "d": {"since": null, "activities": [], "status": "online", "afk": false}}))
        .await;
    assert_eq!(client.closed().await, Some(4003));

    let (mut ws, _) = tokio_tungstenite::connect_async(format!("{}/?v=6", fake.gateway_url()))
        .await
        .unwrap();
    let frame = ws.next().await.unwrap().unwrap();
    match frame {
        Message::Close(Some(f)) => assert_eq!(u16::from(f.code), 4012),
        other => panic!("expected close 4012, got {other:?}"),
    }
}

#[tokio::test]
async fn the_control_api_asks_for_heartbeats_and_cuts_sessions_off() {
    let fake = std::sync::Arc::new(
        FakeDiscord::start(FakeDiscordConfig::default())
            .await
            .unwrap(),
    );
    let control =
        fake_discord::control::serve(fake.clone(), "127.0.0.1:0".parse().unwrap()).unwrap();
    let mut client = Client::connect(&fake.gateway_url(), false).await;
    client.ready().await;
    let http = reqwest::Client::new();
    let asked: Value = http
        .post(format!("{}/_fake/gateway/heartbeat", control.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(asked["sessions"], 1);
    assert_eq!(client.payload().await["op"], 1);
    let cut = http
        .post(format!("{}/_fake/gateway/disconnect", control.base_url()))
        .json(&json!({"close_code": 4000}))
        .send()
        .await
        .unwrap();
    assert_eq!(cut.status().as_u16(), 200);
    assert_eq!(client.closed().await, Some(4000));
    let session = &fake.sessions()[0];
    assert!(
        !session.connected && !session.invalidated,
        "4000 leaves it resumable"
    );
    control.stop().await;
}
