//! A whole session against a scripted server in memory, through the
//! blocking adapter's "bring your own stream" entry point: no network, so
//! it runs anywhere (CI included) and checks what it sees.
//!
//! `cargo run -p smtp-examples --bin in_memory`

use smtp_blocking::{NoTimeouts, Options, Session};
use smtp_examples::{MESSAGE, envelope, report};
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex};

/// The server's side: its replies, one batch per write of the client
/// (the greeting readable at once), and what the client wrote.
#[derive(Default)]
struct Server {
    replies: VecDeque<&'static [u8]>,
    readable: Vec<u8>,
    writes: Vec<Vec<u8>>,
}

/// The client's end of the in-memory connection (clones share it).
#[derive(Clone, Default)]
struct Scripted(Arc<Mutex<Server>>);

impl Scripted {
    fn new(script: impl IntoIterator<Item = &'static [u8]>) -> Self {
        let mut replies: VecDeque<_> = script.into_iter().collect();
        let readable = replies.pop_front().unwrap_or_default().to_vec();
        Scripted(Arc::new(Mutex::new(Server {
            replies,
            readable,
            writes: Vec::new(),
        })))
    }
}

impl Read for Scripted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut server = self.0.lock().unwrap();
        // Nothing readable is the end of the stream.
        let n = buf.len().min(server.readable.len());
        buf[..n].copy_from_slice(&server.readable[..n]);
        server.readable.drain(..n);
        Ok(n)
    }
}

impl Write for Scripted {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut server = self.0.lock().unwrap();
        server.writes.push(buf.to_vec());
        let reply = server.replies.pop_front().unwrap_or_default();
        server.readable.extend_from_slice(reply);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let stream = Scripted::new([
        &b"220 mem.example ESMTP ready\r\n"[..],
        b"250-mem.example\r\n250-PIPELINING\r\n250 8BITMIME\r\n",
        b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n",
        b"250 2.0.0 Ok: queued as 42\r\n",
        b"221 2.0.0 Bye\r\n",
    ]);

    let mut session = Session::over(
        NoTimeouts(stream.clone()),
        "mem.example",
        &Options::default(),
    )?;
    let outcome = session.send(&envelope(), MESSAGE)?;
    report(&outcome);
    session.quit()?;

    let writes = stream.0.lock().unwrap().writes.clone();
    for (i, w) in writes.iter().enumerate() {
        println!("write {i}: {:?}", String::from_utf8_lossy(w));
    }
    // MAIL, RCPT and DATA went in one write, since the server pipelines.
    assert_eq!(
        writes[1],
        b"MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n"
    );
    assert!(outcome.is_delivered());
    Ok(())
}
