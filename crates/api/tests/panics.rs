//! A panic on a request's path is answered with AWS's InternalFailure on a connection that
//! stays open, through the same request scope and transport the server uses.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};

use axum::routing::get;
use axum::Router;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Reads one HTTP/1.1 response with a content-length: (status, head, body).
async fn read_response(conn: &mut TcpStream) -> (u16, String, String) {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        assert_eq!(conn.read(&mut byte).await.unwrap(), 1, "connection closed mid-head: {:?}", String::from_utf8_lossy(&buf));
        buf.push(byte[0]);
    }
    let head = String::from_utf8(buf).unwrap();
    let len: usize = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length: ").map(|v| v.trim().parse().unwrap()))
        .unwrap();
    let mut body = vec![0u8; len];
    conn.read_exact(&mut body).await.unwrap();
    let status = head[9..12].parse().unwrap();
    (status, head, String::from_utf8(body).unwrap())
}

fn boom(why: &str) -> &'static str {
    panic!("{why}")
}

/// Log lines written through `tracing`, kept for the test to read.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_panicking_handler_is_answered_internal_failure_and_the_connection_stays_open() {
    let log = Captured::default();
    let writer = log.clone();
    tracing::subscriber::set_global_default(
        tracing_subscriber::fmt().with_ansi(false).with_writer(move || writer.clone()).finish(),
    )
    .unwrap();
    portcullis_api::install_panic_hook();
    let app = Router::new()
        .route("/panic", get(|| async { boom("boom in a handler") }))
        .route("/_portcullis/panic", get(|| async { boom("boom in an endpoint of our own") }))
        .route("/ok", get(|| async { "fine" }));
    let app = portcullis_api::with_request_scope(app);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(portcullis_api::serve(listener, app, std::future::pending()));

    let mut conn = TcpStream::connect(addr).await.unwrap();
    conn.write_all(b"GET /panic HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let (status, head, body) = read_response(&mut conn).await;
    assert_eq!(status, 500, "{head}{body}");
    assert!(head.to_ascii_lowercase().contains("content-type: text/xml"), "{head}");
    assert!(body.contains("<Code>InternalFailure</Code>"), "{body}");
    assert!(body.contains("<Type>Receiver</Type>"), "{body}");
    let id = body.split("<RequestId>").nth(1).unwrap().split('<').next().unwrap().to_owned();
    assert!(head.to_ascii_lowercase().contains(&format!("x-amzn-requestid: {id}")), "{head}");
    assert!(!body.contains("boom"), "the panic's text must not reach the client: {body}");
    // Logged once, with the request id, where it happened and what it said.
    let logged = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = logged.lines().filter(|l| l.contains("boom in a handler")).collect();
    assert_eq!(lines.len(), 1, "{logged}");
    assert!(lines[0].contains(&id) && lines[0].contains("panics.rs"), "{logged}");

    // The same connection serves the next request.
    conn.write_all(b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let (status, _, body) = read_response(&mut conn).await;
    assert_eq!((status, body.as_str()), (200, "fine"));

    // A request for STS gets STS's namespace.
    conn.write_all(b"GET /panic?Action=GetCallerIdentity&Version=2011-06-15 HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let (status, _, body) = read_response(&mut conn).await;
    assert_eq!(status, 500);
    assert!(body.contains("https://sts.amazonaws.com/doc/2011-06-15/"), "{body}");

    // Endpoints of Portcullis's own answer in their JSON form.
    conn.write_all(b"GET /_portcullis/panic HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let (status, head, body) = read_response(&mut conn).await;
    assert_eq!(status, 500, "{head}{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["error"]["code"], "InternalFailure");

    conn.write_all(b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    assert_eq!(read_response(&mut conn).await.0, 200);
}

#[tokio::test]
async fn requests_hyper_cannot_read_get_aws_shaped_answers() {
    let app = portcullis_api::with_request_scope(Router::new().route("/ok", get(|| async { "fine" })));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(portcullis_api::serve(listener, app, std::future::pending()));

    let huge = format!("GET /ok HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\n\r\n", "A".repeat(1 << 20));
    let control = "GET /ok HTTP/1.1\r\nHost: x\r\nX-Note: a\u{1}b\r\n\r\n".to_owned();
    let long_uri = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(70_000));
    for (raw, status, code) in [(huge, 431, "RequestHeaderSectionTooLarge"), (control, 400, "InvalidRequest"), (long_uri, 414, "RequestURITooLong")] {
        let mut conn = TcpStream::connect(addr).await.unwrap();
        // The server may answer and close before it has read everything.
        let _ = conn.write_all(raw.as_bytes()).await;
        let (got, head, body) = read_response(&mut conn).await;
        assert_eq!(got, status, "{head}{body}");
        assert!(body.starts_with("<ErrorResponse") && body.contains(&format!("<Code>{code}</Code>")), "{body}");
        assert!(body.contains("<RequestId>"), "{body}");
    }
}
