//! The REST API over TLS as `discord.com`, for clients that cannot be given a plain-HTTP base URL.
//!
//! serenity 0.12.5 ignores its `proxy` setting while its own rate limiter is on (the production
//! setting) and always calls `https://discord.com/api/v10/...`. A test reaches the fake on that
//! path with a reqwest client that resolves `discord.com` to [`TlsFront::addr`] and trusts
//! [`TlsFront::ca_pem`]. The front terminates TLS with a certificate for `discord.com` signed by a
//! throw-away CA made at start, and relays the bytes to the plain REST listener, so both doors
//! reach the same handler and state. The CA's key never leaves this process.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

/// Host names the certificate covers.
const HOSTS: [&str; 3] = ["discord.com", "cdn.discordapp.com", "localhost"];

pub(crate) struct TlsFront {
    pub addr: SocketAddr,
    /// The CA certificate (PEM) a client must trust.
    pub ca_pem: String,
}

/// Binds a TLS listener next to the REST API at `backend` and serves it until `shutdown`.
pub(crate) async fn start(
    bind: SocketAddr,
    backend: SocketAddr,
    shutdown: CancellationToken,
) -> anyhow::Result<TlsFront> {
    let (ca_pem, chain, key) = certificates().context("making the fake Discord certificate")?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .context("TLS server certificate")?;
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind(bind)
        .await
        .with_context(|| format!("binding the fake Discord TLS front on {bind}"))?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                _ = shutdown.cancelled() => return,
                accepted = listener.accept() => accepted,
            };
            let Ok((socket, _)) = accepted else { continue };
            let acceptor = acceptor.clone();
            let shutdown = shutdown.clone();
            tokio::spawn(async move {
                tokio::select! {
                    _ = shutdown.cancelled() => {}
                    result = relay(acceptor, socket, backend) => {
                        if let Err(error) = result {
                            tracing::debug!(%error, "fake discord TLS connection ended");
                        }
                    }
                }
            });
        }
    });
    Ok(TlsFront { addr, ca_pem })
}

async fn relay(
    acceptor: TlsAcceptor,
    socket: TcpStream,
    backend: SocketAddr,
) -> anyhow::Result<()> {
    let mut tls = acceptor.accept(socket).await.context("TLS handshake")?;
    let mut plain = TcpStream::connect(backend)
        .await
        .context("connecting to the REST listener")?;
    tokio::io::copy_bidirectional(&mut tls, &mut plain).await?;
    Ok(())
}

/// A CA and a leaf certificate for [`HOSTS`] signed by it: (CA PEM, leaf chain, leaf key).
fn certificates() -> anyhow::Result<(String, Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>
{
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "fake Discord test CA");
    let ca = ca_params.self_signed(&ca_key)?;

    let leaf_key = KeyPair::generate()?;
    let mut leaf_params =
        CertificateParams::new(HOSTS.iter().map(|h| h.to_string()).collect::<Vec<_>>())?;
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "discord.com");
    let leaf = leaf_params.signed_by(&leaf_key, &ca, &ca_key)?;

    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    Ok((ca.pem(), vec![leaf.der().clone()], key))
}
