//! The file system, as the CLI, the server and the run batch read it:
//! regular files only, never past a size limit, and the markdown files of a
//! folder. The lowest layer that does I/O.

pub mod files;
pub mod walk;
