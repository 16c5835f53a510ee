//! Discord's gateway over a plain `ws://` websocket, as strict as Discord about what clients do:
//! Hello → Identify (intents checked: 4013 invalid, 4014 privileged but not enabled) → READY (+
//! GUILD_CREATE); heartbeats enforced (a client silent past the interval plus grace is closed
//! with 4009, and the fake can ask for a heartbeat with op 1); RESUME replays the dispatches the
//! session missed (op 9 when it cannot); `compress=zlib-stream` (one zlib context per connection,
//! every frame ended with a sync flush) and IDENTIFY's payload compression; READY's
//! `resume_gateway_url` is a second listener on its own port.

use std::sync::Arc;

use chrono::Utc;
use flate2::{Compress, Compression, FlushCompress};
use futures::stream::SplitSink;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use tokio_util::sync::CancellationToken;

use crate::ids;
use crate::model::SessionInfo;
use crate::payloads;
use crate::state::{Outbound, Session, Shared};

/// Every intent bit Discord defines (0–16, 20, 21, 24, 25); others close with 4013.
pub(crate) const KNOWN_INTENTS: u64 =
    ((1 << 17) - 1) | (1 << 20) | (1 << 21) | (1 << 24) | (1 << 25);
/// GUILD_MEMBERS, GUILD_PRESENCES and MESSAGE_CONTENT: only when enabled for the application.
pub(crate) const PRIVILEGED_INTENTS: u64 = (1 << 1) | (1 << 8) | (1 << 15);

/// Which of the two gateway URLs a connection came in on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Entry {
    /// The URL `GET /gateway/bot` hands out.
    First,
    /// READY's `resume_gateway_url`.
    ResumeUrl,
}

/// Accepts gateway connections until `shutdown` fires.
pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
    entry: Entry,
) {
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
                    if let Err(e) = connection(stream, shared, shutdown, entry).await {
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

fn frame(op: u8, d: Value) -> String {
    json!({"op": op, "d": d, "s": null, "t": null}).to_string()
}

fn close(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code: CloseCode::from(code),
        reason: reason.into(),
    }))
}

/// What the client asked for in the websocket URL's query.
#[derive(Debug, Default)]
struct UrlQuery {
    zlib_stream: bool,
    /// `v=` when given and not one Discord still serves.
    bad_version: bool,
}

fn parse_query(query: &str) -> UrlQuery {
    let mut parsed = UrlQuery::default();
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("compress", "zlib-stream")) => parsed.zlib_stream = true,
            Some(("v", v)) => parsed.bad_version = !matches!(v, "9" | "10"),
            _ => {}
        }
    }
    parsed
}

type Sink = SplitSink<WebSocketStream<TcpStream>, Message>;

/// The writing half of one connection, with its compression state.
struct Writer {
    sink: Sink,
    /// `compress=zlib-stream`: one context for the whole connection.
    zlib: Option<Compress>,
    /// IDENTIFY's `compress: true`: each dispatch compressed on its own.
    payload_compression: bool,
}

impl Writer {
    async fn send(&mut self, text: String, dispatch: bool) -> anyhow::Result<()> {
        let message = if let Some(zlib) = self.zlib.as_mut() {
            Message::Binary(deflate_sync(zlib, text.as_bytes())?)
        } else if dispatch && self.payload_compression {
            Message::Binary(deflate_whole(text.as_bytes())?)
        } else {
            Message::Text(text)
        };
        self.sink.send(message).await?;
        Ok(())
    }

    async fn close(&mut self, message: Message) {
        let _ = self.sink.send(message).await;
    }
}

/// Compresses `input` into the connection's zlib stream and flushes it with Z_SYNC_FLUSH, so
/// the frame ends in `00 00 ff ff` and the client can inflate it at once.
pub(crate) fn deflate_sync(zlib: &mut Compress, input: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len() / 2 + 64);
    let start = zlib.total_in();
    loop {
        let consumed = usize::try_from(zlib.total_in() - start)?;
        out.reserve(input.len().saturating_sub(consumed) + 256);
        zlib.compress_vec(&input[consumed..], &mut out, FlushCompress::Sync)?;
        let consumed = usize::try_from(zlib.total_in() - start)?;
        // Done once all input is in and the flush did not run out of room.
        if consumed == input.len() && out.len() < out.capacity() {
            return Ok(out);
        }
    }
}

/// A whole zlib stream for one payload (Discord's payload compression).
fn deflate_whole(input: &[u8]) -> anyhow::Result<Vec<u8>> {
    use std::io::Write as _;
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(input)?;
    Ok(encoder.finish()?)
}

/// What one connection knows about the session it serves.
struct Attached {
    session_id: String,
    sender: mpsc::UnboundedSender<Outbound>,
}

/// Why a connection ends on the fake's side.
enum Ending {
    /// Send this close frame (or none: drop the TCP connection) and end; `invalidate` ends the
    /// session too.
    Close {
        message: Option<Message>,
        invalidate: bool,
    },
}

impl Ending {
    fn close(code: u16, reason: &'static str, invalidate: bool) -> Self {
        Ending::Close {
            message: Some(close(code, reason)),
            invalidate,
        }
    }
}

// The handshake callback's error type is tungstenite's (a whole HTTP response).
#[allow(clippy::result_large_err)]
async fn connection(
    stream: TcpStream,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
    entry: Entry,
) -> anyhow::Result<()> {
    let mut query = String::new();
    let ws =
        tokio_tungstenite::accept_hdr_async(stream, |request: &Request, response: Response| {
            query = request.uri().query().unwrap_or_default().to_string();
            Ok(response)
        })
        .await?;
    let url = parse_query(&query);
    let (sink, mut source) = ws.split();
    let mut writer = Writer {
        sink,
        zlib: url
            .zlib_stream
            .then(|| Compress::new(Compression::default(), true)),
        payload_compression: false,
    };
    if url.bad_version {
        writer.close(close(4012, "Invalid API version.")).await;
        return Ok(());
    }
    let interval = shared.config.heartbeat_interval;
    let interval_ms = u64::try_from(interval.as_millis()).unwrap_or(41_250);
    writer
        .send(
            frame(
                10,
                json!({"heartbeat_interval": interval_ms, "_trace": ["[\"fake-discord\"]"]}),
            ),
            false,
        )
        .await?;

    let (sender, mut outbound) = mpsc::unbounded_channel::<Outbound>();
    let mut attached: Option<Attached> = None;
    let options = &shared.config.gateway;
    // Discord expects the first heartbeat within one interval of Hello, then one per interval.
    let mut heartbeat_due = Instant::now() + interval + options.heartbeat_grace;
    let mut requested_due: Option<Instant> = None;

    let ending: anyhow::Result<Ending> = loop {
        let deadline = requested_due.map_or(heartbeat_due, |r| r.min(heartbeat_due));
        tokio::select! {
            _ = shutdown.cancelled() => {
                break Ok(Ending::Close {
                    message: Some(Message::Close(Some(CloseFrame { code: CloseCode::Away, reason: "shutting down".into() }))),
                    invalidate: false,
                });
            }
            _ = tokio::time::sleep_until(deadline) => {
                tracing::info!(session = ?attached.as_ref().map(|a| a.session_id.clone()), "fake gateway: no heartbeat in time, closing with 4009");
                break Ok(Ending::close(4009, "Session timed out.", true));
            }
            out = outbound.recv() => {
                let Some(out) = out else { continue };
                let sent = match out {
                    Outbound::Dispatch { seq, event, data } => {
                        writer.send(json!({"op": 0, "t": event, "s": seq, "d": data}).to_string(), true).await
                    }
                    Outbound::Raw(v) => writer.send(v.to_string(), false).await,
                    Outbound::RequestHeartbeat => {
                        requested_due.get_or_insert(Instant::now() + options.heartbeat_request_deadline);
                        writer.send(frame(1, Value::Null), false).await
                    }
                    Outbound::Close(code) => {
                        break Ok(Ending::Close {
                            message: code.map(|c| Message::Close(Some(CloseFrame { code: CloseCode::from(c), reason: "".into() }))),
                            invalidate: code.is_some_and(|c| !resumable_close(c)),
                        });
                    }
                };
                if let Err(e) = sent {
                    break Err(e);
                }
            }
            incoming = source.next() => {
                let text = match incoming {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Binary(_))) => {
                        // Discord only accepts binary frames with etf encoding.
                        break Ok(Ending::close(4002, "Error while decoding payload.", false));
                    }
                    // A client closing with 1000/1001 ends its session, as on Discord.
                    Some(Ok(Message::Close(frame))) => {
                        let code = frame.map(|f| u16::from(f.code));
                        break Ok(Ending::Close { message: None, invalidate: matches!(code, Some(1000 | 1001)) });
                    }
                    None => break Ok(Ending::Close { message: None, invalidate: false }),
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => break Err(e.into()),
                };
                let Ok(payload) = serde_json::from_str::<Value>(&text) else {
                    break Ok(Ending::close(4002, "Error while decoding payload.", false));
                };
                match payload["op"].as_u64() {
                    Some(1) => {
                        heartbeat_due = Instant::now() + interval + options.heartbeat_grace;
                        requested_due = None;
                        if let Some(a) = &attached {
                            let mut inner = shared.lock();
                            if let Some(s) = inner.sessions.iter_mut().find(|s| s.info.session_id == a.session_id) {
                                s.info.heartbeats += 1;
                            }
                        }
                        if let Err(e) = writer.send(frame(11, Value::Null), false).await {
                            break Err(e);
                        }
                    }
                    Some(2) => {
                        if attached.is_some() {
                            break Ok(Ending::close(4005, "Already authenticated.", false));
                        }
                        if payload["d"]["token"].as_str().is_none_or(str::is_empty) {
                            break Ok(Ending::close(4004, "Authentication failed.", false));
                        }
                        let Some(intents) = payload["d"]["intents"].as_u64() else {
                            break Ok(Ending::close(4013, "Invalid intent(s).", false));
                        };
                        if intents & !KNOWN_INTENTS != 0 {
                            break Ok(Ending::close(4013, "Invalid intent(s).", false));
                        }
                        if intents & PRIVILEGED_INTENTS & !options.privileged_intents != 0 {
                            break Ok(Ending::close(4014, "Disallowed intent(s).", false));
                        }
                        writer.payload_compression = writer.zlib.is_none()
                            && payload["d"]["compress"].as_bool().unwrap_or(false);
                        let id = identify(&shared, &payload["d"], sender.clone(), url.zlib_stream, writer.payload_compression);
                        attached = Some(Attached { session_id: id, sender: sender.clone() });
                    }
                    Some(6) => {
                        if attached.is_some() {
                            break Ok(Ending::close(4005, "Already authenticated.", false));
                        }
                        let wanted = payload["d"]["session_id"].as_str().unwrap_or_default().to_string();
                        let from = payload["d"]["seq"].as_u64().unwrap_or(0);
                        let allowed = entry == Entry::ResumeUrl || !options.require_resume_url;
                        let resumed = if allowed {
                            resume(&shared, &wanted, from, sender.clone(), entry, url.zlib_stream)
                        } else {
                            None
                        };
                        match resumed {
                            Some(compress) => {
                                writer.payload_compression = writer.zlib.is_none() && compress;
                                attached = Some(Attached { session_id: wanted, sender: sender.clone() });
                            }
                            None => {
                                if let Err(e) = writer.send(frame(9, json!(false)), false).await {
                                    break Err(e);
                                }
                            }
                        }
                    }
                    // Presence updates, voice state and member requests: only once identified.
                    Some(3 | 4 | 8 | 31) => {
                        if attached.is_none() {
                            break Ok(Ending::close(4003, "Not authenticated.", false));
                        }
                    }
                    _ => {
                        break Ok(Ending::close(4001, "Unknown opcode.", false));
                    }
                }
            }
        }
    };

    let invalidate = match &ending {
        Ok(Ending::Close {
            message,
            invalidate,
        }) => {
            if let Some(message) = message {
                writer.close(message.clone()).await;
            }
            *invalidate
        }
        Err(_) => false,
    };
    if let Some(a) = attached {
        detach(&shared, &a, invalidate);
    }
    ending.map(|_| ())
}

/// Close codes after which Discord lets the session resume.
fn resumable_close(code: u16) -> bool {
    !matches!(code, 1000 | 1001 | 4004 | 4007 | 4009 | 4010..=4014)
}

/// Marks the session disconnected when this connection still holds it (a RESUME on another
/// connection may have taken it over already).
fn detach(shared: &Shared, attached: &Attached, invalidate: bool) {
    let mut inner = shared.lock();
    if let Some(session) = inner
        .sessions
        .iter_mut()
        .find(|s| s.info.session_id == attached.session_id)
    {
        let holds = session
            .sender
            .as_ref()
            .is_some_and(|s| s.same_channel(&attached.sender));
        if holds {
            session.info.connected = false;
            session.sender = None;
        }
        if invalidate {
            session.info.invalidated = true;
        }
    }
}

/// Registers the session and queues READY (and GUILD_CREATE when the guild is on its shard).
/// Disconnected sessions of the same shard can no longer resume: this one replaces them.
fn identify(
    shared: &Shared,
    d: &Value,
    sender: mpsc::UnboundedSender<Outbound>,
    zlib_stream: bool,
    payload_compression: bool,
) -> String {
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
        &shared.resume_gateway_url,
        shard,
        guild_on_shard,
    );
    let mut inner = shared.lock();
    for old in inner
        .sessions
        .iter_mut()
        .filter(|s| !s.info.connected && s.info.shard.unwrap_or([0, 1])[0] == shard_id)
    {
        old.info.invalidated = true;
        old.replay.clear();
    }
    let guild = guild_on_shard.then(|| crate::access::guild_create(shared, &inner));
    let keep = shared.config.gateway.replay_buffer;
    let mut session = Session {
        info: SessionInfo {
            session_id: session_id.clone(),
            shard,
            intents: d["intents"].as_u64().unwrap_or(0),
            connected: true,
            identified_at: Utc::now(),
            resumed: 0,
            resumed_via_resume_url: 0,
            invalidated: false,
            heartbeats: 0,
            zlib_stream,
            payload_compression,
            replayed: 0,
        },
        sender: Some(sender),
        seq: 0,
        replay: Default::default(),
    };
    session.dispatch("READY", ready, keep);
    if let Some(guild) = guild {
        session.dispatch("GUILD_CREATE", guild, keep);
    }
    inner.sessions.push(session);
    session_id
}

/// Re-attaches a resumable session: replays what it missed after `from`, then RESUMED. A
/// session still attached to another (zombie) connection is taken over and that one closed.
/// Returns whether the session had asked for payload compression; `None` when it cannot resume.
fn resume(
    shared: &Shared,
    session_id: &str,
    from: u64,
    sender: mpsc::UnboundedSender<Outbound>,
    entry: Entry,
    zlib_stream: bool,
) -> Option<bool> {
    let keep = shared.config.gateway.replay_buffer;
    let mut inner = shared.lock();
    let session = inner
        .sessions
        .iter_mut()
        .find(|s| s.info.session_id == session_id && !s.info.invalidated)?;
    // Events after `from` must all still be in the buffer.
    let oldest = session.replay.front().map_or(session.seq + 1, |e| e.0);
    if from > session.seq || from + 1 < oldest {
        session.info.invalidated = true;
        return None;
    }
    if let Some(old) = session.sender.take() {
        let _ = old.send(Outbound::Close(Some(4000)));
    }
    let mut replayed = 0;
    for (seq, event, data) in session.replay.iter().filter(|e| e.0 > from) {
        let _ = sender.send(Outbound::Dispatch {
            seq: *seq,
            event: event.clone(),
            data: data.clone(),
        });
        replayed += 1;
    }
    session.info.connected = true;
    session.info.resumed += 1;
    session.info.replayed += replayed;
    session.info.zlib_stream = zlib_stream;
    if entry == Entry::ResumeUrl {
        session.info.resumed_via_resume_url += 1;
    }
    session.sender = Some(sender);
    session.dispatch("RESUMED", json!({"_trace": ["[\"fake-discord\"]"]}), keep);
    Some(session.info.payload_compression)
}

impl crate::RunningFake {
    /// READY's `resume_gateway_url`, e.g. `ws://127.0.0.1:40125` (not the first URL's port).
    pub fn resume_gateway_url(&self) -> String {
        self.shared.resume_gateway_url.clone()
    }

    /// Sends op 1 to every connected session, as Discord may; a client that does not answer
    /// with op 1 within `heartbeat_request_deadline` is closed with 4009.
    pub fn request_heartbeat(&self) -> usize {
        let inner = self.shared.lock();
        let mut asked = 0;
        for session in inner.sessions.iter().filter(|s| s.info.connected) {
            if let Some(sender) = &session.sender {
                if sender.send(Outbound::RequestHeartbeat).is_ok() {
                    asked += 1;
                }
            }
        }
        asked
    }

    /// Cuts every connected session off at once: with a close frame carrying `close_code`, or
    /// by dropping the TCP connection when `None`. From now on their events are kept for a
    /// RESUME (unless the code is one after which Discord does not allow resuming).
    pub fn disconnect_sessions(&self, close_code: Option<u16>) -> usize {
        let mut inner = self.shared.lock();
        let mut cut = 0;
        for session in inner.sessions.iter_mut().filter(|s| s.info.connected) {
            if let Some(sender) = session.sender.take() {
                let _ = sender.send(Outbound::Close(close_code));
            }
            session.info.connected = false;
            if close_code.is_some_and(|c| !resumable_close(c)) {
                session.info.invalidated = true;
            }
            cut += 1;
        }
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Decompress, FlushDecompress};

    #[test]
    fn zlib_stream_frames_end_with_a_sync_flush_and_inflate_in_one_context() {
        let mut zlib = Compress::new(Compression::default(), true);
        let mut inflate = Decompress::new(true);
        let big = "x".repeat(100_000);
        for text in ["{\"op\":10}", big.as_str(), "{\"op\":11}"] {
            let frame = deflate_sync(&mut zlib, text.as_bytes()).unwrap();
            assert!(frame.ends_with(&[0, 0, 0xff, 0xff]));
            let mut out = Vec::with_capacity(text.len() + 64);
            inflate
                .decompress_vec(&frame, &mut out, FlushDecompress::Sync)
                .unwrap();
            assert_eq!(out, text.as_bytes());
        }
    }

    #[test]
    fn query_flags_zlib_stream_and_unknown_versions() {
        assert!(parse_query("v=10&encoding=json&compress=zlib-stream").zlib_stream);
        assert!(!parse_query("v=10").zlib_stream);
        assert!(parse_query("v=6").bad_version);
        assert!(!parse_query("").bad_version);
    }
}
