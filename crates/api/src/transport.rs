//! Connections: Portcullis accepts TCP connections itself and serves them with hyper, so
//! that every answer a client gets is AWS-shaped, also the few that hyper writes on its own.
//!
//! hyper answers a request it cannot parse (a control character in a header, a request head
//! larger than its buffer, a URI too long) with a bare status line and no body, then closes
//! the connection; no handler ever sees the request. [`ShapedIo`] sits between hyper and the
//! socket and replaces exactly those canned answers with AWS's XML error envelope and a
//! request id. Every response of Portcullis's own carries a `Content-Type`, which is how a
//! canned one is told apart.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use portcullis_protocol::{query_error_body, AwsError};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tower::ServiceExt;

use crate::IAM_NS;

/// How long open connections may take to finish after shutdown is asked for.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a client may take to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// TLS for the listener: a certificate chain and its private key, read from PEM files.
#[derive(Clone)]
pub struct Tls(tokio_rustls::TlsAcceptor);

impl Tls {
    pub fn from_pem_files(cert: &std::path::Path, key: &std::path::Path) -> Result<Self, String> {
        use rustls_pki_types::pem::PemObject;
        use rustls_pki_types::{CertificateDer, PrivateKeyDer};
        let chain = CertificateDer::pem_file_iter(cert)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| format!("cannot read the certificate chain {}: {e}", cert.display()))?;
        if chain.is_empty() {
            return Err(format!("{} holds no certificate", cert.display()));
        }
        let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("cannot read the private key {}: {e}", key.display()))?;
        #[expect(deprecated, reason = "ring's provider (no post-quantum key exchange) keeps the build free of a C toolchain dependency; classic ECDHE is enough for an IAM endpoint")]
        let provider = rustls::crypto::ring::default_provider();
        let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| format!("the certificate and key do not make a TLS configuration: {e}"))?;
        Ok(Self(tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config))))
    }
}

/// Serves `router` on `listener` (over TLS when `tls` is given) until `shutdown` completes,
/// then lets open connections finish their requests (for at most [`DRAIN_TIMEOUT`]).
pub async fn serve(listener: TcpListener, router: Router, shutdown: impl Future<Output = ()>) -> io::Result<()> {
    serve_with(listener, router, shutdown, None).await
}

/// [`serve`], with TLS when `tls` is given.
pub async fn serve_with(listener: TcpListener, router: Router, shutdown: impl Future<Output = ()>, tls: Option<Tls>) -> io::Result<()> {
    let mut http = hyper::server::conn::http1::Builder::new();
    // One contiguous buffer per write, so a canned answer arrives in one piece.
    http.writev(false).timer(TokioTimer::new()).header_read_timeout(Duration::from_secs(30));
    let graceful = GracefulShutdown::new();
    let mut connections = tokio::task::JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                // A client that gave up before it was accepted: nothing to do.
                Err(e) if matches!(e.kind(), io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionRefused) => continue,
                // Out of file descriptors and the like: wait a moment rather than spin.
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            // Finished connections are reaped as they end.
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            () = shutdown.as_mut() => break,
        };
        let _ = stream.set_nodelay(true);
        let (http, router, watcher, tls) = (http.clone(), router.clone(), graceful.watcher(), tls.clone());
        connections.spawn(async move {
            let served = match tls {
                None => serve_connection(&http, watcher, stream, router, remote, false).await,
                Some(Tls(acceptor)) => match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                    Ok(Ok(stream)) => serve_connection(&http, watcher, stream, router, remote, true).await,
                    Ok(Err(e)) => Err(e.to_string()),
                    Err(_) => Err("TLS handshake timed out".to_owned()),
                },
            };
            if let Err(e) = served {
                tracing::debug!(error = %e, %remote, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown()).await.is_err() {
        tracing::warn!("connections still open after {DRAIN_TIMEOUT:?}; closing them");
    }
    // Whatever is still running is cut off before the caller closes the store under it.
    connections.shutdown().await;
    Ok(())
}

/// Serves one accepted connection (plain or TLS) until it closes.
async fn serve_connection<I>(
    http: &hyper::server::conn::http1::Builder,
    watcher: hyper_util::server::graceful::Watcher,
    io: I,
    router: Router,
    remote: SocketAddr,
    secure: bool,
) -> Result<(), String>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo::<SocketAddr>(remote));
        if secure {
            req.extensions_mut().insert(portcullis_types::SecureTransport);
        }
        router.clone().oneshot(req.map(axum::body::Body::new))
    });
    let conn = http.serve_connection(TokioIo::new(ShapedIo::new(io)), service);
    watcher.watch(conn).await.map_err(|e| e.to_string())
}

/// A connection's socket, with hyper's bodiless error answers replaced by AWS-shaped ones.
pub struct ShapedIo<T> {
    inner: T,
    /// A replacement answer still to be written, and how much of it has been.
    pending: Option<(Vec<u8>, usize)>,
    /// Whether the next write starts a response: true at first and after each flush (hyper
    /// flushes every response). Only such a write can be a canned answer; the rest of a
    /// response, even one resumed after a partial write, passes untouched.
    at_response_start: bool,
}

impl<T> ShapedIo<T> {
    pub fn new(inner: T) -> Self {
        Self { inner, pending: None, at_response_start: true }
    }
}

impl<T: AsyncWrite + Unpin> ShapedIo<T> {
    /// Writes what is left of a replacement answer.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, done)) = &mut self.pending {
            let rest = bytes.get(*done..).unwrap_or_default();
            if rest.is_empty() {
                self.pending = None;
                break;
            }
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, rest))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *done += n;
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ShapedIo<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ShapedIo<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        ready!(self.drain(cx))?;
        let starts = std::mem::replace(&mut self.at_response_start, false);
        if let Some(replacement) = starts.then(|| replacement_for(buf)).flatten() {
            self.pending = Some((replacement, 0));
            // The canned answer counts as written; the replacement goes out now or on the
            // flush that follows.
            if let Poll::Ready(Err(e)) = self.drain(cx) {
                return Poll::Ready(Err(e));
            }
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        ready!(Pin::new(&mut self.inner).poll_flush(cx))?;
        self.at_response_start = true;
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The AWS-shaped answer for one of hyper's canned ones: a whole response head with no
/// `Content-Type` and a status hyper answers parse errors with.
fn replacement_for(buf: &[u8]) -> Option<Vec<u8>> {
    if !buf.starts_with(b"HTTP/1.1 4") {
        return None;
    }
    let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(buf.get(..head_end)?).ok()?;
    let status_line = head.lines().next()?;
    let status: u16 = status_line.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()?;
    if head.lines().skip(1).any(|h| h.to_ascii_lowercase().starts_with("content-type:")) {
        return None;
    }
    let (code, message) = match status {
        400 => ("InvalidRequest", "The HTTP request could not be read: its request line or a header is malformed (for example, a header holds a control character)."),
        431 => ("RequestHeaderSectionTooLarge", "The request's headers are larger than the service accepts."),
        414 => ("RequestURITooLong", "The request URI is longer than the service accepts."),
        _ => return None,
    };
    let request_id = uuid::Uuid::new_v4().to_string();
    tracing::debug!(request_id, status, code, "request refused before it could be read");
    let body = query_error_body(IAM_NS, &AwsError::new(code, status, message), &request_id);
    let reason = status_line.get(13..).unwrap_or_default().trim();
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: text/xml\r\nx-amzn-RequestId: {request_id}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body.as_bytes());
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bodiless_parse_error_answers_are_replaced() {
        let canned = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: Sun, 06 Dec 2026 21:00:00 GMT\r\n\r\n";
        let out = String::from_utf8(replacement_for(canned).unwrap()).unwrap();
        assert!(out.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/xml\r\n"), "{out}");
        assert!(out.contains("<Code>RequestHeaderSectionTooLarge</Code>") && out.contains("<RequestId>"), "{out}");
        let (head, body) = out.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("content-length: {}", body.len())));

        let ours = b"HTTP/1.1 400 Bad Request\r\ncontent-type: text/xml\r\ncontent-length: 5\r\n\r\n<a/>";
        assert!(replacement_for(ours).is_none());
        assert!(replacement_for(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").is_none());
        assert!(replacement_for(b"<ErrorResponse>HTTP/1.1 400 ").is_none());
    }

    /// Writes `chunks` through a `ShapedIo`, flushing after those marked, and returns what
    /// reached the socket.
    fn written(chunks: &[(&[u8], bool)]) -> Vec<u8> {
        use std::task::Waker;
        let mut io = ShapedIo::new(Vec::new());
        let mut cx = Context::from_waker(Waker::noop());
        for (chunk, flush) in chunks {
            assert!(matches!(Pin::new(&mut io).poll_write(&mut cx, chunk), Poll::Ready(Ok(n)) if n == chunk.len()));
            if *flush {
                assert!(matches!(Pin::new(&mut io).poll_flush(&mut cx), Poll::Ready(Ok(()))));
            }
        }
        assert!(matches!(Pin::new(&mut io).poll_flush(&mut cx), Poll::Ready(Ok(()))));
        io.inner
    }

    #[test]
    fn only_the_first_write_of_a_response_is_looked_at() {
        let canned: &[u8] = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n";
        // A response's later write that happens to look like a canned answer passes as is.
        let ours: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 45\r\n\r\n";
        let out = written(&[(ours, false), (canned, true)]);
        assert_eq!(out, [ours, canned].concat());
        // After a flush, the next write starts a response again.
        let out = String::from_utf8(written(&[(ours, false), (b"x", true), (canned, true)])).unwrap();
        assert!(out.contains("<Code>InvalidRequest</Code>"), "{out}");
    }
}
