//! Logging: `LOG_LEVEL` (an `EnvFilter` directive, e.g. `info` or `payment_service=debug`) and
//! `LOG_FORMAT` (`pretty` for people, `json` for log shippers).

use std::borrow::Cow;
use std::io::Write;

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::{fmt, EnvFilter};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

impl LogFormat {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "pretty" | "text" | "" => Some(LogFormat::Pretty),
            "json" => Some(LogFormat::Json),
            _ => None,
        }
    }
}

/// Installs the global subscriber once, writing to stdout; later calls (tests starting several
/// apps) are no-ops. Every line passes through [`crate::redact::redact`] on its way out.
pub fn init_tracing(level: &str, format: LogFormat) {
    init_tracing_to(level, format, std::io::stdout);
}

/// Like [`init_tracing`], writing to `make_writer` instead of stdout (tests that read the lines
/// a service logs). The redaction is the same.
pub fn init_tracing_to<M>(level: &str, format: LogFormat, make_writer: M)
where
    M: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_new(level.to_ascii_lowercase())
        .unwrap_or_else(|_| EnvFilter::new("info"))
        // sqlx logs every statement at info; that is noise for operators.
        .add_directive("sqlx=warn".parse().unwrap_or_default())
        // serenity logs every gateway frame, lapin every channel event: operators need only
        // their warnings.
        .add_directive("serenity=warn".parse().unwrap_or_default())
        .add_directive("lapin=warn".parse().unwrap_or_default());
    let builder = fmt()
        .with_env_filter(filter)
        .with_target(true)
        .with_writer(Redacting(make_writer));
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}

/// Wraps the log destination so that each formatted line is masked before it is written.
struct Redacting<M>(M);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Redacting<M> {
    type Writer = RedactingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter(self.0.make_writer())
    }
}

/// The formatter writes a whole event in one `write_all`, so one `write` sees one whole line
/// (a token is never split across two calls).
struct RedactingWriter<W>(W);

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        match crate::redact::redact(&text) {
            Cow::Borrowed(_) => self.0.write_all(buf)?,
            Cow::Owned(masked) => self.0.write_all(masked.as_bytes())?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}
