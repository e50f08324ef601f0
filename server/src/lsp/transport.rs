//! The server's input: LSP frames read from stdin on a thread of their own,
//! checked, and handed to tower-lsp-server re-framed.
//!
//! tower-lsp-server stops reading for good at the first message it cannot
//! decode (tokio-util's `FramedRead` ends its stream after a decoder error),
//! so a single malformed message from a client would silently end the
//! session. Here such a message never reaches it: a body that is not JSON, or
//! JSON that is not a JSON-RPC message and has no usable request id, is
//! dropped with a log line; a malformed request that has an id becomes a call
//! of [`INVALID_MESSAGE`], which answers that id with InvalidRequest.

use std::io::{self, BufRead, Read};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use serde_json::{Value, json};
use tokio::io::{AsyncRead, ReadBuf};
use tokio::sync::mpsc;
use tower_lsp_server::jsonrpc;
use tracing::{error, warn};

/// The method a malformed request with an id is turned into.
pub const INVALID_MESSAGE: &str = "okstra/invalidMessage";

/// Bodies larger than this are skipped unread (a `Content-Length` that big
/// is a broken client, and allocating it would abort the process).
const MAX_MESSAGE_BYTES: usize = 1 << 30;
/// Header lines longer than this are garbage.
const MAX_HEADER_LINE: u64 = 8 * 1024;

/// Standard input, checked frame by frame (see the module doc).
pub(super) fn stdin() -> Input {
    let (tx, rx) = mpsc::channel(16);
    let spawned = std::thread::Builder::new()
        .name("okstra-lsp-stdin".into())
        .spawn(move || pump(io::stdin().lock(), |frame| tx.blocking_send(frame).is_ok()));
    if let Err(e) = spawned {
        error!("cannot start the stdin reader: {e}");
    }
    Input {
        rx,
        pending: Vec::new(),
        pos: 0,
    }
}

/// The checked frames as an `AsyncRead`; EOF when the reader thread ends.
pub(super) struct Input {
    rx: mpsc::Receiver<Vec<u8>>,
    pending: Vec<u8>,
    pos: usize,
}

impl AsyncRead for Input {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let me = &mut *self;
        if me.pos == me.pending.len() {
            match me.rx.poll_recv(cx) {
                Poll::Ready(Some(frame)) => {
                    me.pending = frame;
                    me.pos = 0;
                }
                Poll::Ready(None) => return Poll::Ready(Ok(())),
                Poll::Pending => return Poll::Pending,
            }
        }
        let n = buf.remaining().min(me.pending.len() - me.pos);
        buf.put_slice(&me.pending[me.pos..me.pos + n]);
        me.pos += n;
        Poll::Ready(Ok(()))
    }
}

enum Header {
    Eof,
    Length(usize),
    Invalid,
}

/// Reads one header block (up to its empty line).
fn read_header(input: &mut impl BufRead) -> Header {
    let mut length = None;
    let mut seen = false;
    let mut valid = true;
    loop {
        let mut line = Vec::new();
        match (&mut *input)
            .take(MAX_HEADER_LINE)
            .read_until(b'\n', &mut line)
        {
            Ok(0) | Err(_) => return Header::Eof,
            Ok(_) => {}
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        if text.is_empty() {
            if seen {
                break;
            }
            continue;
        }
        seen = true;
        // After a header that was skipped, its body runs into the next
        // header line (`{…}Content-Length: 52`): resynchronise at the name.
        let text = match text.to_ascii_lowercase().find("content-length:") {
            Some(i) if i > 0 => {
                length = None;
                valid = true;
                &text[i..]
            }
            _ => text,
        };
        if let Some((name, value)) = text.split_once(':')
            && name.trim().eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse::<usize>().ok();
            valid &= length.is_some();
        }
    }
    match length {
        Some(n) if valid => Header::Length(n),
        _ => Header::Invalid,
    }
}

/// Reads frames from `input` and hands each checked one, header included, to
/// `emit`, until EOF or until `emit` returns false.
pub(super) fn pump(mut input: impl BufRead, mut emit: impl FnMut(Vec<u8>) -> bool) {
    loop {
        let len = match read_header(&mut input) {
            Header::Eof => return,
            Header::Invalid => {
                warn!("skipped a message header without a valid Content-Length");
                continue;
            }
            Header::Length(n) => n,
        };
        if len > MAX_MESSAGE_BYTES {
            warn!(
                len,
                "skipped a message larger than {MAX_MESSAGE_BYTES} bytes"
            );
            let skipped = io::copy(&mut (&mut input).take(len as u64), &mut io::sink());
            if skipped.map_or(true, |n| n < len as u64) {
                return;
            }
            continue;
        }
        let mut body = vec![0; len];
        if input.read_exact(&mut body).is_err() {
            return;
        }
        let Some(body) = check(body) else {
            continue;
        };
        let mut frame = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
        frame.extend_from_slice(&body);
        if !emit(frame) {
            return;
        }
    }
}

/// A `shutdown` request and an `exit` notification went by, in input order
/// (the exit status depends on their order, not on when handlers ran).
static SHUTDOWN_SEEN: AtomicBool = AtomicBool::new(false);
static EXIT_SEEN: AtomicBool = AtomicBool::new(false);

/// LSP: `exit` without a `shutdown` before it ends the process with status
/// 1. The end of the input (the client vanished) is not an error.
pub(super) fn exit_status_is_error() -> bool {
    EXIT_SEEN.load(Ordering::SeqCst) && !SHUTDOWN_SEEN.load(Ordering::SeqCst)
}

/// The body as tower-lsp-server can take it, or `None` to drop it.
fn check(body: Vec<u8>) -> Option<Vec<u8>> {
    if std::str::from_utf8(&body).is_ok() {
        if serde_json::from_slice::<jsonrpc::Response>(&body).is_ok() {
            return Some(body);
        }
        if let Ok(request) = serde_json::from_slice::<jsonrpc::Request>(&body) {
            match request.method() {
                "shutdown" => SHUTDOWN_SEEN.store(true, Ordering::SeqCst),
                "exit" => EXIT_SEEN.store(true, Ordering::SeqCst),
                _ => {}
            }
            return Some(body);
        }
    }
    let value: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            warn!("dropped a message that is not JSON: {e}");
            return None;
        }
    };
    let id = value.get("id").filter(|id| id.is_string() || id.is_i64());
    match id {
        Some(id) if value.get("method").is_some() => {
            warn!("a malformed request (id {id}): answering InvalidRequest");
            let reason = format!("not a valid JSON-RPC request: {value}");
            serde_json::to_vec(&json!({
                "jsonrpc": "2.0",
                "id": id,
                "method": INVALID_MESSAGE,
                "params": { "reason": reason.chars().take(200).collect::<String>() },
            }))
            .ok()
        }
        _ => {
            warn!("dropped a message that is not JSON-RPC: {value}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(body: &str) -> Vec<u8> {
        format!("Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
    }

    fn run(input: &[u8]) -> Vec<Value> {
        let mut out = Vec::new();
        pump(input, |f| {
            let text = String::from_utf8(f).unwrap();
            let (head, body) = text.split_once("\r\n\r\n").unwrap();
            assert_eq!(head, format!("Content-Length: {}", body.len()));
            out.push(serde_json::from_str(body).unwrap());
            true
        });
        out
    }

    #[test]
    fn good_messages_pass_unchanged() {
        let a = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#;
        let b = r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#;
        let c = r#"{"jsonrpc":"2.0","id":"x","result":null}"#;
        let mut input = frame(a);
        input.extend(b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n");
        input.extend(frame(b));
        input.extend(frame(c));
        let out = run(&input);
        assert_eq!(out.len(), 3);
        assert_eq!(out[0]["method"], "initialize");
        assert_eq!(out[2]["id"], "x");
    }

    #[test]
    fn malformed_messages_are_dropped_or_answered() {
        let mut input = frame("{not json");
        input.extend(frame(r#"{"jsonrpc":"2.0","id":7,"method":5}"#));
        input.extend(frame(r#"{"jsonrpc":"1.0","id":"a","method":"shutdown"}"#));
        input.extend(frame(r#"{"jsonrpc":"2.0","id":null,"method":5}"#));
        input.extend(frame("[1, 2]"));
        input.extend(b"X-Garbage: 1\r\n\r\n");
        input.extend(b"Content-Length: twelve\r\n\r\n");
        input.extend(frame(r#"{"jsonrpc":"2.0","method":"exit"}"#));
        let out = run(&input);
        let methods: Vec<&str> = out.iter().map(|v| v["method"].as_str().unwrap()).collect();
        assert_eq!(methods, [INVALID_MESSAGE, INVALID_MESSAGE, "exit"]);
        assert_eq!(out[0]["id"], 7);
        assert_eq!(out[1]["id"], "a");
    }

    #[test]
    fn a_bad_header_with_a_body_does_not_lose_what_follows() {
        let mut input =
            b"Content-Length: abc\r\n\r\n{\"jsonrpc\":\"2.0\",\"method\":\"x\"}".to_vec();
        input.extend(frame(
            r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#,
        ));
        input.extend(frame(r#"{"jsonrpc":"2.0","method":"exit"}"#));
        let out = run(&input);
        let methods: Vec<&str> = out.iter().map(|v| v["method"].as_str().unwrap()).collect();
        assert_eq!(methods, ["initialize", "exit"]);
    }

    #[test]
    fn eof_inside_a_message_ends_the_input() {
        let mut input = frame(r#"{"jsonrpc":"2.0","method":"initialized"}"#);
        input.extend(b"Content-Length: 100\r\n\r\n{\"jsonrpc\"");
        assert_eq!(run(&input).len(), 1);
        assert_eq!(run(b"Content-Length: 5\r\n").len(), 0);
        assert_eq!(run(b"Content-Length: 99999999999999\r\n\r\n{}").len(), 0);
    }
}
