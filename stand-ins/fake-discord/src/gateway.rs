//! Discord's gateway over a plain `ws://` websocket: Hello → Identify → READY (+ GUILD_CREATE),
//! heartbeat ACKs, Resume, and dispatches written by the test through [`Outbound`].

use std::sync::Arc;

use chrono::Utc;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use crate::ids;
use crate::model::SessionInfo;
use crate::payloads;
use crate::state::{Outbound, Session, Shared};

/// Accepts gateway connections until `shutdown` fires.
pub(crate) async fn serve(listener: TcpListener, shared: Arc<Shared>, shutdown: CancellationToken) {
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, _)) => {
                let shared = Arc::clone(&shared);
                let shutdown = shutdown.clone();
                tokio::spawn(async move {
                    if let Err(e) = connection(stream, shared, shutdown).await {
                        tracing::debug!(error = %e, "fake gateway connection ended with an error");
                    }
                });
            }
            Err(e) => tracing::warn!(error = %e, "fake gateway accept failed"),
        }
    }
}

/// The shard a guild's events go to, by Discord's formula.
pub(crate) fn shard_for_guild(guild_id: u64, shard_count: u32) -> u32 {
    ((guild_id >> 22) % u64::from(shard_count.max(1))) as u32
}

fn frame(op: u8, d: Value) -> Message {
    Message::Text(json!({"op": op, "d": d, "s": null, "t": null}).to_string())
}

async fn connection(
    stream: TcpStream,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let ws = tokio_tungstenite::accept_async(stream).await?;
    let (mut sink, mut source) = ws.split();
    let interval = u64::try_from(shared.config.heartbeat_interval.as_millis()).unwrap_or(41_250);
    sink.send(frame(
        10,
        json!({"heartbeat_interval": interval, "_trace": ["[\"fake-discord\"]"]}),
    ))
    .await?;

    let (sender, mut outbound) = mpsc::unbounded_channel::<Outbound>();
    let mut session_id: Option<String> = None;
    let mut seq: u64 = 0;

    let result: anyhow::Result<()> = loop {
        tokio::select! {
            _ = shutdown.cancelled() => {
                let _ = sink.send(Message::Close(Some(CloseFrame { code: CloseCode::Away, reason: "shutting down".into() }))).await;
                break Ok(());
            }
            out = outbound.recv() => {
                let Some(out) = out else { continue };
                let text = match out {
                    Outbound::Dispatch { event, data } => {
                        seq += 1;
                        json!({"op": 0, "t": event, "s": seq, "d": data}).to_string()
                    }
                    Outbound::Raw(v) => v.to_string(),
                };
                if let Err(e) = sink.send(Message::Text(text)).await {
                    break Err(e.into());
                }
            }
            incoming = source.next() => {
                let text = match incoming {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Binary(_))) => {
                        // Discord only accepts binary frames with etf encoding.
                        let _ = sink.send(close(4002, "Error while decoding payload.")).await;
                        break Ok(());
                    }
                    Some(Ok(Message::Close(_))) | None => break Ok(()),
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => break Err(e.into()),
                };
                let Ok(payload) = serde_json::from_str::<Value>(&text) else {
                    let _ = sink.send(close(4002, "Error while decoding payload.")).await;
                    break Ok(());
                };
                match payload["op"].as_u64() {
                    Some(1) => {
                        if let Err(e) = sink.send(frame(11, Value::Null)).await {
                            break Err(e.into());
                        }
                    }
                    Some(2) => {
                        if session_id.is_some() {
                            let _ = sink.send(close(4005, "Already authenticated.")).await;
                            break Ok(());
                        }
                        if payload["d"]["token"].as_str().is_none_or(str::is_empty) {
                            let _ = sink.send(close(4004, "Authentication failed.")).await;
                            break Ok(());
                        }
                        let id = identify(&shared, &payload["d"], sender.clone());
                        session_id = Some(id);
                    }
                    Some(6) => {
                        let wanted = payload["d"]["session_id"].as_str().unwrap_or_default().to_string();
                        match resume(&shared, &wanted, sender.clone()) {
                            Some(last_seq) => {
                                seq = last_seq;
                                session_id = Some(wanted);
                            }
                            None => {
                                if let Err(e) = sink.send(frame(9, json!(false))).await {
                                    break Err(e.into());
                                }
                            }
                        }
                    }
                    // Presence updates, voice state and member requests: accepted, ignored.
                    Some(3 | 4 | 8 | 31) => {}
                    _ => {
                        let _ = sink.send(close(4001, "Unknown opcode.")).await;
                        break Ok(());
                    }
                }
            }
        }
    };

    if let Some(id) = session_id {
        let mut inner = shared.lock();
        if let Some(session) = inner.sessions.iter_mut().find(|s| s.info.session_id == id) {
            session.info.connected = false;
            session.sender = None;
            session.seq = seq;
        }
    }
    result
}

fn close(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code: CloseCode::from(code),
        reason: reason.into(),
    }))
}

/// Registers the session and queues READY (and GUILD_CREATE when the guild is on its shard).
fn identify(shared: &Shared, d: &Value, sender: mpsc::UnboundedSender<Outbound>) -> String {
    let shard = d["shard"].as_array().and_then(|a| {
        let id = u32::try_from(a.first()?.as_u64()?).ok()?;
        let total = u32::try_from(a.get(1)?.as_u64()?).ok()?;
        Some([id, total])
    });
    let session_id = ids::session_id();
    let [shard_id, shard_count] = shard.unwrap_or([0, 1]);
    let guild_on_shard = shard_for_guild(shared.config.guild_id, shard_count) == shard_id;
    let ready = payloads::ready(
        &shared.config,
        &session_id,
        &shared.gateway_url,
        shard,
        guild_on_shard,
    );
    let _ = sender.send(Outbound::Dispatch {
        event: "READY".into(),
        data: ready,
    });
    if guild_on_shard {
        let _ = sender.send(Outbound::Dispatch {
            event: "GUILD_CREATE".into(),
            data: payloads::guild_create(&shared.config),
        });
    }
    let mut inner = shared.lock();
    inner.sessions.push(Session {
        info: SessionInfo {
            session_id: session_id.clone(),
            shard,
            intents: d["intents"].as_u64().unwrap_or(0),
            connected: true,
            identified_at: Utc::now(),
            resumed: 0,
        },
        sender: Some(sender),
        seq: 0,
    });
    session_id
}

/// Re-attaches a known, disconnected session; returns its last sequence number.
fn resume(
    shared: &Shared,
    session_id: &str,
    sender: mpsc::UnboundedSender<Outbound>,
) -> Option<u64> {
    let mut inner = shared.lock();
    let session = inner
        .sessions
        .iter_mut()
        .find(|s| s.info.session_id == session_id && !s.info.connected)?;
    let _ = sender.send(Outbound::Dispatch {
        event: "RESUMED".into(),
        data: json!({"_trace": ["[\"fake-discord\"]"]}),
    });
    session.info.connected = true;
    session.info.resumed += 1;
    session.sender = Some(sender);
    Some(session.seq)
}
