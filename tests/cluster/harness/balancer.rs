//! [`Balancer`]: Debian's nginx in front of three instances, with the sample
//! `tests/nginx/cluster.conf` as an operator would copy it, only its addresses swapped.

use std::{
    net::{SocketAddr, TcpStream},
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use super::{
    scratch::{Scratch, free_port, tail},
    tools::{is_root, nginx},
};

/// The sample's own addresses: where it listens, and its three upstream servers.
const SAMPLE_LISTEN: &str = "127.0.0.1:8090";
const SAMPLE_UPSTREAMS: [&str; 3] = ["127.0.0.1:8081", "127.0.0.1:8082", "127.0.0.1:8083"];

/// How long nginx may take to accept connections.
const LISTENING_WITHIN: Duration = Duration::from_secs(15);
/// How long nginx may take to stop its workers and exit.
const STOPPED_WITHIN: Duration = Duration::from_secs(10);

/// nginx running `tests/nginx/cluster.conf` in a folder of its own (pid file, logs, temp
/// files). Every answer carries `X-Upstream`: the upstream address(es) nginx tried, in order
/// (`$upstream_addr`), so a test can tell who served it. Stopped on drop.
pub struct Balancer {
    port: u16,
    child: Child,
    scratch: Scratch,
}

impl Balancer {
    /// Starts nginx with the sample's upstream servers replaced by `upstreams`, in order, on a
    /// free port. Returns once it accepts connections. Check `lacks(Tool::Nginx)` first.
    pub fn start(upstreams: [SocketAddr; 3]) -> Balancer {
        let nginx = nginx().expect("nginx: see lacks(Tool::Nginx)");
        let port = free_port();
        let scratch = Scratch::new("nginx");
        let site = render_sample(port, upstreams);
        std::fs::write(scratch.path().join("site.conf"), site).expect("our own folder");
        std::fs::write(scratch.path().join("nginx.conf"), main_conf(&scratch))
            .expect("our own folder");
        let child = Command::new(nginx)
            .arg("-p")
            .arg(scratch.path())
            .arg("-c")
            .arg(scratch.path().join("nginx.conf"))
            .arg("-e")
            .arg(scratch.path().join("error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx runs");
        let mut balancer = Balancer {
            port,
            child,
            scratch,
        };
        balancer.wait_listening();
        balancer
    }

    /// `http://127.0.0.1:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The end of nginx's error log (where it says which upstream failed, and why).
    pub fn error_log_tail(&self, lines: usize) -> String {
        tail(&self.scratch.path().join("error.log"), lines)
    }

    fn wait_listening(&mut self) {
        let deadline = Instant::now() + LISTENING_WITHIN;
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(status) = self.child.try_wait().expect("the child can be waited for") {
                panic!("nginx exited ({status}):\n{}", self.error_log_tail(20));
            }
            assert!(
                Instant::now() < deadline,
                "nginx does not listen within {LISTENING_WITHIN:?}:\n{}",
                self.error_log_tail(20)
            );
            // The interval between two looks at the condition, not a guess at how long it takes.
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Balancer {
    /// Stops nginx with SIGTERM, which its master passes on to its workers before it exits.
    /// SIGKILL would kill the master alone: its workers would go on serving the port.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-s", "TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + STOPPED_WITHIN;
        while self.child.try_wait().is_ok_and(|s| s.is_none()) && Instant::now() < deadline {
            // The interval between two looks at the condition, not a guess at how long it takes.
            std::thread::sleep(Duration::from_millis(20));
        }
        // Still running (a worker that hangs): the master at least must not outlive the test.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The sample, with our port and upstreams in place of its own.
fn render_sample(port: u16, upstreams: [SocketAddr; 3]) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/nginx/cluster.conf");
    let mut site = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let swaps = std::iter::once((SAMPLE_LISTEN, format!("127.0.0.1:{port}"))).chain(
        SAMPLE_UPSTREAMS
            .into_iter()
            .zip(upstreams.map(|a| a.to_string())),
    );
    for (from, to) in swaps {
        assert!(site.contains(from), "cluster.conf has {from}");
        site = site.replace(from, &to);
    }
    site
}

/// The top of nginx's configuration around the sample: what a distribution's nginx.conf says,
/// with every path in our folder.
fn main_conf(scratch: &Scratch) -> String {
    let d = scratch.path().display();
    format!(
        "{user}daemon off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
         events {{ worker_connections 256; }}\n\
         http {{\n  access_log {d}/access.log;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
           fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
           # For the tests only: who answered. Inherited by the sample's location, which sets no header.\n\
           add_header X-Upstream $upstream_addr always;\n\
           include {d}/site.conf;\n}}\n",
        // As root, nginx would hand its workers to `nobody`, who cannot write in our folder.
        user = if is_root() { "user root;\n" } else { "" },
    )
}
