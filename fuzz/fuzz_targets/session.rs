//! `session`: arbitrary bytes as the server's side of a whole session (a
//! fixed config with credentials, TLS required with STARTTLS, one message to
//! three recipients whose body has leading dots), delivered in chunks the
//! fuzzer chooses, with end-of-stream, timer events and stray
//! TLS-established calls mixed in. Checks every invariant of
//! `smtp_fuzz::harness` and `smtp_fuzz::model`: no panic, drains end within
//! 10 000 steps, one CRLF per command line, no AUTH before TLS, no DATA (nor
//! content) without an accepted recipient, delivered only after a 2xx to
//! the end of data.
//!
//! Input: `[n][body chunk] ctrl[n] stream...`. Each control byte says what
//! happens the next time the client waits (low 3 bits; `x` = byte >> 3):
//! 0-3 deliver `x` bytes of the stream (`x` = 0: up to the next LF),
//! 4 deliver up to 512 bytes, 5 advance the clock `x` * 20 s and report the
//! timer, 6 a stray TLS-established, 7 end-of-stream if `x` = 31, else
//! advance `x` s and deliver a line. Without control bytes the stream is
//! delivered line by line; at its end comes end-of-stream.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smtp_fuzz::harness::{Harness, Msg, PASSWORD, Stop, USER};
use smtp_proto::{BodyType, ClientName, Config, Credentials, TlsPolicy};
use std::time::Duration;

const BODY: &[u8] =
    b".leading dot\r\n..two dots\r\nSubject: fuzz\r\n\r\n.\r\n. \n.\r.end\r\nlast line";

fn take_line(stream: &[u8]) -> usize {
    stream
        .iter()
        .position(|&b| b == b'\n')
        .map_or(stream.len(), |i| i + 1)
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let n_ctrl = usize::from(data[0]).min(data.len() - 2);
    let chunk = usize::from(data[1]);
    let mut ctrl = data[2..2 + n_ctrl].iter().copied();
    let mut stream = &data[2 + n_ctrl..];

    let config = {
        let mut built = Config::default();
        built.client_name = ClientName::new("client.example.org").unwrap();
        built.tls = Some(TlsPolicy::Required);
        built.credentials = Some(Credentials::password(USER, PASSWORD).unwrap());
        built.allow_plaintext_auth = false;
        built.transcript = true;
        built
    };
    let mut h = Harness::new(config);
    h.send(Msg {
        body: BODY.to_vec(),
        chunk,
        rcpts: 3,
        body_type: BodyType::SevenBit,
    });
    let mut stop = h.quit();

    // Every step either uses stream bytes, a control byte, or ends the
    // session, so this loop ends; the bound is a backstop.
    for _ in 0..100_000 {
        match stop {
            Stop::Closed => return,
            Stop::StartTls => unreachable!("auto_tls is on"),
            Stop::Ready => panic!("Ready after quit()"),
            Stop::Wait(_) => {}
        }
        if stream.is_empty() && ctrl.len() == 0 {
            stop = h.eof();
            continue;
        }
        let op = ctrl.next().unwrap_or(0);
        let x = usize::from(op >> 3);
        stop = match op & 7 {
            0..=3 => {
                let n = if x == 0 {
                    take_line(stream)
                } else {
                    x.min(stream.len())
                };
                let (now, rest) = stream.split_at(n);
                stream = rest;
                if now.is_empty() {
                    h.eof()
                } else {
                    h.deliver(now)
                }
            }
            4 => {
                let (now, rest) = stream.split_at(stream.len().min(512));
                stream = rest;
                if now.is_empty() {
                    h.eof()
                } else {
                    h.deliver(now)
                }
            }
            5 => h.advance(Duration::from_secs(20 * x as u64)),
            6 => h.spurious_tls(),
            _ if x == 31 => h.eof(),
            _ => {
                let s = h.advance(Duration::from_secs(x as u64));
                if s == Stop::Closed {
                    s
                } else {
                    let (now, rest) = stream.split_at(take_line(stream));
                    stream = rest;
                    if now.is_empty() {
                        h.eof()
                    } else {
                        h.deliver(now)
                    }
                }
            }
        };
    }
    panic!("the session did not end");
});
