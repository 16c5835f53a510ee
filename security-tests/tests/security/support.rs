//! Small helpers shared by the modules of this suite.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A multi-thread runtime for property tests that drive async code from a sync `TestRunner`.
pub fn block_on_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

pub fn opts(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Cases per property: the given default, or `SECURITY_PROPTEST_CASES` (e.g. 1000 for a long
/// local run). Defaults keep the whole suite under three minutes in CI.
pub fn cases(default: u32) -> u32 {
    std::env::var("SECURITY_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// POSTs `chunks` chunks of `chunk` bytes with `Transfer-Encoding: chunked` (no Content-Length)
/// over a raw socket and answers the HTTP status.
pub async fn post_chunked(base: &str, path: &str, chunks: usize, chunk: usize) -> u16 {
    let host = base.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(host).await.expect("connect");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.expect("write head");
    let data = vec![b'a'; chunk];
    for _ in 0..chunks {
        // The server may answer 413 and close before everything was sent.
        if s.write_all(format!("{chunk:x}\r\n").as_bytes())
            .await
            .is_err()
            || s.write_all(&data).await.is_err()
            || s.write_all(b"\r\n").await.is_err()
        {
            break;
        }
    }
    let _ = s.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        s.read_to_end(&mut answer),
    )
    .await;
    let text = String::from_utf8_lossy(&answer);
    text.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {text:?}"))
}
