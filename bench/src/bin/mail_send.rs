//! mail-send 0.7 (Stalwart) as a benchmark process: `SmtpClient::send`
//! per message over one `connect_plain` connection per session (it has no
//! pool); with `reconnect=1` a new connection per message. It has no
//! streaming API, so `stream=1` reads the whole file into memory first.
//! `nodelay=1` sets TCP_NODELAY on its public `stream` field.
use mail_send::SmtpClientBuilder;
use mail_send::smtp::message::Message;
use smtp_bench::{Args, die, report, runtime, share};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The builder, made once per session task (it builds a rustls
/// configuration with the webpki roots, which a user would not redo per
/// connection).
fn builder(args: &Args) -> SmtpClientBuilder<&'static str> {
    SmtpClientBuilder::new("127.0.0.1", args.port)
        .unwrap_or_else(|e| die(&e))
        .implicit_tls(false)
        .helo_host("localhost")
        .timeout(Duration::from_secs(60))
}

async fn connect(
    args: &Args,
    builder: &SmtpClientBuilder<&'static str>,
) -> mail_send::SmtpClient<tokio::net::TcpStream> {
    let c = builder
        .connect_plain()
        .await
        .unwrap_or_else(|e| die(&format!("connect: {e}")));
    if args.nodelay {
        c.stream.set_nodelay(true).unwrap_or_else(|e| die(&e.to_string()));
    }
    c
}

fn main() {
    let args = Arc::new(Args::parse());
    let rcpts = Arc::new(args.recipients());
    // No streaming API: even `stream=1` holds the whole message.
    let body = Arc::new(args.body());
    let deadline = args.deadline();
    let rt = runtime(args.sessions);
    let started = Instant::now();
    let sent = rt.block_on(async move {
        let mut tasks = Vec::new();
        for i in 0..args.sessions {
            let (args, rcpts, body) = (args.clone(), rcpts.clone(), body.clone());
            let mine = if args.stream { 1 } else { share(args.count, args.sessions, i) };
            tasks.push(tokio::spawn(async move {
                let builder = builder(&args);
                let message = || Message::new(args.from(), rcpts.iter().map(|s| s.as_str()), &body[..]);
                let mut sent = 0;
                if args.reconnect {
                    while sent < mine && !deadline.passed() {
                        let mut c = connect(&args, &builder).await;
                        c.send(message()).await.unwrap_or_else(|e| die(&e.to_string()));
                        c.quit().await.unwrap_or_else(|e| die(&e.to_string()));
                        sent += 1;
                    }
                    return sent;
                }
                let mut c = connect(&args, &builder).await;
                while sent < mine && !deadline.passed() {
                    c.send(message()).await.unwrap_or_else(|e| die(&e.to_string()));
                    sent += 1;
                }
                c.quit().await.unwrap_or_else(|e| die(&e.to_string()));
                sent
            }));
        }
        let mut sent = 0;
        for t in tasks {
            sent += t.await.unwrap_or_else(|e| die(&e.to_string()));
        }
        sent
    });
    report(sent, started);
}
