//! From a request's path segments to an open file inside the root, or nothing: the part of static
//! file serving that keeps requests inside the directory.
//!
//! Two checks, so that neither has to be perfect alone:
//! 1. [`relative_path`] refuses every segment that could leave or escape the root before the file
//!    system is asked: `.` and `..` (also when they came percent-encoded: routing decodes `%2e%2e`
//!    to `..`), a `/` or `\` inside a segment (`%2F`), NUL, and anything that is not a plain name.
//! 2. [`locate`] canonicalizes the root and the target (resolving every symlink) and serves the
//!    target only if it is still under the canonical root: a symlink pointing out is refused.
//!
//! What is opened is the canonical path, and its metadata is read from the open file, so the
//! checks and the bytes served concern one file.

use std::fs::{File, Metadata};
use std::io;
use std::path::{Component, Path, PathBuf};

/// The path below the root that the segments name, or `None` when a segment is not a plain file
/// name.
pub(super) fn relative_path<'a>(segments: impl IntoIterator<Item = &'a str>) -> Option<PathBuf> {
    let mut path = PathBuf::new();
    for segment in segments {
        let plain = !segment.is_empty()
            && segment != "."
            && segment != ".."
            && !segment.contains(['/', '\\', '\0']);
        if !plain {
            return None;
        }
        path.push(segment);
    }
    // Belt and braces: after the checks above, every component is a name.
    path.components()
        .all(|c| matches!(c, Component::Normal(_)))
        .then_some(path)
}

/// A file found inside the root, open.
#[derive(Debug)]
pub(super) struct Located {
    /// The canonical path (its extension decides the content type).
    pub(super) path: PathBuf,
    pub(super) file: File,
    pub(super) metadata: Metadata,
}

/// Finds `relative` under `root`: the file itself, or, for a directory, its `index` file. `None`
/// when there is nothing to serve (missing, outside the root, a directory without an index, not a
/// regular file). Blocking: run it on the blocking pool.
pub(super) fn locate(
    root: &Path,
    relative: &Path,
    index: Option<&str>,
) -> io::Result<Option<Located>> {
    let root = match absent_is_none(root.canonicalize())? {
        Some(root) => root,
        None => return Ok(None),
    };
    let Some((path, metadata)) = inside(&root, &root.join(relative))? else {
        return Ok(None);
    };
    let path = if metadata.is_dir() {
        let Some(index) = index else {
            return Ok(None);
        };
        match inside(&root, &path.join(index))? {
            Some((path, metadata)) if metadata.is_file() => path,
            _ => return Ok(None),
        }
    } else {
        path
    };
    open(path)
}

/// The canonical path of `candidate` and its metadata, if, symlinks resolved, it lies under the
/// canonical `root` and is a regular file or a directory.
pub(super) fn inside(root: &Path, candidate: &Path) -> io::Result<Option<(PathBuf, Metadata)>> {
    let Some(path) = absent_is_none(candidate.canonicalize())? else {
        return Ok(None);
    };
    if !path.starts_with(root) {
        return Ok(None);
    }
    let Some(metadata) = absent_is_none(std::fs::metadata(&path))? else {
        return Ok(None);
    };
    // Never open anything else: opening a FIFO would block until a writer comes.
    Ok((metadata.is_file() || metadata.is_dir()).then_some((path, metadata)))
}

/// Opens a regular file found by [`inside`]; the metadata is the open file's.
pub(super) fn open(path: PathBuf) -> io::Result<Option<Located>> {
    let Some(file) = absent_is_none(File::open(&path))? else {
        return Ok(None);
    };
    let metadata = file.metadata()?;
    Ok(metadata.is_file().then_some(Located {
        path,
        file,
        metadata,
    }))
}

/// `Ok(None)` for the errors that mean "nothing to serve here" rather than a server fault.
/// Permission denied is one (a file the server may not read is not disclosed), and so is a
/// symlink loop.
fn absent_is_none<T>(result: io::Result<T>) -> io::Result<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(error)
            if matches!(
                error.kind(),
                io::ErrorKind::NotFound
                    | io::ErrorKind::NotADirectory
                    | io::ErrorKind::PermissionDenied
                    | io::ErrorKind::InvalidFilename
            ) || is_symlink_loop(&error) =>
        {
            Ok(None)
        }
        Err(error) => Err(error),
    }
}

#[cfg(unix)]
fn is_symlink_loop(error: &io::Error) -> bool {
    error.raw_os_error() == Some(libc::ELOOP)
}

#[cfg(not(unix))]
fn is_symlink_loop(_error: &io::Error) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths() {
        let cases: &[(&[&str], Option<&str>)] = &[
            (&[], Some("")),
            (&["a.txt"], Some("a.txt")),
            (&["dir", "b c.html"], Some("dir/b c.html")),
            (&[".hidden"], Some(".hidden")),
            (&["..."], Some("...")),
            (&[".."], None),
            (&["a", "..", "b"], None),
            (&["."], None),
            (&["a/b"], None),
            (&["../etc/passwd"], None),
            (&["/etc/passwd"], None),
            (&["a\\..\\b"], None),
            (&["a\0b"], None),
            (&[""], None),
        ];
        for (segments, expected) in cases {
            assert_eq!(
                relative_path(segments.iter().copied()),
                expected.map(PathBuf::from),
                "{segments:?}"
            );
        }
    }
}
