//! Reading files okstra-lsp did not write (plans, `consumers.jsonl`,
//! settings): regular files only, opened without blocking, their size
//! checked before anything is read.
//!
//! A FIFO, a socket or a device with a plan's name (`notes.md`) or named
//! `consumers.jsonl` would make a plain `open` or `read` wait forever (a FIFO
//! without a writer) or never end (`/dev/zero`). Here a file is opened with
//! `O_NONBLOCK` (a FIFO opens at once; a regular file does not notice) and
//! checked on the opened handle (`fstat`, so what is read is what was
//! checked, with no window between a check on the path and the open): only a
//! regular file is read, and only when it is within the size limit.
//!
//! Invariant: nothing here reads a file that is not regular, or more than
//! `limit + 1` bytes of one.

use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read};
use std::path::Path;

use crate::check::rules::Finding;
use crate::plan::config::Config;

/// Settings files (`--config`) larger than this are refused.
pub(crate) const MAX_SETTINGS_BYTES: u64 = 1 << 20;

/// Opens `path` with `options` (plus `O_NONBLOCK`, and `O_NOFOLLOW` when
/// `no_follow`: a symbolic link as the last component fails to open) and
/// returns the file with its metadata, read from the open handle. A file
/// that is not a regular file is an error of kind `InvalidInput` that names
/// what it is.
pub(crate) fn open_regular(
    path: &Path,
    options: &mut OpenOptions,
    no_follow: bool,
) -> io::Result<(File, Metadata)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let mut flags = libc::O_NONBLOCK;
        if no_follow {
            flags |= libc::O_NOFOLLOW;
        }
        options.custom_flags(flags);
    }
    #[cfg(not(unix))]
    let _ = no_follow;
    let file = options.open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "not a regular file ({}): okstra-lsp reads only regular files",
                kind(&meta)
            ),
        ));
    }
    Ok((file, meta))
}

/// What a file that is not a regular file is, in words.
fn kind(meta: &Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_dir() {
        return "a folder";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
    }
    "not a file"
}

/// `N bytes` in the unit a person reads best (`64 MiB`, `1.5 GiB`).
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if value.fract() == 0.0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Reads the whole of an opened regular file of at most `limit` bytes (by
/// its metadata before reading, and by what is read if it grew meanwhile);
/// `Err` with the size when it is larger.
pub(crate) fn read_limited(
    file: &mut File,
    meta: &Metadata,
    limit: u64,
) -> Result<Vec<u8>, TooLarge> {
    if meta.len() > limit {
        return Err(TooLarge::Size(meta.len()));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(TooLarge::Io)?;
    if bytes.len() as u64 > limit {
        return Err(TooLarge::Size(bytes.len() as u64));
    }
    Ok(bytes)
}

/// Why [`read_limited`] read nothing.
#[derive(Debug)]
pub(crate) enum TooLarge {
    /// The file's size (at least this many bytes).
    Size(u64),
    Io(io::Error),
}

/// A settings file: a regular file of at most [`MAX_SETTINGS_BYTES`].
pub(crate) fn read_settings(path: &Path) -> Result<String, String> {
    let at = |e: String| format!("{}: {e}", path.display());
    let (mut file, meta) =
        open_regular(path, OpenOptions::new().read(true), false).map_err(|e| at(e.to_string()))?;
    let bytes = read_limited(&mut file, &meta, MAX_SETTINGS_BYTES).map_err(|e| match e {
        TooLarge::Size(n) => at(format!(
            "{n} bytes, over the {} limit for a settings file",
            size(MAX_SETTINGS_BYTES)
        )),
        TooLarge::Io(e) => at(e.to_string()),
    })?;
    String::from_utf8(bytes).map_err(|e| at(format!("not UTF-8: {e}")))
}

/// A document read from disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Document {
    /// Its whole text (invalid UTF-8 replaced, not refused: a plan with one
    /// bad byte still deserves its diagnostics).
    Text(String),
    /// Larger than `maxDocumentBytes`: not read whole, only its first
    /// `maxDocumentBytes` bytes, enough for the cheap scan for a plan label
    /// (plan-format §1), and its size.
    TooLarge { len: u64, head: String },
}

/// Reads a document: a regular file, whole when it is at most `limit`
/// (`maxDocumentBytes`) bytes by its metadata, else only its first `limit`
/// bytes. Errors are `<path>: <reason>`.
pub(crate) fn read_document(path: &Path, limit: usize) -> Result<Document, String> {
    let at = |e: io::Error| format!("{}: {e}", path.display());
    let (file, meta) = open_regular(path, OpenOptions::new().read(true), false).map_err(at)?;
    let limit = limit as u64;
    // Read one byte past the limit: a file that grew since its metadata
    // was read is too large all the same.
    let mut bytes = Vec::with_capacity(meta.len().min(limit) as usize);
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(at)?;
    let text = |bytes: Vec<u8>| match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    };
    if meta.len() <= limit && bytes.len() as u64 <= limit {
        return Ok(Document::Text(text(bytes)));
    }
    bytes.truncate(limit as usize);
    Ok(Document::TooLarge {
        len: meta.len().max(bytes.len() as u64 + 1),
        head: text(bytes),
    })
}

/// What [`crate::analyze`] reports for a document too large to analyse
/// (one `document-too-large` finding, when a plan label is found), from the
/// first bytes [`read_document`] read and the file's size.
pub(crate) fn too_large_findings(head: &str, len: u64, config: &Config) -> Vec<Finding> {
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    crate::check::rules::too_large_finding(len, crate::check::rules::looks_like_plan(head), config)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Dir(std::path::PathBuf);

    impl Dir {
        fn new(name: &str) -> Dir {
            let dir =
                std::env::temp_dir().join(format!("okstra-files-{name}-{}", std::process::id()));
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

    #[cfg(unix)]
    fn mkfifo(path: &Path) {
        let status = std::process::Command::new("mkfifo")
            .arg(path)
            .status()
            .unwrap();
        assert!(status.success());
    }

    #[cfg(unix)]
    #[test]
    fn special_files_are_refused_at_once() {
        let dir = Dir::new("special");
        let fifo = dir.0.join("notes.md");
        mkfifo(&fifo);
        let started = std::time::Instant::now();
        let err = read_document(&fifo, 1000).unwrap_err();
        assert!(
            err.ends_with(
                "notes.md: not a regular file (a FIFO): okstra-lsp reads only regular files"
            ),
            "{err}"
        );
        let err = read_settings(&fifo).unwrap_err();
        assert!(err.contains("not a regular file (a FIFO)"), "{err}");
        let err = read_document(&dir.0, 1000).unwrap_err();
        assert!(err.contains("not a regular file (a folder)"), "{err}");
        let err = read_document(Path::new("/dev/zero"), 1000).unwrap_err();
        assert!(
            err.contains("not a regular file (a character device)"),
            "{err}"
        );
        // Nothing waited for a writer.
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        // A FIFO opened for append and read, as a reservation opens the file.
        let err =
            open_regular(&fifo, OpenOptions::new().read(true).append(true), true).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    #[cfg(unix)]
    #[test]
    fn no_follow_refuses_a_link() {
        let dir = Dir::new("link");
        std::fs::write(dir.0.join("real"), "x").unwrap();
        std::os::unix::fs::symlink(dir.0.join("real"), dir.0.join("link")).unwrap();
        assert!(open_regular(&dir.0.join("link"), OpenOptions::new().read(true), true).is_err());
        assert!(open_regular(&dir.0.join("link"), OpenOptions::new().read(true), false).is_ok());
    }

    #[test]
    fn documents_over_the_limit_are_read_only_so_far() {
        let dir = Dir::new("large");
        let path = dir.0.join("plan.md");
        let text = format!("# Plan\n\n## 4.5 Stage Map\n\n{}", "x".repeat(5000));
        std::fs::write(&path, &text).unwrap();
        assert_eq!(
            read_document(&path, 6000).unwrap(),
            Document::Text(text.clone())
        );
        assert_eq!(
            read_document(&path, text.len()).unwrap(),
            Document::Text(text.clone())
        );
        let Document::TooLarge { len, head } = read_document(&path, 1000).unwrap() else {
            panic!("read whole");
        };
        assert_eq!((len, head.as_str()), (text.len() as u64, &text[..1000]));
        // The same finding as the whole text gets.
        let config = Config {
            max_document_bytes: 1000,
            ..Config::default()
        };
        assert_eq!(
            too_large_findings(&head, len, &config),
            crate::analyze(&text, &config)
        );
        assert_eq!(too_large_findings(&head, len, &config).len(), 1);
        // Without a plan label in what was read: nothing.
        std::fs::write(&path, "y".repeat(5000)).unwrap();
        let Document::TooLarge { len, head } = read_document(&path, 1000).unwrap() else {
            panic!("read whole");
        };
        assert!(too_large_findings(&head, len, &config).is_empty());
    }

    #[test]
    fn read_limited_checks_the_size_first() {
        let dir = Dir::new("limited");
        let path = dir.0.join("consumers.jsonl");
        std::fs::write(&path, "0123456789").unwrap();
        let open = || open_regular(&path, OpenOptions::new().read(true), true).unwrap();
        let (mut file, meta) = open();
        assert_eq!(read_limited(&mut file, &meta, 10).unwrap(), b"0123456789");
        let (mut file, meta) = open();
        assert!(matches!(
            read_limited(&mut file, &meta, 9),
            Err(TooLarge::Size(10))
        ));
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(size(12), "12 bytes");
        assert_eq!(size(64 << 20), "64 MiB");
        assert_eq!(size(3 << 29), "1.5 GiB");
        assert_eq!(size(200_000_000), "190.7 MiB");
    }
}
