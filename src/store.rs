//! The one content-addressed store under every cache: where the cache directory is, how keys are hashed,
//! how a file is written so that no reader ever sees half of it, how a directory built elsewhere is
//! published in one step, and the lock that lets processes share one build.
//!
//! Users: the compile cache (`sim::toolchain`), RTL variants (`sim::accel::variant`) and the object cache of
//! the Verilator build (`sim::vbuild`, also compiled into build.rs), the verdict cache (`bench::eval_cache`)
//! and the harness files of `bench::eval`, and the LLM response store (`opt::llm::store`).
//!
//! This file sits below the three parts and depends only on std and sha2, so that build.rs can include it
//! with `#[path]` as it does vbuild.rs.

use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The cache directory: `$GEMFORGE_CACHE_DIR`, else `$XDG_CACHE_HOME/gemforge`, else
/// `$HOME/.cache/gemforge`, else a directory under the system's temporary directory.
pub fn cache_dir() -> PathBuf {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(d) = env("GEMFORGE_CACHE_DIR") {
        return d;
    }
    if let Some(d) = env("XDG_CACHE_HOME").filter(|d| d.is_absolute()) {
        return d.join("gemforge");
    }
    if let Some(h) = env("HOME") {
        return h.join(".cache").join("gemforge");
    }
    std::env::temp_dir().join("gemforge-cache")
}

/// Lower-case hexadecimal of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// The SHA-256 of `bytes`, in hexadecimal.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// A cache key built from fields. Each field is length-prefixed, so field boundaries are part of the hash
/// ("ab" + "c" and "a" + "bc" give different keys).
#[derive(Clone)]
pub struct KeyHasher(Sha256);

impl KeyHasher {
    pub fn new() -> KeyHasher {
        KeyHasher(Sha256::new())
    }

    /// Add one field.
    pub fn field(&mut self, bytes: impl AsRef<[u8]>) -> &mut KeyHasher {
        let bytes = bytes.as_ref();
        self.0.update((bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
        self
    }

    /// The key, in hexadecimal (64 characters).
    pub fn finish(self) -> String {
        hex(&self.0.finalize())
    }
}

impl Default for KeyHasher {
    fn default() -> Self {
        KeyHasher::new()
    }
}

/// An I/O error that names the path it happened on.
fn at(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// A name for a temporary file or directory beside `path`, unique across processes and threads.
fn temp_sibling(path: &Path, suffix: &str) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dir.join(format!(
        ".{name}.{}.{}.{suffix}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ))
}

/// Write `path` so that readers see the old file or the whole new one, never a part: a unique temporary
/// file in the same directory, synced, then renamed over `path`. Creates the directory if needed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(|e| at(dir, e))?;
    let tmp = temp_sibling(path, "tmp");
    let written = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(at(&tmp, e));
    }
    fs::rename(&tmp, path).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        at(path, e)
    })
}

/// A fresh, empty directory beside `dest` in which to build what [`publish_dir`] will move into place.
pub fn staging_dir(dest: &Path) -> io::Result<PathBuf> {
    let parent = dest.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(|e| at(parent, e))?;
    let tmp = temp_sibling(dest, "building");
    fs::create_dir(&tmp).map_err(|e| at(&tmp, e))?;
    Ok(tmp)
}

/// Move the finished directory `staged` to `dest` in one rename. `complete` names a file that only a
/// finished directory holds: when another process published `dest` first, its copy is as good as ours,
/// `staged` is removed and the answer is `Ok(false)`. `Ok(true)` means this call published it.
pub fn publish_dir(staged: &Path, dest: &Path, complete: &str) -> io::Result<bool> {
    match fs::rename(staged, dest) {
        Ok(()) => Ok(true),
        Err(_) if dest.join(complete).is_file() => {
            let _ = fs::remove_dir_all(staged);
            Ok(false)
        }
        Err(e) => Err(at(dest, e)),
    }
}

/// An exclusive advisory lock (flock) on a file, held until dropped; processes building the same entry
/// wait for each other with it.
pub struct FileLock {
    file: fs::File,
    path: PathBuf,
}

impl FileLock {
    /// Wait for the lock on `path` (created if missing).
    pub fn acquire(path: &Path) -> io::Result<FileLock> {
        use std::os::fd::AsRawFd;
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(|e| at(dir, e))?;
        }
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| at(path, e))?;
        loop {
            // SAFETY: flock on a descriptor this function owns; no memory is involved.
            let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
            if rc == 0 {
                return Ok(FileLock {
                    file,
                    path: path.to_path_buf(),
                });
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(at(path, err));
            }
        }
    }

    /// Take the lock on `path` if no one holds it; `Ok(None)` when another process does.
    pub fn try_acquire(path: &Path) -> io::Result<Option<FileLock>> {
        use std::os::fd::AsRawFd;
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| at(path, e))?;
        // SAFETY: flock on a descriptor this function owns; no memory is involved.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc == 0 {
            return Ok(Some(FileLock {
                file,
                path: path.to_path_buf(),
            }));
        }
        let err = io::Error::last_os_error();
        if err.kind() == io::ErrorKind::WouldBlock {
            Ok(None)
        } else {
            Err(at(path, err))
        }
    }

    /// Replace the lock file's contents with `note` (who holds it, for the message the next process
    /// gets); the lock stays held. The file itself is never removed: removing a locked file would let a
    /// third process lock a new file of the same name while the second still holds the old one.
    pub fn write_note(&mut self, note: &str) -> io::Result<()> {
        use std::io::Seek;
        self.file
            .set_len(0)
            .and_then(|_| self.file.rewind())
            .and_then(|_| self.file.write_all(note.as_bytes()))
            .map_err(|e| at(&self.path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_separate_fields() {
        let mut a = KeyHasher::new();
        a.field("ab").field("c");
        let mut b = KeyHasher::new();
        b.field("a").field("bc");
        let (a, b) = (a.finish(), b.finish());
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn atomic_write_replaces_whole_files_and_names_the_path_on_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/entry.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        // No temporary files are left behind.
        assert_eq!(fs::read_dir(p.parent().unwrap()).unwrap().count(), 1);
        let blocked = dir.path().join("sub/entry.json/inside");
        let e = write_atomic(&blocked, b"x").unwrap_err().to_string();
        assert!(e.contains("entry.json"), "{e}");
    }

    #[test]
    fn publishing_twice_keeps_the_first_and_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("entry");
        let first = staging_dir(&dest).unwrap();
        fs::write(first.join("complete"), b"1").unwrap();
        let second = staging_dir(&dest).unwrap();
        fs::write(second.join("complete"), b"2").unwrap();
        fs::write(second.join("extra"), b"").unwrap();
        assert!(publish_dir(&first, &dest, "complete").unwrap());
        assert!(!publish_dir(&second, &dest, "complete").unwrap());
        assert_eq!(fs::read(dest.join("complete")).unwrap(), b"1");
        assert!(!second.exists());
    }

    #[test]
    fn a_held_lock_is_not_taken_twice() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("lock");
        let held = FileLock::acquire(&p).unwrap();
        assert!(FileLock::try_acquire(&p).unwrap().is_none());
        drop(held);
        let mut again = FileLock::try_acquire(&p)
            .unwrap()
            .expect("free after the drop");
        again.write_note("holder 1\n").unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "holder 1\n");
    }
}
