//! The language server as a whole, under random edits: after any sequence of
//! incremental changes sent over stdio to the real binary, the diagnostics it
//! published last (tagged with the last version) equal what `okstra-lsp check
//! --format json` reports for the same final text. Fixed seed, bounded cases.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use okstra_lsp::engine::generate::{self, Spec};
use proptest::prelude::*;
use serde_json::{Value, json};

mod common;
use common::{PIECES, boundary, runner};

const BIN: &str = env!("CARGO_BIN_EXE_okstra-lsp");

struct Server {
    child: Child,
    stdin: ChildStdin,
    messages: Receiver<Value>,
    next_id: i64,
}

impl Server {
    fn start() -> Server {
        let mut child = Command::new(BIN)
            .arg("--stdio")
            .env("OKSTRA_LSP_LOG", "error")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let (tx, messages) = channel();
        std::thread::spawn(move || {
            loop {
                let mut length = None;
                loop {
                    let mut line = String::new();
                    if stdout.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(v) = line.strip_prefix("Content-Length: ") {
                        length = v.parse::<usize>().ok();
                    }
                }
                let mut body = vec![0; length.unwrap_or(0)];
                if stdout.read_exact(&mut body).is_err() {
                    return;
                }
                if let Ok(v) = serde_json::from_slice(&body)
                    && tx.send(v).is_err()
                {
                    return;
                }
            }
        });
        let mut server = Server {
            child,
            stdin,
            messages,
            next_id: 1,
        };
        // utf-8 positions; no pull support, so diagnostics are pushed.
        let id = server.request(
            "initialize",
            json!({"capabilities": {"general": {"positionEncodings": ["utf-8"]}}}),
        );
        let init = server.response(id);
        assert_eq!(init["result"]["capabilities"]["positionEncoding"], "utf-8");
        server.notify("initialized", json!({}));
        server
    }

    fn send(&mut self, msg: Value) {
        let body = msg.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        self.stdin.flush().unwrap();
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    fn request(&mut self, method: &str, params: Value) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        id
    }

    fn next(&self, deadline: Instant) -> Value {
        let left = deadline.saturating_duration_since(Instant::now());
        self.messages
            .recv_timeout(left)
            .expect("the server answered in time")
    }

    fn response(&mut self, id: i64) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let m = self.next(deadline);
            if m["id"] == id && m.get("method").is_none() {
                return m;
            }
            if let (Some(rid), Some(_)) = (m.get("id"), m.get("method")) {
                // A request from the server (configuration, registration): answer null.
                let rid = rid.clone();
                self.send(json!({"jsonrpc": "2.0", "id": rid, "result": null}));
            }
        }
    }

    /// The diagnostics published for `uri` at `version`.
    fn published(&mut self, uri: &str, version: i64) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let m = self.next(deadline);
            if m["method"] == "textDocument/publishDiagnostics"
                && m["params"]["uri"] == uri
                && m["params"]["version"] == version
            {
                return m["params"]["diagnostics"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
            }
            if let (Some(rid), Some(_)) = (m.get("id"), m.get("method")) {
                let rid = rid.clone();
                self.send(json!({"jsonrpc": "2.0", "id": rid, "result": null}));
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Byte offsets where lines start (LSP: `\n`, `\r\n` and a lone `\r` end lines).
fn line_starts(text: &str) -> Vec<usize> {
    let b = text.as_bytes();
    let mut starts = vec![0];
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\r' if b.get(i + 1) == Some(&b'\n') => {
                i += 1;
                starts.push(i + 1);
            }
            b'\r' | b'\n' => starts.push(i + 1),
            _ => {}
        }
        i += 1;
    }
    starts
}

/// A byte offset as an LSP utf-8 position.
fn position(text: &str, starts: &[usize], offset: usize) -> Value {
    let line = starts.partition_point(|&s| s <= offset) - 1;
    let _ = text;
    json!({"line": line, "character": offset - starts[line]})
}

/// An LSP utf-8 position as `check`'s 1-based line and scalar column.
fn scalar(text: &str, starts: &[usize], pos: &Value) -> (u64, u64) {
    let line = pos["line"].as_u64().unwrap() as usize;
    let col = pos["character"].as_u64().unwrap() as usize;
    let start = starts[line.min(starts.len() - 1)];
    let end = (start + col).min(text.len());
    let chars = text.get(start..end).map_or(0, |s| s.chars().count());
    (line as u64 + 1, chars as u64 + 1)
}

#[derive(Debug, Clone)]
enum Edit {
    Insert { at: usize, piece: usize },
    Delete { at: usize, len: usize },
}

fn edit_strategy() -> impl Strategy<Value = Edit> {
    prop_oneof![
        3 => (any::<usize>(), 0..PIECES.len()).prop_map(|(at, piece)| Edit::Insert { at, piece }),
        1 => (any::<usize>(), 1usize..30).prop_map(|(at, len)| Edit::Delete { at, len }),
    ]
}

#[test]
fn last_published_diagnostics_equal_check_on_the_final_text() {
    let base = generate::plan(&Spec {
        overlap_every: 3,
        cycle: true,
        over_cap_every: 4,
        orphan_ref: true,
        ..Spec::clean(6)
    });
    let dir = std::env::temp_dir().join(format!("okstra-lsp-prop-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let server = std::cell::RefCell::new(Server::start());
    let case = std::cell::Cell::new(0);
    let mut runner = runner(24);
    runner
        .run(&proptest::collection::vec(edit_strategy(), 1..30), |edits| {
            case.set(case.get() + 1);
            let case = case.get();
            let mut server = server.borrow_mut();
            let uri = format!("file:///okstra-prop/runs/p/planning/case-{case}.md");
            let mut text = base.clone();
            server.notify(
                "textDocument/didOpen",
                json!({"textDocument": {"uri": uri, "languageId": "markdown", "version": 0, "text": text}}),
            );
            let mut version = 0;
            for e in &edits {
                let (start, end, new) = match e {
                    Edit::Insert { at, piece } => {
                        let at = boundary(&text, at % (text.len() + 1));
                        (at, at, PIECES[*piece])
                    }
                    Edit::Delete { at, len } => {
                        let start = boundary(&text, at % (text.len() + 1));
                        (start, boundary(&text, start + len), "")
                    }
                };
                let starts = line_starts(&text);
                let range = json!({
                    "start": position(&text, &starts, start),
                    "end": position(&text, &starts, end),
                });
                text.replace_range(start..end, new);
                version += 1;
                // A burst: nothing awaited between changes.
                server.notify(
                    "textDocument/didChange",
                    json!({
                        "textDocument": {"uri": uri, "version": version},
                        "contentChanges": [{"range": range, "text": new}],
                    }),
                );
            }
            let published = server.published(&uri, version);
            server.notify("textDocument/didClose", json!({"textDocument": {"uri": uri}}));

            let file = dir.join(format!("case-{case}.md"));
            std::fs::write(&file, &text).unwrap();
            let out = Command::new(BIN)
                .args(["check", "--format", "json"])
                .arg(&file)
                .output()
                .unwrap();
            let checked: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
            let starts = line_starts(&text);
            let mut from_server: Vec<String> = published
                .iter()
                .map(|d| {
                    let (l, c) = scalar(&text, &starts, &d["range"]["start"]);
                    let (el, ec) = scalar(&text, &starts, &d["range"]["end"]);
                    format!("{l}:{c}-{el}:{ec} {} {}", d["code"].as_str().unwrap_or(""), d["message"])
                })
                .collect();
            let mut from_check: Vec<String> = checked
                .iter()
                .map(|d| {
                    format!(
                        "{}:{}-{}:{} {} {}",
                        d["line"], d["column"], d["end_line"], d["end_column"],
                        d["code"].as_str().unwrap_or(""), d["message"]
                    )
                })
                .collect();
            from_server.sort();
            from_check.sort();
            prop_assert_eq!(from_server, from_check, "case {} after {:?}", case, edits);
            Ok(())
        })
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
