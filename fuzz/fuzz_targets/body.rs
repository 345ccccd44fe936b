//! `body`: arbitrary body bytes and chunk sizes through `BodyEncoder`, in
//! each mode. Streaming equals one-shot; DATA output unstuffs (with
//! `smtp_proto::body::unstuff`, and line by line here) to the
//! CRLF-normalised input, and its terminator `\r\n.\r\n` (or the whole
//! output `.\r\n` for an empty body) appears exactly once, at the end; BDAT
//! output is the normalised input, unstuffed, and BINARYMIME the input
//! itself; `LineTooLong` agrees between chunked, one-shot and a reference.
//! The same body then goes through a whole `Client` session with the same
//! chunking: the DATA body on the wire is exactly the encoder's output, or
//! the BDAT chunk sizes add up to the bytes sent, which are that output.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use smtp_fuzz::{find, first_long_line, normalise, unstuff_lines};
use smtp_proto::body::unstuff;
use smtp_proto::{
    Address, BodyEncoder, BodyError, BodyMode, BodyType, Client, Config, Envelope, ErrorKind,
    Instant, Output, TlsPolicy,
};
use std::collections::VecDeque;
use std::ops::Range;

#[derive(Arbitrary, Debug)]
struct Input {
    mode: u8,
    sizes: Vec<u16>,
    body: Vec<u8>,
}

/// The pieces `send_body` gets: sizes from the list in turn (0 is an empty
/// piece, at most 16 of them), the rest in one piece if the list is empty.
fn plan(len: usize, sizes: &[u16]) -> Vec<Range<usize>> {
    let mut v = Vec::new();
    let (mut pos, mut i, mut zeros) = (0, 0, 0);
    loop {
        let s = match sizes.get(i % sizes.len().max(1)) {
            None => len,
            Some(0) if zeros < 16 => {
                zeros += 1;
                0
            }
            Some(0) => len,
            Some(&s) => usize::from(s),
        };
        i += 1;
        let end = len.min(pos + s);
        v.push(pos..end);
        pos = end;
        if pos == len {
            break;
        }
    }
    if sizes.get(i % sizes.len().max(1)) == Some(&0) && len > 0 {
        v.push(len..len);
    }
    v
}

fn encode(mode: BodyMode, body: &[u8], pieces: &[Range<usize>]) -> Result<Vec<u8>, BodyError> {
    let mut e = BodyEncoder::new(mode);
    assert_eq!(e.mode(), mode);
    let mut out = Vec::new();
    for p in pieces {
        let before = out.len();
        e.encode(&body[p.clone()], &mut out)?;
        assert!(out.len() >= before, "encode() shrank the output");
    }
    e.finish(&mut out);
    Ok(out)
}

fuzz_target!(|input: Input| {
    let mode = match input.mode % 3 {
        0 => BodyMode::Data,
        1 => BodyMode::Bdat,
        _ => BodyMode::Binary,
    };
    let body = &input.body;
    let pieces = plan(body.len(), &input.sizes);
    let whole = 0..body.len();
    let one_shot = encode(mode, body, std::slice::from_ref(&whole));
    let streamed = encode(mode, body, &pieces);
    assert_eq!(one_shot, streamed, "streaming differs from one-shot");

    let expected_err = match mode {
        BodyMode::Binary => None,
        _ => first_long_line(body),
    };
    match (&one_shot, expected_err) {
        (Err(BodyError::LineTooLong { line }), Some(n)) => {
            assert_eq!(*line, n, "LineTooLong names the wrong line")
        }
        (Ok(_), None) => {}
        (r, e) => panic!("encoder gave {r:?}, the reference says line {e:?} is too long"),
    }
    if let Ok(out) = &one_shot {
        let norm = normalise(body);
        match mode {
            BodyMode::Data => {
                assert_eq!(
                    unstuff(out).as_deref(),
                    Some(&norm[..]),
                    "unstuff(output) != normalised input"
                );
                if norm.is_empty() {
                    assert_eq!(out, b".\r\n", "an empty body is not just the terminator");
                } else {
                    let end = out.len() - 5;
                    assert_eq!(
                        find(out, b"\r\n.\r\n"),
                        Some(end),
                        "the terminator is not (only) at the end"
                    );
                    assert!(
                        !out.starts_with(b".\r\n"),
                        "the output starts with a terminator"
                    );
                    assert_eq!(unstuff_lines(&out[..end + 2]), norm);
                }
            }
            BodyMode::Bdat => assert_eq!(out, &norm, "BDAT output is not the normalised input"),
            BodyMode::Binary => assert_eq!(out, body, "BINARYMIME output is not the input"),
        }
    }
    through_client(mode, body, &pieces, one_shot);
});

/// Sends the body through a whole session (no TLS, pipelining; CHUNKING
/// and BINARYMIME offered for the BDAT modes) with a server that accepts
/// everything, and checks the body on the wire.
fn through_client(
    mode: BodyMode,
    body: &[u8],
    pieces: &[Range<usize>],
    encoded: Result<Vec<u8>, BodyError>,
) {
    let now = Instant::ZERO;
    let config = {
        let mut built = Config::default();
        built.tls = Some(TlsPolicy::Off);
        built.chunking = mode != BodyMode::Data;
        built
    };
    let mut client = Client::new(config, now);
    let mut env = Envelope::new(
        Address::new("a@example.org").unwrap(),
        [Address::new("b@example.org").unwrap()],
    );
    if mode == BodyMode::Binary {
        env.body_type = BodyType::BinaryMime;
    }
    client.send(env, now).unwrap();
    client.quit(now);

    let ehlo: &[u8] = if mode == BodyMode::Data {
        b"250-mx\r\n250 PIPELINING\r\n"
    } else {
        b"250-mx\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 BINARYMIME\r\n"
    };
    // The wire, parsed as it comes: replies owed (in order), DATA body and
    // BDAT payloads.
    let mut replies: VecDeque<&[u8]> = VecDeque::from([&b"220 mx\r\n"[..]]);
    let mut wire = Vec::new();
    let mut pos = 0;
    let mut body_start = None;
    let mut data_body: Option<Vec<u8>> = None;
    let mut in_data_body = false;
    let mut payload_left = 0usize;
    let mut payload = Vec::new();
    let mut declared = 0usize;
    let mut lasts = 0;
    let mut next_piece = 0;
    let mut steps = 0;
    let result = loop {
        steps += 1;
        assert!(steps < 200_000, "the session does not end");
        match client.poll_output() {
            Output::Transmit(b) => {
                wire.extend_from_slice(b);
                loop {
                    if payload_left > 0 {
                        let n = payload_left.min(wire.len() - pos);
                        if n == 0 {
                            break;
                        }
                        payload.extend_from_slice(&wire[pos..pos + n]);
                        pos += n;
                        payload_left -= n;
                        continue;
                    }
                    if mode == BodyMode::Data && body_start == Some(pos) && data_body.is_none() {
                        in_data_body = true;
                        data_body = Some(Vec::new());
                    }
                    let Some(nl) = wire[pos..].iter().position(|&b| b == b'\n') else {
                        break;
                    };
                    let line = &wire[pos..pos + nl + 1];
                    pos += nl + 1;
                    if in_data_body {
                        data_body.as_mut().unwrap().extend_from_slice(line);
                        if line == b".\r\n" {
                            in_data_body = false;
                            replies.push_back(b"250 queued\r\n");
                        }
                        continue;
                    }
                    assert!(line.ends_with(b"\r\n"), "a command without CRLF");
                    let cmd = &line[..line.len() - 2];
                    assert!(!cmd.contains(&b'\r'), "a bare CR in a command");
                    if cmd.starts_with(b"EHLO ") {
                        replies.push_back(ehlo);
                    } else if cmd == b"DATA" {
                        replies.push_back(b"354 go ahead\r\n");
                    } else if cmd == b"QUIT" {
                        replies.push_back(b"221 bye\r\n");
                    } else if let Some(rest) = cmd.strip_prefix(b"BDAT ") {
                        assert_eq!(lasts, 0, "BDAT after BDAT LAST");
                        let (n, last) = match rest.strip_suffix(b" LAST") {
                            Some(n) => (n, true),
                            None => (rest, false),
                        };
                        let n: usize = std::str::from_utf8(n).unwrap().parse().unwrap();
                        lasts += usize::from(last);
                        declared += n;
                        payload_left = n;
                        replies.push_back(b"250 chunk ok\r\n");
                    } else {
                        replies.push_back(b"250 ok\r\n");
                    }
                }
            }
            Output::NeedBody(_) => {
                if body_start.is_none() {
                    body_start = Some(wire.len());
                }
                let p = pieces
                    .get(next_piece)
                    .expect("NeedBody after the last piece")
                    .clone();
                next_piece += 1;
                let last = next_piece == pieces.len();
                client.send_body(&body[p], last, now).unwrap();
            }
            Output::Wait(_) => {
                if replies.is_empty() {
                    client.handle_eof(now);
                } else {
                    let all: Vec<u8> = replies.drain(..).flatten().copied().collect();
                    client.handle_input(&all, now);
                }
            }
            Output::StartTls => panic!("STARTTLS with TLS off"),
            Output::Ready => panic!("Ready after quit()"),
            Output::Closed(r) => break r,
        }
        while client.poll_event().is_some() {}
    };
    match encoded {
        Err(e) => {
            let kind = result.as_ref().err().map(|e| e.kind());
            assert_eq!(
                kind,
                Some(&ErrorKind::Body(e)),
                "the client did not fail on the body error"
            );
            assert_eq!(lasts, 0, "BDAT LAST sent for a refused body");
            assert!(
                data_body
                    .as_ref()
                    .is_none_or(|d| !d.ends_with(b"\r\n.\r\n") && d != b".\r\n")
            );
        }
        Ok(out) => {
            assert!(result.is_ok(), "session failed: {result:?}");
            assert!(payload_left == 0 && !in_data_body, "body cut short");
            if mode == BodyMode::Data {
                assert_eq!(
                    data_body.as_deref(),
                    Some(&out[..]),
                    "the DATA body on the wire is not the encoder's output"
                );
            } else {
                assert_eq!(lasts, 1, "not exactly one BDAT LAST");
                assert_eq!(declared, payload.len(), "BDAT sizes do not add up");
                assert_eq!(payload, out, "the BDAT payload is not the encoder's output");
            }
        }
    }
}
