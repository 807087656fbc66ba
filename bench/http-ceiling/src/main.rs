//! An axum server, built like Portcullis (same runtime, allocator and HTTP stack), that
//! answers every request at once with a fixed small XML body: what wrk measures against
//! it is the most any request of the load benchmark could reach on this machine.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BODY: &str = "<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/bench</Arn></GetCallerIdentityResult></GetCallerIdentityResponse>";

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let app = axum::Router::new().fallback(|| async { ([("content-type", "text/xml")], BODY) });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await
}
