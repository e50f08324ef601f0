//! The server's input and output around tower-lsp-server: LSP frames read
//! from stdin on a thread of their own, checked, and handed to
//! tower-lsp-server re-framed; its output and the checker's own replies
//! written to stdout by one writer, a whole frame at a time.
//!
//! tower-lsp-server stops reading for good at the first message it cannot
//! decode (tokio-util's `FramedRead` ends its stream after a decoder error),
//! so a single malformed message from a client would silently end the
//! session. Here such a message never reaches it. JSON-RPC 2.0 says how each
//! is answered, and the checker answers it itself:
//! - a body that is not JSON: ParseError (-32700), `"id": null`;
//! - JSON that is not a valid request (a method that is not a string, a
//!   `jsonrpc` other than "2.0", an id that is not a string or an integer,
//!   not an object at all, values nested deeper than serde_json's limit of
//!   128): InvalidRequest (-32600) to its id when the id can be read, else
//!   with `"id": null`;
//! - a malformed notification (a method and no id) or a malformed response
//!   (a `result` or `error` and no method): a log line, no reply.
//!
//! The replies cannot go through tower-lsp-server (it answers only what it
//! decoded, and a made-up request would be refused before `initialize` or
//! collide with another one whose id is null), and they must never
//! interleave bytes with its output. So tower-lsp-server writes into a pipe,
//! a framer task cuts that into whole frames, and one writer task writes
//! both kinds of frames to stdout, each whole (one `write_all`, or one
//! vectored write for a message with a shared part).

use std::io::{self, BufRead, Read, Write};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, ReadBuf};
use tokio::sync::mpsc;
use tower_lsp_server::jsonrpc;
use tracing::{error, warn};

/// Bodies larger than this are skipped unread (a `Content-Length` that big
/// is a broken client, and allocating it would abort the process).
const MAX_MESSAGE_BYTES: usize = 1 << 30;
/// Header lines longer than this are garbage.
const MAX_HEADER_LINE: u64 = 8 * 1024;
/// JSON-RPC 2.0's codes for what the checker answers itself.
const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;

/// What the writer task writes.
enum Out {
    /// A whole frame, header included.
    Frame(Vec<u8>),
    /// A message built behind room for its header.
    Message(Message),
    /// tower-lsp-server's output ended: the session is over.
    End,
}

/// Standard input and output around tower-lsp-server (see the module doc).
pub(super) struct Stdio {
    /// What tower-lsp-server reads: the checked frames.
    pub input: Input,
    /// What tower-lsp-server writes to: a pipe to the framer task.
    pub output: tokio::io::DuplexStream,
    /// The writer task; ends after the last frame once `output` is dropped.
    pub writer: tokio::task::JoinHandle<()>,
    /// Frames the server writes itself (published diagnostics).
    pub frames: Frames,
}

/// The server's own way to the writer, beside tower-lsp-server: a publish of
/// hundreds of diagnostics is sent as the JSON kept for them
/// (`published::Converted`) instead of being serialized again, twice, by
/// tower-lsp-server. Notifications only: their order relative to
/// tower-lsp-server's output is not promised by LSP either.
#[derive(Clone)]
pub(crate) struct Frames(mpsc::Sender<Out>);

impl Frames {
    /// Writes one message; false when the session's output is gone.
    pub(crate) async fn send(&self, message: Message) -> bool {
        self.0.send(Out::Message(message)).await.is_ok()
    }
}

/// A message body written behind room for its `Content-Length` header, so
/// that a publish of hundreds of diagnostics is framed without a copy and
/// written in one system call. Its middle may be bytes shared with their
/// owner (`share`): a publish whose diagnostics did not change since the
/// last keystroke sends the same 150 KB again without copying them.
pub(crate) struct Message {
    buf: Vec<u8>,
    /// The shared middle and what follows it.
    shared: Option<(Arc<[u8]>, Vec<u8>)>,
}

impl Message {
    /// More than `Content-Length: <20 digits>\r\n\r\n`.
    const ROOM: usize = 40;

    pub(crate) fn with_capacity(body: usize) -> Message {
        let mut buf = Vec::with_capacity(body + Message::ROOM);
        buf.resize(Message::ROOM, b' ');
        Message { buf, shared: None }
    }

    /// The body so far: append to it only.
    pub(crate) fn body(&mut self) -> &mut Vec<u8> {
        match &mut self.shared {
            Some((_, tail)) => tail,
            None => &mut self.buf,
        }
    }

    /// Appends `bytes` without copying them; `body` appends after them.
    pub(crate) fn share(&mut self, bytes: Arc<[u8]>) {
        if let Some((middle, tail)) = self.shared.take() {
            // One shared part only: an earlier one is copied.
            self.buf.extend_from_slice(&middle);
            self.buf.extend_from_slice(&tail);
        }
        self.shared = Some((bytes, Vec::new()));
    }

    /// The whole frame, in up to three pieces.
    fn frame(&mut self) -> [&[u8]; 3] {
        let len = self.buf.len() - Message::ROOM
            + self.shared.as_ref().map_or(0, |(m, t)| m.len() + t.len());
        let header = format!("Content-Length: {len}\r\n\r\n");
        let from = Message::ROOM - header.len();
        self.buf[from..Message::ROOM].copy_from_slice(header.as_bytes());
        match &self.shared {
            Some((middle, tail)) => [&self.buf[from..], middle, tail],
            None => [&self.buf[from..], &[], &[]],
        }
    }

    /// The body alone (tests).
    #[cfg(test)]
    pub(crate) fn body_bytes(&self) -> Vec<u8> {
        let mut all = self.buf[Message::ROOM..].to_vec();
        if let Some((middle, tail)) = &self.shared {
            all.extend_from_slice(middle);
            all.extend_from_slice(tail);
        }
        all
    }
}

/// `write_all` of several slices, with as few system calls as `out` allows
/// (one `writev` for a pipe that holds them all).
fn write_all_slices(out: &mut impl Write, pieces: [&[u8]; 3]) -> io::Result<()> {
    let mut slices = pieces.map(io::IoSlice::new);
    let mut left = &mut slices[..];
    io::IoSlice::advance_slices(&mut left, 0);
    while !left.is_empty() {
        match out.write_vectored(left) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => io::IoSlice::advance_slices(&mut left, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Starts the stdin reader thread, the framer and the writer task.
pub(super) fn stdio() -> Stdio {
    let (out_tx, out_rx) = mpsc::channel::<Out>(64);
    let (tx, rx) = mpsc::channel(16);
    let replies = out_tx.clone();
    let spawned = std::thread::Builder::new()
        .name("okstra-lsp-stdin".into())
        .spawn(move || {
            pump(io::stdin().lock(), |checked| match checked {
                Checked::Forward(frame) => tx.blocking_send(frame).is_ok(),
                // The writer may be gone (the session ended): keep reading,
                // so `exit` still reaches tower-lsp-server.
                Checked::Reply(frame) => {
                    let _ = replies.blocking_send(Out::Frame(frame));
                    true
                }
            })
        });
    if let Err(e) = spawned {
        error!("cannot start the stdin reader: {e}");
    }
    let (output, pipe) = tokio::io::duplex(64 * 1024);
    let frames = Frames(out_tx.clone());
    tokio::spawn(framer(pipe, out_tx));
    let writer = tokio::task::spawn_blocking(move || {
        let _ = writer(out_rx, raw_stdout());
    });
    Stdio {
        frames,
        input: Input {
            rx,
            pending: Vec::new(),
            pos: 0,
        },
        output,
        writer,
    }
}

/// Cuts tower-lsp-server's output into whole frames for the writer.
async fn framer(pipe: impl AsyncRead + Unpin, out: mpsc::Sender<Out>) {
    let mut pipe = tokio::io::BufReader::new(pipe);
    loop {
        match read_frame(&mut pipe).await {
            Ok(Some(frame)) => {
                if out.send(Out::Frame(frame)).await.is_err() {
                    return;
                }
            }
            Ok(None) => break,
            Err(e) => {
                error!("cannot read the server's own output: {e}");
                break;
            }
        }
    }
    let _ = out.send(Out::End).await;
}

/// One frame as tower-lsp-server writes it (`Content-Length: N` and other
/// headers, an empty line, N bytes), or `None` at the end of its output.
async fn read_frame(
    pipe: &mut (impl tokio::io::AsyncBufRead + Unpin),
) -> io::Result<Option<Vec<u8>>> {
    let mut frame = Vec::new();
    let mut length = None;
    loop {
        let start = frame.len();
        if pipe.read_until(b'\n', &mut frame).await? == 0 {
            return if frame.is_empty() {
                Ok(None)
            } else {
                Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "a frame cut short",
                ))
            };
        }
        let line = String::from_utf8_lossy(&frame[start..]);
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.trim().eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse::<usize>().ok();
        }
    }
    let length = length.ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidData, "a frame without Content-Length")
    })?;
    let start = frame.len();
    frame.resize(start + length, 0);
    pipe.read_exact(&mut frame[start..]).await?;
    Ok(Some(frame))
}

/// Writes frames to `out` in the order they come, each whole and in one
/// `write_all`, until the framer says tower-lsp-server's output ended; then
/// gives `out` back. Runs on a thread of its own (`spawn_blocking`) over
/// the unbuffered standard output: a publish of hundreds of diagnostics
/// (150 KB) goes out in one system call, not through tokio's standard
/// output (a blocking-pool hop for the write and another for the flush,
/// with std's line buffering cutting each frame after its header).
fn writer<W: Write>(mut frames: mpsc::Receiver<Out>, mut out: W) -> W {
    loop {
        let written = match frames.blocking_recv() {
            Some(Out::Frame(frame)) => out.write_all(&frame),
            Some(Out::Message(mut message)) => write_all_slices(&mut out, message.frame()),
            Some(Out::End) | None => break,
        };
        if let Err(e) = written.and_then(|()| out.flush()) {
            // The client is gone; tower-lsp-server notices at its input.
            warn!("cannot write to stdout: {e}");
            return out;
        }
    }
    let _ = out.flush();
    out
}

/// Standard output, unbuffered (the writer writes whole frames), its pipe
/// widened to hold a whole large publish.
#[cfg(unix)]
fn raw_stdout() -> impl Write {
    use std::os::fd::FromRawFd;
    struct Raw(std::mem::ManuallyDrop<std::fs::File>);
    impl Write for Raw {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            (&*self.0).write(buf)
        }
        fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
            (&*self.0).write_vectored(bufs)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    widen_pipe();
    // SAFETY: fd 1 is open for the whole process; ManuallyDrop never closes
    // it (the process's own `stdout` stays usable).
    Raw(std::mem::ManuallyDrop::new(unsafe {
        std::fs::File::from_raw_fd(1)
    }))
}

#[cfg(not(unix))]
fn raw_stdout() -> impl Write {
    io::stdout()
}

/// A pipe on standard output made to hold a whole large publish (1 MiB, the
/// most an unprivileged process may ask for by default on Linux): through
/// the default 64 KB pipe, a 150 KB publish waits for the client to read
/// it in pieces. Not a pipe, or not allowed: nothing changes.
#[cfg(unix)]
fn widen_pipe() {
    #[cfg(target_os = "linux")]
    // SAFETY: F_SETPIPE_SZ on fd 1 only resizes the pipe's buffer, or fails
    // (EBADF, EINVAL, EPERM) when fd 1 is no pipe or the size is refused.
    unsafe {
        libc::fcntl(1, libc::F_SETPIPE_SZ, 1 << 20);
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

/// What the input filter makes of one message.
pub(super) enum Checked {
    /// A frame for tower-lsp-server.
    Forward(Vec<u8>),
    /// A frame for the client: the answer to a malformed request.
    Reply(Vec<u8>),
}

fn framed(body: &[u8]) -> Vec<u8> {
    let mut frame = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    frame.extend_from_slice(body);
    frame
}

/// Reads frames from `input` and hands each checked one, header included, to
/// `emit`, until EOF or until `emit` returns false.
pub(super) fn pump(mut input: impl BufRead, mut emit: impl FnMut(Checked) -> bool) {
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
        let out = match check(body) {
            Verdict::Forward(body) => Checked::Forward(framed(&body)),
            Verdict::Reply(reply) => match serde_json::to_vec(&reply) {
                Ok(body) => Checked::Reply(framed(&body)),
                Err(_) => continue,
            },
            Verdict::Drop => continue,
        };
        if !emit(out) {
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

enum Verdict {
    /// The body as tower-lsp-server can take it.
    Forward(Vec<u8>),
    /// The error response to send instead.
    Reply(Value),
    Drop,
}

/// The start of a body, for log lines and error messages (never the whole
/// of a large one).
fn excerpt(body: &[u8]) -> String {
    let head = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
    if body.len() > 200 {
        format!("{head}…")
    } else {
        head
    }
}

fn error_reply(id: Value, code: i64, message: String) -> Verdict {
    Verdict::Reply(json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": { "code": code, "message": message },
    }))
}

/// What a JSON value that is not a valid message looks like from the outside.
struct Shape {
    has_id: bool,
    /// The id, when it is one tower-lsp-server could have taken (a string
    /// or an integer that fits an i64).
    id: Option<Value>,
    has_method: bool,
    /// It has a `result` or an `error`: a response, not a request.
    response: bool,
}

impl Shape {
    fn of(members: &[(String, Option<Value>)]) -> Shape {
        let get = |name: &str| members.iter().find(|(k, _)| k == name);
        Shape {
            has_id: get("id").is_some(),
            id: get("id")
                .and_then(|(_, v)| v.clone())
                .filter(|id| id.is_string() || id.is_i64()),
            has_method: get("method").is_some(),
            response: get("result").is_some() || get("error").is_some(),
        }
    }
}

/// The body as tower-lsp-server can take it, the reply to send instead, or
/// nothing (see the module doc).
fn check(body: Vec<u8>) -> Verdict {
    if std::str::from_utf8(&body).is_ok() {
        if serde_json::from_slice::<jsonrpc::Response>(&body).is_ok() {
            return Verdict::Forward(body);
        }
        if let Ok(request) = serde_json::from_slice::<jsonrpc::Request>(&body) {
            match request.method() {
                "shutdown" => SHUTDOWN_SEEN.store(true, Ordering::SeqCst),
                "exit" => EXIT_SEEN.store(true, Ordering::SeqCst),
                _ => {}
            }
            return Verdict::Forward(body);
        }
    }
    let (shape, why) = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(members)) => {
            let members: Vec<(String, Option<Value>)> =
                members.into_iter().map(|(k, v)| (k, Some(v))).collect();
            (Some(Shape::of(&members)), "not a valid JSON-RPC request")
        }
        Ok(_) => (None, "not a JSON-RPC message (not an object)"),
        Err(e) if e.to_string().starts_with("recursion limit exceeded") => {
            // Valid so far, but deeper than serde_json goes: read the top
            // level by hand for the id.
            let shape = top_level_members(&body).map(|members| {
                let members: Vec<(String, Option<Value>)> = members
                    .into_iter()
                    .map(|(k, v)| (k, serde_json::from_slice(v).ok()))
                    .collect();
                Shape::of(&members)
            });
            (shape, "nested deeper than 128 levels")
        }
        Err(e) => {
            warn!("a message that is not JSON ({e}): answering ParseError");
            return error_reply(
                Value::Null,
                PARSE_ERROR,
                format!("Parse error: the message is not JSON: {e}"),
            );
        }
    };
    let text = excerpt(&body);
    match shape {
        Some(s) if s.response && !s.has_method => {
            warn!("dropped a malformed response: {text}");
            Verdict::Drop
        }
        Some(s) if s.has_method && !s.has_id => {
            warn!("dropped a malformed notification ({why}): {text}");
            Verdict::Drop
        }
        shape => {
            let id = shape.and_then(|s| s.id).unwrap_or(Value::Null);
            warn!("a malformed request (id {id}, {why}): answering InvalidRequest");
            error_reply(
                id,
                INVALID_REQUEST,
                format!("Invalid request: {why}: {text}"),
            )
        }
    }
}

/// The members of the JSON object `body`, each value as its raw bytes, read
/// without a depth limit (and without checking the values): `None` when
/// `body` is not an object.
///
/// Long on purpose: a small byte-level JSON scanner (strings, escapes,
/// nesting) is one state machine; its states read best in one place.
fn top_level_members(body: &[u8]) -> Option<Vec<(String, &[u8])>> {
    let ws = |mut i: usize| {
        while body.get(i).is_some_and(|b| b.is_ascii_whitespace()) {
            i += 1;
        }
        i
    };
    // The index just past the string that starts at `i`.
    let string_end = |mut i: usize| -> Option<usize> {
        i += 1;
        loop {
            match body.get(i)? {
                b'\\' => i += 2,
                b'"' => return Some(i + 1),
                _ => i += 1,
            }
        }
    };
    // The index just past the value that starts at `i`.
    let value_end = |mut i: usize| -> Option<usize> {
        match body.get(i)? {
            b'"' => string_end(i),
            b'{' | b'[' => {
                let mut depth = 0usize;
                loop {
                    match body.get(i)? {
                        b'"' => {
                            i = string_end(i)?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth = depth.checked_sub(1)?;
                            if depth == 0 {
                                return Some(i + 1);
                            }
                        }
                        _ => {}
                    }
                    i += 1;
                }
            }
            _ => {
                while body
                    .get(i)
                    .is_some_and(|b| !matches!(b, b',' | b'}' | b']') && !b.is_ascii_whitespace())
                {
                    i += 1;
                }
                Some(i)
            }
        }
    };
    let mut i = ws(0);
    if body.get(i) != Some(&b'{') {
        return None;
    }
    i = ws(i + 1);
    let mut members = Vec::new();
    if body.get(i) == Some(&b'}') {
        return Some(members);
    }
    loop {
        if body.get(i) != Some(&b'"') {
            return None;
        }
        let key_end = string_end(i)?;
        let key: String = serde_json::from_slice(&body[i..key_end]).ok()?;
        i = ws(key_end);
        if body.get(i) != Some(&b':') {
            return None;
        }
        let start = ws(i + 1);
        let end = value_end(start)?;
        members.push((key, &body[start..end]));
        i = ws(end);
        match body.get(i)? {
            b',' => i = ws(i + 1),
            b'}' => return Some(members),
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    fn frame(body: &str) -> Vec<u8> {
        format!("Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
    }

    fn body_of(f: Vec<u8>) -> Value {
        let text = String::from_utf8(f).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert_eq!(head, format!("Content-Length: {}", body.len()));
        serde_json::from_str(body).unwrap()
    }

    /// (what goes to tower-lsp-server, what is answered directly).
    fn run(input: &[u8]) -> (Vec<Value>, Vec<Value>) {
        let (mut forwarded, mut replies) = (Vec::new(), Vec::new());
        pump(input, |checked| {
            match checked {
                Checked::Forward(f) => forwarded.push(body_of(f)),
                Checked::Reply(f) => replies.push(body_of(f)),
            }
            true
        });
        (forwarded, replies)
    }

    fn methods(out: &[Value]) -> Vec<&str> {
        out.iter()
            .map(|v| v["method"].as_str().unwrap_or_else(|| panic!("{v}")))
            .collect()
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
        let (out, replies) = run(&input);
        assert_eq!(out.len(), 3);
        assert_eq!(out[0]["method"], "initialize");
        assert_eq!(out[2]["id"], "x");
        assert!(replies.is_empty());
    }

    #[test]
    fn malformed_messages_are_answered_or_dropped() {
        let mut input = frame("{not json");
        input.extend(frame(r#"{"jsonrpc":"2.0","id":7,"method":5}"#));
        input.extend(frame(r#"{"jsonrpc":"1.0","id":"a","method":"shutdown"}"#));
        input.extend(frame(r#"{"jsonrpc":"2.0","id":null,"method":5}"#));
        input.extend(frame("[1, 2]"));
        input.extend(frame(r#"{"jsonrpc":"2.0","id":1.5,"method":"x"}"#));
        input.extend(frame(r#"{"jsonrpc":"2.0","id":{},"method":"x"}"#));
        input.extend(frame(r#"{"jsonrpc":"2.0","id":true,"method":"x"}"#));
        input.extend(frame(r#"{"jsonrpc":"2.0","id":[],"method":"x"}"#));
        input.extend(frame(
            r#"{"jsonrpc":"2.0","id":18446744073709551615,"method":"x"}"#,
        ));
        input.extend(frame(""));
        // Not answered: a malformed notification, a malformed response.
        input.extend(frame(r#"{"jsonrpc":"2.0","method":5}"#));
        input.extend(frame(r#"{"jsonrpc":"1.0","id":3,"result":1}"#));
        input.extend(b"X-Garbage: 1\r\n\r\n");
        input.extend(b"Content-Length: twelve\r\n\r\n");
        input.extend(frame(r#"{"jsonrpc":"2.0","method":"exit"}"#));
        let (out, replies) = run(&input);
        assert_eq!(methods(&out), ["exit"]);
        let answers: Vec<(Value, i64)> = replies
            .iter()
            .map(|r| {
                assert_eq!(r["jsonrpc"], "2.0");
                assert!(r["error"]["message"].is_string());
                (r["id"].clone(), r["error"]["code"].as_i64().unwrap())
            })
            .collect();
        let null = Value::Null;
        assert_eq!(
            answers,
            [
                (null.clone(), PARSE_ERROR),
                (json!(7), INVALID_REQUEST),
                (json!("a"), INVALID_REQUEST),
                (null.clone(), INVALID_REQUEST),
                (null.clone(), INVALID_REQUEST),
                (null.clone(), INVALID_REQUEST),
                (null.clone(), INVALID_REQUEST),
                (null.clone(), INVALID_REQUEST),
                (null.clone(), INVALID_REQUEST),
                (null.clone(), INVALID_REQUEST),
                (null, PARSE_ERROR),
            ]
        );
    }

    fn nested(depth: usize) -> String {
        format!("{}{}", "[".repeat(depth), "]".repeat(depth))
    }

    #[test]
    fn values_nested_too_deep_are_answered_by_id() {
        let deep = nested(200);
        let mut input = frame(&format!(
            r#"{{"jsonrpc":"2.0","id":"deep","method":"textDocument/hover","params":{deep}}}"#
        ));
        input.extend(frame(&format!(
            r#"{{"params": {{"a": [{deep}, "}}]\"", {{}}]}}, "method": "x", "jsonrpc": "2.0", "id" : 42 }}"#
        )));
        // The id itself too deep, a notification, a bare array.
        input.extend(frame(&format!(
            r#"{{"jsonrpc":"2.0","id":{deep},"method":"x"}}"#
        )));
        input.extend(frame(&format!(
            r#"{{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{deep}}}"#
        )));
        input.extend(frame(&deep));
        input.extend(frame(r#"{"jsonrpc":"2.0","method":"exit"}"#));
        let (out, replies) = run(&input);
        assert_eq!(methods(&out), ["exit"]);
        let ids: Vec<&Value> = replies.iter().map(|r| &r["id"]).collect();
        assert_eq!(
            ids,
            [&json!("deep"), &json!(42), &Value::Null, &Value::Null]
        );
        for r in &replies {
            assert_eq!(r["error"]["code"], INVALID_REQUEST);
            assert!(
                r["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("nested deeper than 128")
            );
        }
        // 100 deep is fine: it goes on to tower-lsp-server.
        let (out, replies) = run(&frame(&format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"x","params":{}}}"#,
            nested(100)
        )));
        assert_eq!((out.len(), replies.len()), (1, 0));
    }

    #[test]
    fn the_top_level_is_read_without_a_depth_limit() {
        let members =
            top_level_members(br#" { "a" : "x\"}" , "b":[{"c":"]"}], "id": -3 , "e":{} } "#)
                .unwrap();
        let keys: Vec<(&str, &[u8])> = members.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        assert_eq!(
            keys,
            [
                ("a", &br#""x\"}""#[..]),
                ("b", br#"[{"c":"]"}]"#),
                ("id", b"-3"),
                ("e", b"{}"),
            ]
        );
        assert_eq!(top_level_members(b"{}").unwrap().len(), 0);
        for bad in [
            &b"[1]"[..],
            b"{",
            b"{\"a\"}",
            b"{\"a\":[}",
            b"{\"a\":1 \"b\":2}",
            b"",
        ] {
            assert!(
                top_level_members(bad).is_none(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn a_bad_header_with_a_body_does_not_lose_what_follows() {
        let mut input =
            b"Content-Length: abc\r\n\r\n{\"jsonrpc\":\"2.0\",\"method\":\"x\"}".to_vec();
        input.extend(frame(
            r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#,
        ));
        input.extend(frame(r#"{"jsonrpc":"2.0","method":"exit"}"#));
        let (out, _) = run(&input);
        assert_eq!(methods(&out), ["initialize", "exit"]);
    }

    #[test]
    fn eof_inside_a_message_ends_the_input() {
        let mut input = frame(r#"{"jsonrpc":"2.0","method":"initialized"}"#);
        input.extend(b"Content-Length: 100\r\n\r\n{\"jsonrpc\"");
        assert_eq!(run(&input).0.len(), 1);
        assert_eq!(run(b"Content-Length: 5\r\n").0.len(), 0);
        assert_eq!(run(b"Content-Length: 99999999999999\r\n\r\n{}").0.len(), 0);
    }

    /// A message with shared parts is written whole through an output
    /// that takes a few bytes at a time and is sometimes interrupted.
    #[test]
    fn a_message_in_pieces_is_written_whole() {
        struct Trickle(Vec<u8>, usize);
        impl Write for Trickle {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.1 += 1;
                if self.1.is_multiple_of(4) {
                    return Err(io::ErrorKind::Interrupted.into());
                }
                let n = buf.len().min(3);
                self.0.extend_from_slice(&buf[..n]);
                Ok(n)
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut m = Message::with_capacity(0);
        m.body().extend_from_slice(b"{\"a\":");
        m.share(Arc::from(&b"[1,2"[..]));
        m.body().extend_from_slice(b",3");
        // A second shared part: the first is copied, this one shared.
        m.share(Arc::from(&b",4]"[..]));
        m.body().push(b'}');
        let body = br#"{"a":[1,2,3,4]}"#;
        assert_eq!(m.body_bytes(), body);
        let mut out = Trickle(Vec::new(), 0);
        write_all_slices(&mut out, m.frame()).expect("written");
        assert_eq!(out.0, frame(std::str::from_utf8(body).expect("ASCII")));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_writer_writes_whole_frames_from_both_sources() {
        let (output, pipe) = tokio::io::duplex(64);
        let (tx, rx) = mpsc::channel(4);
        let framer = tokio::spawn(framer(pipe, tx.clone()));
        let writer = tokio::task::spawn_blocking(move || writer(rx, Vec::new()));
        // tower-lsp-server's frames, written in pieces smaller than a frame,
        // while replies arrive.
        let mut output = output;
        let big = "x".repeat(300);
        let ours: Vec<Vec<u8>> = (0..20)
            .map(|i| frame(&format!(r#"{{"jsonrpc":"2.0","id":{i},"result":"{big}"}}"#)))
            .collect();
        let feeder = tokio::spawn(async move {
            for f in ours {
                for piece in f.chunks(7) {
                    output.write_all(piece).await.unwrap();
                }
            }
            output
        });
        for i in 0..20 {
            let reply = format!(
                r#"{{"jsonrpc":"2.0","id":"r{i}","error":{{"code":-32600,"message":"m"}}}}"#
            );
            tx.send(Out::Frame(frame(&reply))).await.unwrap();
            // And the server's own messages, framed in place (bodies of
            // every length of header).
            let mut m = Message::with_capacity(0);
            let pad = "p".repeat(10usize.pow(i % 5));
            m.body()
                .extend_from_slice(br#"{"jsonrpc":"2.0","method":"own","params":"#);
            // Every other one with its params shared, not copied.
            let params = format!(r#""{pad}""#);
            if i % 2 == 0 {
                m.body().extend_from_slice(params.as_bytes());
            } else {
                m.share(Arc::from(params.as_bytes()));
            }
            m.body().push(b'}');
            tx.send(Out::Message(m)).await.unwrap();
        }
        drop(tx);
        // The end of tower-lsp-server's output ends the writer.
        drop(feeder.await.unwrap());
        framer.await.unwrap();
        let all = writer.await.unwrap();
        let (frames, replies) = run(&all);
        assert!(replies.is_empty());
        assert_eq!(frames.len(), 60);
        let own = frames.iter().filter(|v| v["method"] == "own").count();
        assert_eq!(own, 20);
        let results = frames
            .iter()
            .filter(|v| v["result"] == big.as_str())
            .count();
        let errors = frames
            .iter()
            .filter(|v| v["error"]["code"] == -32600)
            .count();
        assert_eq!((results, errors), (20, 20));
    }
}
