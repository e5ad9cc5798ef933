//! One writer per output folder: `OUT/vbench.lock` holds the owner's host, pid and process start
//! time, under an advisory `flock` where the file system offers one (Linux NFS clients map it to
//! cluster-wide POSIX locks).
//!
//! - Held (the `flock` is taken, or the file names a live process on this host, or any process on
//!   another host): [`LockError::Held`], naming the folder, host and pid.
//! - Left behind by a process that died on this host (`kill -9`, a crash, a node reboot): taken
//!   over, so a resume just works. A lock file from another host is never taken over on content
//!   alone (its process cannot be checked from here); the message says which file to delete.
//! - Released on drop: the file is removed while the lock is still held.

use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

pub const LOCK_FILE: &str = "vbench.lock";

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "{dir} is in use by vbench pid {pid} on host {host} (lock file {file}); \
         wait for it to finish, or delete the lock file if that process is gone"
    )]
    Held {
        dir: PathBuf,
        file: PathBuf,
        host: String,
        pid: u32,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What the lock file says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    pub host: String,
    pub pid: u32,
    /// Clock ticks since boot when the process started (`/proc/PID/stat`), telling a reused pid
    /// from the owner; `None` where unknown.
    pub started: Option<u64>,
}

impl Owner {
    pub fn me() -> Owner {
        let pid = std::process::id();
        Owner {
            host: host_name(),
            pid,
            started: start_ticks(pid),
        }
    }

    /// Whether this owner is a running process on this host (same pid and start time).
    fn alive_here(&self) -> bool {
        if self.host != host_name() {
            return false;
        }
        if self.pid == std::process::id() {
            return self.started == start_ticks(self.pid);
        }
        match start_ticks(self.pid) {
            Some(t) => self.started.is_none_or(|s| s == t),
            // No /proc entry: dead on Linux; elsewhere unknown, so assume alive.
            None => !Path::new("/proc/self").exists(),
        }
    }
}

/// This machine's host name (what a cluster node calls itself).
pub fn host_name() -> String {
    sysinfo::System::host_name().unwrap_or_else(|| "unknown-host".into())
}

/// Field 22 of `/proc/PID/stat`: the process' start time in clock ticks since boot.
fn start_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// The held lock of one folder; dropping it releases the folder.
#[derive(Debug)]
pub struct OutLock {
    path: PathBuf,
    file: Option<File>,
    /// The owner whose stale lock was taken over, if any (to say so).
    pub took_over: Option<Owner>,
}

impl OutLock {
    /// Locks `dir` (created if missing) for this process.
    pub fn acquire(dir: &Path) -> Result<OutLock, LockError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| LockError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let path = dir.join(LOCK_FILE);
        // The file may be removed by its owner between our open and our lock: then we hold a
        // lock on an unlinked file, so check that the path is still the file we locked.
        for _ in 0..8 {
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(io(&path))?;
            match file.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => {
                    let owner = read_owner(&mut file).unwrap_or(Owner {
                        host: "unknown".into(),
                        pid: 0,
                        started: None,
                    });
                    return Err(held(dir, &path, owner));
                }
                // No advisory locks here (some network file systems): the content decides.
                Err(TryLockError::Error(_)) => {}
            }
            if !same_file(&file, &path) {
                continue;
            }
            let previous = read_owner(&mut file);
            let took_over = match previous {
                // Another host's process cannot be checked from here: never taken over on content.
                Some(o) if o.host != host_name() || o.alive_here() => {
                    return Err(held(dir, &path, o));
                }
                other => other,
            };
            write_owner(&mut file, &Owner::me()).map_err(io(&path))?;
            return Ok(OutLock {
                path,
                file: Some(file),
                took_over,
            });
        }
        Err(LockError::Io {
            path,
            source: std::io::Error::other("the lock file kept being replaced while locking it"),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for OutLock {
    fn drop(&mut self) {
        // Remove while still locked, so nobody locks the old file after us; then unlock (close).
        let _ = std::fs::remove_file(&self.path);
        self.file.take();
    }
}

fn held(dir: &Path, file: &Path, o: Owner) -> LockError {
    LockError::Held {
        dir: dir.to_path_buf(),
        file: file.to_path_buf(),
        host: o.host,
        pid: o.pid,
    }
}

fn read_owner(file: &mut File) -> Option<Owner> {
    let mut s = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut s).ok()?;
    serde_json::from_str(&s).ok()
}

fn write_owner(file: &mut File, owner: &Owner) -> std::io::Result<()> {
    let text = serde_json::to_string(owner).map_err(std::io::Error::other)? + "\n";
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_: &File, path: &Path) -> bool {
    path.exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dead_pid() -> u32 {
        let mut c = std::process::Command::new("true").spawn().unwrap();
        let pid = c.id();
        c.wait().unwrap();
        pid
    }

    #[test]
    fn a_second_lock_on_the_folder_is_refused_naming_host_and_pid() {
        let dir = tempfile::tempdir().unwrap();
        let first = OutLock::acquire(dir.path()).unwrap();
        assert!(first.took_over.is_none());
        // Another open file description: flock conflicts even within one process.
        let e = OutLock::acquire(dir.path()).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains(&dir.path().display().to_string())
                && msg.contains(&format!("pid {}", std::process::id()))
                && msg.contains(&host_name()),
            "{msg}"
        );
        drop(first);
        assert!(!dir.path().join(LOCK_FILE).exists(), "released on drop");
        OutLock::acquire(dir.path()).unwrap();
    }

    #[test]
    fn a_dead_processes_lock_on_this_host_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let stale = Owner {
            host: host_name(),
            pid: dead_pid(),
            started: Some(1),
        };
        std::fs::write(
            dir.path().join(LOCK_FILE),
            serde_json::to_string(&stale).unwrap(),
        )
        .unwrap();
        let lock = OutLock::acquire(dir.path()).unwrap();
        assert_eq!(lock.took_over, Some(stale));
        let now: Owner =
            serde_json::from_str(&std::fs::read_to_string(lock.path()).unwrap()).unwrap();
        assert_eq!(now, Owner::me());
    }

    #[test]
    fn a_live_owner_without_flock_and_another_hosts_lock_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        // A live process (this one's parent) that holds no flock: the content still counts.
        let parent = std::os::unix::process::parent_id();
        let alive = Owner {
            host: host_name(),
            pid: parent,
            started: start_ticks(parent),
        };
        std::fs::write(
            dir.path().join(LOCK_FILE),
            serde_json::to_string(&alive).unwrap(),
        )
        .unwrap();
        assert!(matches!(
            OutLock::acquire(dir.path()),
            Err(LockError::Held { pid, .. }) if pid == parent
        ));
        // A reused pid (other start time) is not the owner.
        let reused = Owner {
            started: start_ticks(parent).map(|t| t + 1),
            ..alive
        };
        std::fs::write(
            dir.path().join(LOCK_FILE),
            serde_json::to_string(&reused).unwrap(),
        )
        .unwrap();
        drop(OutLock::acquire(dir.path()).unwrap());
        let other = Owner {
            host: format!("{}-elsewhere", host_name()),
            pid: dead_pid(),
            started: None,
        };
        std::fs::write(
            dir.path().join(LOCK_FILE),
            serde_json::to_string(&other).unwrap(),
        )
        .unwrap();
        let e = OutLock::acquire(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("-elsewhere") && e.contains("delete the lock file"),
            "{e}"
        );
    }

    #[test]
    fn start_ticks_reads_this_process() {
        assert!(start_ticks(std::process::id()).is_some());
        assert!(start_ticks(dead_pid()).is_none());
    }
}
