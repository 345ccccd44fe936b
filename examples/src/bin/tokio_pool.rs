//! Sends 20 messages from 20 tokio tasks through a pool of at most 4
//! sessions: idle sessions are reused (and replaced if the server closed
//! them), and closed by the reaper after a while.
//!
//! `cargo run -p smtp-examples --bin tokio_pool -- [HOST] [PORT]`

use smtp_examples::{MESSAGE, envelope, options, target};
use smtp_tokio::{Pool, PoolConfig};
use std::time::Duration;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (host, port) = target();
    let mut config = PoolConfig::default();
    config.max_sessions = 4;
    config.idle_timeout = Duration::from_secs(30);
    config.check_after = Duration::from_secs(5);
    let pool = Pool::new(&host, port, options()?, config);
    tokio::spawn(pool.reaper());
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let pool = pool.clone();
            tokio::spawn(async move { pool.send(&envelope(), MESSAGE).await })
        })
        .collect();
    let mut accepted = 0;
    for task in tasks {
        match task.await? {
            Ok(outcome) if outcome.is_delivered() => accepted += 1,
            Ok(outcome) => println!("not accepted: {:?}", outcome.result),
            Err(e) => println!("not sent: {e}"),
        }
    }
    pool.close().await;
    println!(
        "accepted: {accepted} of 20 on {} sessions",
        pool.stats().connected
    );
    Ok(())
}
