//! Downloads a file a user attached to a command from Discord's CDN.
//!
//! serenity's `Attachment::download` returns the body of any answer, so a CDN error page (an
//! expired signed URL's 403, a 404, a 5xx — HTML) would be taken for the file. This checks the
//! status and the size before handing bytes on. Errors never contain the URL (it is signed).

use std::sync::OnceLock;
use std::time::Duration;

/// A stock file is small; a CDN that has not answered by then will not.
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(20);

/// Why an attachment could not be downloaded, in terms the caller can tell the user.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    /// The CDN answered, but not with the file (the body is an error page).
    #[error("Discord's file server answered HTTP {0}")]
    Status(u16),
    #[error("the file is larger than {limit} bytes")]
    TooLarge { limit: u64 },
    /// Timeout, connection or TLS trouble (no URL in the text).
    #[error("the file could not be fetched (timeout: {timeout}, connect: {connect})")]
    Network { timeout: bool, connect: bool },
}

impl From<reqwest::Error> for DownloadError {
    fn from(e: reqwest::Error) -> Self {
        DownloadError::Network {
            timeout: e.is_timeout(),
            connect: e.is_connect(),
        }
    }
}

fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .use_rustls_tls()
            .timeout(DOWNLOAD_TIMEOUT)
            .build()
            .unwrap_or_default()
    })
}

/// The file's bytes, only if the CDN answered 2xx and the file is at most `max_bytes`.
pub async fn download(url: &str, max_bytes: u64) -> Result<Vec<u8>, DownloadError> {
    let mut response = client().get(url).send().await?;
    let status = response.status();
    if !status.is_success() {
        return Err(DownloadError::Status(status.as_u16()));
    }
    if response.content_length().is_some_and(|n| n > max_bytes) {
        return Err(DownloadError::TooLarge { limit: max_bytes });
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if (bytes.len() + chunk.len()) as u64 > max_bytes {
            return Err(DownloadError::TooLarge { limit: max_bytes });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}
