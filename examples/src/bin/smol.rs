//! Sends two messages, pipelined, with smtp-asyncstd under smol; the
//! second body is streamed from a reader.
//!
//! `cargo run -p smtp-examples --bin smol -- [HOST] [PORT]`

use smtp_asyncstd::Session;
use smtp_examples::{MESSAGE, envelope, options, report, target};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    smol::block_on(async {
        let (host, port) = target();
        let mut session = Session::connect(&host, port, &options()?).await?;
        println!("connected, encrypted: {}", session.client().is_encrypted());
        // Any futures-io AsyncRead works as a body: a file, a pipe, a slice.
        let second = smol::io::Cursor::new(MESSAGE.to_vec());
        let (one, two) = (envelope(), envelope());
        let bodies: [Box<dyn smol::io::AsyncRead + Unpin>; 2] =
            [Box::new(MESSAGE), Box::new(second)];
        let outcomes = session
            .send_many([&one, &two].into_iter().zip(bodies))
            .await?;
        outcomes.iter().for_each(report);
        session.quit().await?;
        Ok(())
    })
}
