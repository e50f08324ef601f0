//! `consumers.jsonl` (plan-format §6): where it is, what it says, and the
//! locked read–select–append that reserves a run batch.
//!
//! Invariants: existing bytes are never rewritten or truncated; the rows of a
//! reservation go out in one `write` of whole `\n`-ended lines on a file
//! opened for append; the exclusive `flock` (std `File::lock`) is held from
//! the read to the append; a line that is not a valid row is reported and
//! skipped, never dropped; the file is never reached through a symbolic link,
//! and only a regular file of at most [`MAX_CONSUMERS_BYTES`] is read or
//! appended to (a FIFO or a device would block or never end: `files`).

use std::collections::HashMap;
use std::fs::{File, Metadata, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::io::files::{self, TooLarge};
use crate::run::batch::Status;
use crate::run::error::{ErrorKind, RunError};
use crate::run::service::Env;

/// `consumers.jsonl` files larger than this are neither read nor appended
/// to: 64 MiB is some 400,000 rows, far more than the runs of any plan write.
pub(crate) const MAX_CONSUMERS_BYTES: u64 = 64 << 20;
/// At most this many invalid lines are listed; the others are counted.
pub(crate) const MAX_INVALID_LINES: usize = 1000;

/// `<plan-run-root>/consumers.jsonl`: the plan file's grandparent folder
/// (okstra's `Path(plan).resolve().parents[1]`).
pub(crate) fn path_for(plan: &Path) -> Result<PathBuf, RunError> {
    let resolved = plan.canonicalize().map_err(|e| {
        RunError::new(
            ErrorKind::PlanUnreadable,
            format!("{}: {e}", plan.display()),
        )
    })?;
    let root = resolved.parent().and_then(Path::parent).ok_or_else(|| {
        RunError::new(
            ErrorKind::NotInARunFolder,
            format!(
                "{}: a plan must sit two folders below its run root (runs/<key>/<dir>/plan.md)",
                plan.display()
            ),
        )
    })?;
    Ok(root.join("consumers.jsonl"))
}

/// A line of the file that is not a usable row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvalidLine {
    /// 1-based.
    pub line: usize,
    pub reason: String,
}

/// What the file says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Consumers {
    pub status: Status,
    /// The first [`MAX_INVALID_LINES`] invalid lines.
    pub invalid: Vec<InvalidLine>,
    /// Invalid lines past those.
    pub invalid_omitted: usize,
    /// The file's bytes end without `\n` (the next row must start on a new line).
    pub missing_final_newline: bool,
}

/// Reads rows from the file's text.
pub fn parse(text: &str) -> Consumers {
    let mut c = Consumers {
        missing_final_newline: !text.is_empty() && !text.ends_with('\n'),
        ..Default::default()
    };
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let reason = match serde_json::from_str::<Value>(line) {
            Err(e) => Some(format!("not JSON: {e}")),
            Ok(Value::Object(obj)) => {
                let stage = match obj.get("stage") {
                    Some(Value::Number(n)) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
                    Some(Value::String(s)) => s.trim().parse().ok(),
                    _ => None,
                };
                let status = obj.get("status").and_then(Value::as_str);
                let key = obj
                    .get("impl_task_key")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                match (stage, status) {
                    (None, _) => Some("no integer `stage`".to_string()),
                    (Some(n), Some("done")) => {
                        c.status.done.insert(n);
                        None
                    }
                    (Some(n), Some("started")) => {
                        let by = c.status.started.entry(n).or_default();
                        if !by.contains(&key) {
                            by.push(key);
                        }
                        None
                    }
                    (Some(_), other) => Some(format!("unknown `status` {other:?}")),
                }
            }
            Ok(_) => Some("not a JSON object".to_string()),
        };
        if let Some(reason) = reason {
            if c.invalid.len() < MAX_INVALID_LINES {
                c.invalid.push(InvalidLine {
                    line: i + 1,
                    reason,
                });
            } else {
                c.invalid_omitted += 1;
            }
        }
    }
    // A done stage is no longer "started".
    let done = c.status.done.clone();
    c.status.started.retain(|n, _| !done.contains(n));
    c
}

/// Reads the file; a missing file is an empty one.
pub fn read(path: &Path) -> Result<Consumers, RunError> {
    match open_to_read(path)? {
        None => Ok(Consumers::default()),
        Some((mut file, meta)) => Ok(parse(&read_all(&mut file, &meta, path)?)),
    }
}

/// Opens the file to read it (a regular file, not through a link); `None`
/// when there is none.
fn open_to_read(path: &Path) -> Result<Option<(File, Metadata)>, RunError> {
    refuse_link(path)?;
    match files::open_regular(path, OpenOptions::new().read(true), true) {
        Ok(opened) => Ok(Some(opened)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(unreadable(path, e)),
    }
}

fn unreadable(path: &Path, e: impl std::fmt::Display) -> RunError {
    RunError::new(
        ErrorKind::ConsumersUnreadable,
        format!("{}: {e}", path.display()),
    )
}

/// The text of an opened file within [`MAX_CONSUMERS_BYTES`].
fn read_all(file: &mut File, meta: &Metadata, path: &Path) -> Result<String, RunError> {
    match files::read_limited(file, meta, MAX_CONSUMERS_BYTES) {
        Ok(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
        Err(TooLarge::Size(len)) => Err(too_large(path, len)),
        Err(TooLarge::Io(e)) => Err(unreadable(path, e)),
    }
}

fn too_large(path: &Path, len: u64) -> RunError {
    RunError::new(
        ErrorKind::ConsumersTooLarge,
        format!(
            "{}: {len} bytes, over the {} limit for consumers.jsonl: okstra-lsp neither reads nor appends to it",
            path.display(),
            files::size(MAX_CONSUMERS_BYTES)
        ),
    )
}

/// What a file was when it was parsed: the same file (device and inode),
/// the same size and the same modification time mean the same content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    len: u64,
    modified: Option<SystemTime>,
}

impl Stamp {
    fn of(meta: &Metadata) -> Stamp {
        #[cfg(unix)]
        let (dev, ino) = {
            use std::os::unix::fs::MetadataExt;
            (meta.dev(), meta.ino())
        };
        #[cfg(not(unix))]
        let (dev, ino) = (0, 0);
        Stamp {
            dev,
            ino,
            len: meta.len(),
            modified: meta.modified().ok(),
        }
    }
}

/// A file modified less than this before it was read may change again
/// without its modification time changing (file systems keep it in ticks
/// of up to 2 s): its parse is not reused.
const RACY: Duration = Duration::from_secs(3);
/// Run roots remembered, at most (then the cache starts again).
const CACHED_FILES: usize = 256;

/// Parsed `consumers.jsonl` files by path, for the readiness the editor
/// shows (code lens, hover, inlay hints) and previews: a parse is reused
/// only while a metadata call on the opened file finds the same [`Stamp`],
/// so a change is seen on the next use without any file-watcher event (most
/// clients send none). A reservation never uses it: it reads the file under
/// its lock.
#[derive(Default)]
pub(crate) struct Cache {
    parsed: Mutex<HashMap<PathBuf, (Stamp, Arc<Consumers>)>>,
}

impl Cache {
    /// What [`read`] returns, parsed again only when the file changed.
    /// The lock is held only to look up and to store, never while reading.
    pub fn read(&self, path: &Path) -> Result<Arc<Consumers>, RunError> {
        let Some((mut file, meta)) = open_to_read(path)? else {
            return Ok(Arc::default());
        };
        let stamp = Stamp::of(&meta);
        let hit = self.parsed.lock().ok().and_then(|parsed| {
            parsed
                .get(path)
                .filter(|(s, _)| *s == stamp)
                .map(|(_, c)| c.clone())
        });
        if let Some(hit) = hit {
            return Ok(hit);
        }
        let read_at = SystemTime::now();
        let consumers = Arc::new(parse(&read_all(&mut file, &meta, path)?));
        let settled = stamp
            .modified
            .and_then(|m| read_at.duration_since(m).ok())
            .is_some_and(|age| age >= RACY);
        if let Ok(mut parsed) = self.parsed.lock() {
            if settled {
                if parsed.len() >= CACHED_FILES && !parsed.contains_key(path) {
                    parsed.clear();
                }
                parsed.insert(path.to_path_buf(), (stamp, consumers.clone()));
            } else {
                parsed.remove(path);
            }
        }
        Ok(consumers)
    }
}

/// `consumers.jsonl` is never read or written through a symbolic link: the
/// link could lead anywhere, and rows would be appended there (SECURITY.md).
fn refuse_link(path: &Path) -> Result<(), RunError> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => Err(unreadable(
            path,
            "is a symbolic link; okstra-lsp does not follow it",
        )),
        _ => Ok(()),
    }
}

/// A `started` row, fields in okstra's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartedRow {
    pub impl_task_key: String,
    pub stage: u32,
    pub status: String,
    pub started_at: String,
    pub head_commit: String,
}

/// The locked read–decide–append of a reservation: takes the exclusive lock,
/// reads the file under it, asks `decide` what to append (`decide` sees the
/// file's text and returns whole `\n`-ended lines, or why nothing is
/// appended), appends that in one `write` and unlocks. A missing file is
/// created only when `decide` has something to append to an empty one.
pub(crate) fn append_locked(
    path: &Path,
    decide: &mut dyn FnMut(&str) -> Result<String, RunError>,
) -> Result<(), RunError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return Err(RunError::new(
            ErrorKind::RunFolderMissing,
            format!("{}: the run folder does not exist", dir.display()),
        ));
    }
    refuse_link(path)?;
    // Nothing to reserve leaves no trace: a missing file is not created just
    // to record that (under the lock the decision is made again).
    if !path.exists() {
        decide("")?;
    }
    let opened = files::open_regular(
        path,
        OpenOptions::new().read(true).append(true).create(true),
        true,
    );
    let (mut file, meta) = opened.map_err(|e| {
        RunError::new(
            ErrorKind::ConsumersUnwritable,
            format!("{}: cannot open for append: {e}", path.display()),
        )
    })?;
    // Refused before the lock is taken: nothing waits on a file this large.
    if meta.len() > MAX_CONSUMERS_BYTES {
        return Err(too_large(path, meta.len()));
    }
    file.lock()
        .map_err(|e| unreadable(path, format!("cannot lock: {e}")))?;
    let result = append_under_lock(&mut file, path, decide);
    // Unlocking also happens when `file` is dropped; an explicit unlock makes
    // the lock's end visible here.
    let _ = file.unlock();
    result
}

fn append_under_lock(
    file: &mut File,
    path: &Path,
    decide: &mut dyn FnMut(&str) -> Result<String, RunError>,
) -> Result<(), RunError> {
    // Its size again, now that no other reservation can append.
    let meta = file.metadata().map_err(|e| unreadable(path, e))?;
    let text = read_all(file, &meta, path)?;
    let out = decide(&text)?;
    // All rows go out in one `write`: a process killed here leaves either
    // every row or none, and never half a line.
    test_hooks::pause_before_append();
    let unwritable = |e: std::io::Error| {
        RunError::new(
            ErrorKind::ConsumersUnwritable,
            format!("{}: {e}", path.display()),
        )
    };
    file.write_all(out.as_bytes()).map_err(unwritable)?;
    file.sync_data().map_err(unwritable)
}

/// The real environment of the run-batch service: `consumers.jsonl` on
/// disk (through `cache` for previews, when given), the system clock and git.
#[derive(Default, Clone, Copy)]
pub struct Disk<'a> {
    cache: Option<&'a Cache>,
}

impl<'a> Disk<'a> {
    /// Previews read through `cache` (a reservation never does).
    pub(crate) fn cached(cache: &'a Cache) -> Disk<'a> {
        Disk { cache: Some(cache) }
    }
}

impl Env for Disk<'_> {
    fn read_consumers(&self, path: &Path) -> Result<Arc<Consumers>, RunError> {
        match self.cache {
            Some(cache) => cache.read(path),
            None => read(path).map(Arc::new),
        }
    }

    fn append_locked(
        &self,
        path: &Path,
        decide: &mut dyn FnMut(&str) -> Result<String, RunError>,
    ) -> Result<(), RunError> {
        append_locked(path, decide)
    }

    fn now(&self) -> String {
        now_utc()
    }

    fn head_commit(&self, dir: &Path) -> String {
        head_commit(dir)
    }
}

/// Hooks for the fault tests, inert unless `OKSTRA_LSP_TEST_HOOKS=1`.
mod test_hooks {
    /// With `OKSTRA_LSP_TEST_RESERVE_PAUSE_MS=N`, sleeps N ms while holding
    /// the lock, after selection and before the append, so a test can kill
    /// the process exactly there.
    pub(crate) fn pause_before_append() {
        if std::env::var_os("OKSTRA_LSP_TEST_HOOKS").is_none_or(|v| v != "1") {
            return;
        }
        let ms = std::env::var("OKSTRA_LSP_TEST_RESERVE_PAUSE_MS")
            .ok()
            .and_then(|v| v.parse::<u64>().ok());
        if let Some(ms) = ms {
            eprintln!("okstra-lsp: test hook: pausing {ms} ms before append");
            std::thread::sleep(std::time::Duration::from_millis(ms));
        }
    }
}

/// The git HEAD of the repository holding `dir`, or "" (git runs with a fixed
/// argument list, no shell).
pub(crate) fn head_commit(dir: &Path) -> String {
    std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["rev-parse", "--verify", "--quiet", "HEAD"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// Now, in UTC, as okstra writes `started_at` (Python's
/// `datetime.now(timezone.utc).isoformat()`): `2026-06-05T09:30:00.123456+00:00`.
/// One call per reservation: every row of a batch carries the same timestamp.
pub(crate) fn now_utc() -> String {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    iso8601(since.as_secs(), since.subsec_micros())
}

/// Seconds and microseconds since the epoch as UTC ISO 8601 exactly as
/// Python's `datetime.isoformat()` writes an aware UTC time: six fractional
/// digits and a `+00:00` offset, the fraction left out when it is exactly
/// zero (Howard Hinnant's civil_from_days).
pub(crate) fn iso8601(secs: u64, micros: u32) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let fraction = match micros.min(999_999) {
        0 => String::new(),
        us => format!(".{us:06}"),
    };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}{fraction}+00:00",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates() {
        assert_eq!(iso8601(0, 0), "1970-01-01T00:00:00+00:00");
        assert_eq!(iso8601(951_782_400, 7), "2000-02-29T00:00:00.000007+00:00");
        assert_eq!(
            iso8601(1_795_910_400 + 3661, 123_456),
            "2026-11-29T01:01:01.123456+00:00"
        );
        // plan-format §6's example.
        assert_eq!(
            iso8601(1_780_651_800, 123_456),
            "2026-06-05T09:30:00.123456+00:00"
        );
        assert_eq!(
            iso8601(1_780_703_999, 999_999),
            "2026-06-05T23:59:59.999999+00:00"
        );
    }

    /// `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00$`, without a regex crate
    /// (Python leaves out a zero fraction).
    fn python_isoformat_shape(s: &str) -> bool {
        [
            "9999-99-99T99:99:99.999999+00:00",
            "9999-99-99T99:99:99+00:00",
        ]
        .iter()
        .any(|shape| {
            s.len() == shape.len()
                && s.bytes().zip(shape.bytes()).all(|(c, p)| match p {
                    b'9' => c.is_ascii_digit(),
                    _ => c == p,
                })
        })
    }

    #[test]
    fn now_is_written_as_python_writes_it() {
        let now = now_utc();
        assert!(python_isoformat_shape(&now), "{now}");
        assert!(now.as_str() > "2026-01-01", "{now}");
        assert!(python_isoformat_shape("2026-06-05T09:30:00.123456+00:00"));
        assert!(python_isoformat_shape("2026-06-05T09:30:00+00:00"));
        for wrong in [
            "2026-06-05T09:30:00Z",
            "2026-06-05T09:30:00.12345+00:00",
            "2026-06-05T09:30:00.123456Z",
            "2026-06-05 09:30:00.123456+00:00",
        ] {
            assert!(!python_isoformat_shape(wrong), "{wrong}");
        }
    }

    #[test]
    fn rows_with_either_timestamp_shape_are_read() {
        let c = parse(
            "{\"impl_task_key\":\"a\",\"stage\":1,\"status\":\"started\",\"started_at\":\"2026-01-01T00:00:00Z\",\"head_commit\":\"\"}\n\
             {\"impl_task_key\":\"b\",\"stage\":2,\"status\":\"started\",\"started_at\":\"2026-06-05T09:30:00.123456+00:00\",\"head_commit\":\"\"}\n\
             {\"impl_task_key\":\"a\",\"stage\":1,\"status\":\"done\",\"completed_at\":\"2026-06-05T10:00:00+00:00\"}\n",
        );
        assert!(c.invalid.is_empty(), "{:?}", c.invalid);
        assert_eq!(c.status.done.iter().copied().collect::<Vec<_>>(), [1]);
        assert_eq!(c.status.started.get(&2), Some(&vec!["b".to_string()]));
    }

    #[test]
    fn parse_reports_bad_lines_and_tracks_status() {
        let c = parse(
            "{\"stage\":1,\"status\":\"started\",\"impl_task_key\":\"a\"}\nnot json\n{\"stage\":1,\"status\":\"done\"}\n[1]\n{\"stage\":\"2\",\"status\":\"started\",\"impl_task_key\":\"b\"}",
        );
        assert_eq!(c.status.done.iter().copied().collect::<Vec<_>>(), [1]);
        assert_eq!(c.status.started.get(&2), Some(&vec!["b".to_string()]));
        assert!(!c.status.started.contains_key(&1));
        assert_eq!(c.invalid.iter().map(|i| i.line).collect::<Vec<_>>(), [2, 4]);
        assert!(c.missing_final_newline);
    }

    #[test]
    fn invalid_lines_are_listed_up_to_a_limit() {
        let c = parse(&"x\n".repeat(MAX_INVALID_LINES + 5));
        assert_eq!(c.invalid.len(), MAX_INVALID_LINES);
        assert_eq!(c.invalid_omitted, 5);
        assert_eq!(c.invalid.last().map(|i| i.line), Some(MAX_INVALID_LINES));
    }

    /// A fresh folder under the temp dir, removed afterwards.
    struct Dir(PathBuf);

    impl Dir {
        fn new(name: &str) -> Dir {
            let dir = std::env::temp_dir()
                .join(format!("okstra-consumers-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Dir(dir)
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn done(n: u32) -> String {
        format!("{{\"stage\":{n},\"status\":\"done\"}}\n")
    }

    fn set_mtime(path: &Path, time: SystemTime) {
        let file = OpenOptions::new().write(true).open(path).unwrap();
        file.set_modified(time).unwrap();
    }

    #[test]
    fn the_cache_reuses_a_parse_while_the_file_is_the_same() {
        let dir = Dir::new("cache");
        let path = dir.0.join("consumers.jsonl");
        let cache = Cache::default();
        let (old, older) = (
            SystemTime::now() - Duration::from_secs(50),
            SystemTime::now() - Duration::from_secs(100),
        );
        let done_of = |c: &Consumers| c.status.done.iter().copied().collect::<Vec<_>>();
        // Missing: empty, and nothing remembered.
        assert_eq!(done_of(&cache.read(&path).unwrap()), Vec::<u32>::new());
        std::fs::write(&path, done(1)).unwrap();
        set_mtime(&path, older);
        let first = cache.read(&path).unwrap();
        assert_eq!(done_of(&first), [1]);
        assert!(
            Arc::ptr_eq(&first, &cache.read(&path).unwrap()),
            "parsed again"
        );
        // Same size, same inode, same mtime, other bytes: the parse is
        // reused (the proof that the cache is used at all).
        std::fs::write(&path, done(2)).unwrap();
        set_mtime(&path, older);
        assert!(Arc::ptr_eq(&first, &cache.read(&path).unwrap()));
        // Only the mtime changes: read again.
        set_mtime(&path, old);
        assert_eq!(done_of(&cache.read(&path).unwrap()), [2]);
        // Another file with the same size and mtime renamed over it.
        let other = dir.0.join("other");
        std::fs::write(&other, done(3)).unwrap();
        set_mtime(&other, old);
        std::fs::rename(&other, &path).unwrap();
        assert_eq!(done_of(&cache.read(&path).unwrap()), [3]);
        // Grown.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(done(4).as_bytes())
            .unwrap();
        set_mtime(&path, old);
        assert_eq!(done_of(&cache.read(&path).unwrap()), [3, 4]);
        // Just written (its mtime may not move on the next write): not reused.
        std::fs::write(&path, done(5)).unwrap();
        let recent = cache.read(&path).unwrap();
        assert!(!Arc::ptr_eq(&recent, &cache.read(&path).unwrap()));
        // Gone: empty.
        std::fs::remove_file(&path).unwrap();
        assert_eq!(done_of(&cache.read(&path).unwrap()), Vec::<u32>::new());
    }

    /// A decision that appends one row, to see that nothing is appended.
    fn one_row(_: &str) -> Result<String, RunError> {
        Ok(done(1))
    }

    #[test]
    fn a_file_over_the_limit_is_neither_read_nor_appended_to() {
        let dir = Dir::new("large");
        let path = dir.0.join("consumers.jsonl");
        // Sparse: its size says it all, nothing is read.
        let file = File::create(&path).unwrap();
        file.set_len(MAX_CONSUMERS_BYTES + 1).unwrap();
        drop(file);
        let err = read(&path).unwrap_err();
        assert_eq!(err.kind, ErrorKind::ConsumersTooLarge);
        assert!(
            err.message.ends_with("consumers.jsonl: 67108865 bytes, over the 64 MiB limit for consumers.jsonl: okstra-lsp neither reads nor appends to it"),
            "{err}"
        );
        assert_eq!(Cache::default().read(&path).unwrap_err(), err);
        let r = append_locked(&path, &mut one_row).unwrap_err();
        assert_eq!(r, err);
        assert_eq!(
            std::fs::metadata(&path).unwrap().len(),
            MAX_CONSUMERS_BYTES + 1
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_neither_read_nor_appended_to() {
        let dir = Dir::new("fifo");
        let path = dir.0.join("consumers.jsonl");
        let made = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .unwrap();
        assert!(made.success());
        let started = std::time::Instant::now();
        let err = read(&path).unwrap_err();
        assert_eq!(err.kind, ErrorKind::ConsumersUnreadable);
        assert!(err.message.contains("not a regular file (a FIFO)"), "{err}");
        let err = Cache::default().read(&path).unwrap_err();
        assert!(err.message.contains("not a regular file (a FIFO)"), "{err}");
        let err = append_locked(&path, &mut one_row).unwrap_err();
        assert_eq!(err.kind, ErrorKind::ConsumersUnwritable);
        assert!(err.message.contains("not a regular file (a FIFO)"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn append_locked_appends_what_was_decided_on_the_text_under_the_lock() {
        let dir = Dir::new("append");
        let path = dir.0.join("consumers.jsonl");
        // Nothing to append to a missing file: it is not created.
        let nothing = |_: &str| Err(RunError::new(ErrorKind::NoStageReady, "none"));
        let err = append_locked(&path, &mut { nothing }).unwrap_err();
        assert_eq!(err.kind, ErrorKind::NoStageReady);
        assert!(!path.exists());
        // The decision sees the bytes there, and its lines are appended.
        std::fs::write(&path, "garbage").unwrap();
        let mut seen = Vec::new();
        append_locked(&path, &mut |text| {
            seen.push(text.to_string());
            Ok("\nrow\n".to_string())
        })
        .unwrap();
        assert_eq!(seen, ["garbage"]);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "garbage\nrow\n");
        // A refusal under the lock appends nothing.
        let err = append_locked(&path, &mut { nothing }).unwrap_err();
        assert_eq!(err.message, "none");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "garbage\nrow\n");
        // A missing run folder.
        let gone = dir.0.join("gone/consumers.jsonl");
        let err = append_locked(&gone, &mut one_row).unwrap_err();
        assert_eq!(err.kind, ErrorKind::RunFolderMissing);
        assert!(!gone.exists());
    }

    #[cfg(unix)]
    #[test]
    fn a_symbolic_link_is_neither_read_nor_appended_to() {
        let dir = Dir::new("link");
        let target = dir.0.join("target");
        std::fs::write(&target, "").unwrap();
        let path = dir.0.join("consumers.jsonl");
        std::os::unix::fs::symlink(&target, &path).unwrap();
        let err = append_locked(&path, &mut one_row).unwrap_err();
        assert_eq!(err.kind, ErrorKind::ConsumersUnreadable);
        assert!(
            err.message
                .ends_with("is a symbolic link; okstra-lsp does not follow it")
        );
        assert_eq!(read(&path).unwrap_err(), err);
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "");
    }
}
