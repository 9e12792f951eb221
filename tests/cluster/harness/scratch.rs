//! What each piece of the harness owns alone: a folder and a port.

use std::{
    collections::BTreeSet,
    net::TcpListener,
    path::{Path, PathBuf},
    sync::{
        Mutex,
        atomic::{AtomicU32, Ordering},
    },
};

/// A folder of its own under the temp folder, removed with everything in it on drop.
pub struct Scratch {
    path: PathBuf,
}

impl Scratch {
    /// A new, empty folder whose name says what it is for (`label`) and which test process
    /// made it, so a leftover one (after a killed run) can be traced.
    pub fn new(label: &str) -> Scratch {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "wxgroups-cluster-{label}-{}-{n}",
            std::process::id()
        ));
        // A leftover of an earlier run with the same pid would otherwise leak into this one.
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
        Scratch { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// A free loopback port for a child process to listen on.
///
/// Below Linux's ephemeral range (32768+): a port found by binding port 0 and let go could be
/// handed out again, before the child binds it, as the source port of any outgoing connection
/// (the instances open many, to the simulator and the database). A port in this range is given
/// out by nobody but whoever asks for it by number, and this process never gives one out twice.
pub fn free_port() -> u16 {
    static GIVEN: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let port = 20_000 + rand::random::<u16>() % 12_000;
        if !given.contains(&port) && TcpListener::bind(("127.0.0.1", port)).is_ok() {
            given.insert(port);
            return port;
        }
    }
}

/// The last `lines` lines of the file at `path` (what a failing test prints of a log).
pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
