//! Debian's chromedriver, started by the tests themselves and shared by every test in the binary.
//!
//! Starting chromedriver is cheap but not free; sessions (one browser each) are what isolate the
//! tests. The driver lives as long as some test holds it: the last `Arc` dropped kills it, so a
//! finished run leaves no process behind.

use std::{
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex, Weak},
    time::{Duration, Instant},
};

pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
pub const CHROMIUM: &str = "/usr/bin/chromium";

pub struct Driver {
    child: Mutex<Child>,
    /// The WebDriver endpoint, with a trailing slash (fantoccini joins paths onto it).
    pub url: String,
}

static SHARED: Mutex<Weak<Driver>> = Mutex::new(Weak::new());

/// The running chromedriver, started on first use.
pub fn shared() -> Arc<Driver> {
    let mut slot = SHARED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(driver) = slot.upgrade() {
        return driver;
    }
    let driver = Arc::new(Driver::start());
    *slot = Arc::downgrade(&driver);
    driver
}

impl Driver {
    fn start() -> Driver {
        // Ask the OS for a free port, then hand it to chromedriver. Another process could take it
        // in between; then `/status` never answers and the panic below says so.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {CHROMEDRIVER} ({e}); install chromium-driver (see .ci/run)")
            });
        let driver = Driver {
            child: Mutex::new(child),
            url: format!("http://127.0.0.1:{port}/"),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !ready(port) {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not answer /status on port {port} within 20 s"
            );
            std::thread::sleep(Duration::from_millis(25));
        }
        driver
    }
}

/// Whether chromedriver's `/status` says it is ready. A raw HTTP request keeps this free of an
/// HTTP client and of async: it runs once, before any browser exists.
fn ready(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    // Read what comes until it says ready or stops coming: chromedriver answers in one go.
    let mut answer = Vec::new();
    let mut chunk = [0; 1024];
    while let Ok(n @ 1..) = stream.read(&mut chunk) {
        answer.extend_from_slice(&chunk[..n]);
    }
    let answer = String::from_utf8_lossy(&answer);
    answer.contains("\"ready\":true") || answer.contains("\"ready\": true")
}

impl Drop for Driver {
    fn drop(&mut self) {
        let child = self.child.get_mut().unwrap_or_else(|e| e.into_inner());
        let _ = child.kill();
        let _ = child.wait();
    }
}
