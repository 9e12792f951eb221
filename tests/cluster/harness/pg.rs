//! [`PgServer`]: a PostgreSQL server of one test's own, so that stopping or restarting it
//! disturbs no other test.

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::{Command, Output},
};

use sqlx::{Connection, PgConnection};

use super::{
    scratch::{Scratch, free_port, tail},
    tools::{is_root, pg_bindir},
};

/// A PostgreSQL cluster in a temp folder, listening on 127.0.0.1 on a port of its own, with one
/// superuser, `postgres`, who needs no password. Stopped and removed on drop.
///
/// Every method blocks until PostgreSQL has done what was asked (`pg_ctl -w`): a test that
/// also serves something in-process (the simulator) wants a multi-threaded runtime.
pub struct PgServer {
    bindir: PathBuf,
    port: u16,
    // Last: dropped after `Drop::drop` has stopped the server that runs in it.
    scratch: Scratch,
}

impl PgServer {
    /// Makes a new cluster (`initdb`) and starts it. Check `lacks(Tool::Postgres)` first.
    pub fn start() -> PgServer {
        let bindir = pg_bindir().expect("initdb and pg_ctl: see lacks(Tool::Postgres)");
        let scratch = Scratch::new("pg");
        if is_root() {
            hand_to_postgres(&scratch);
        }
        let pg = PgServer {
            bindir,
            port: free_port(),
            scratch,
        };
        let data = pg.data();
        // Trust: the one client is this test, over loopback. -N: no fsync, as nothing in a
        // test's cluster must survive a power cut.
        pg.run(
            "initdb",
            &[
                "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale", "C", "-N", "-D", &data,
            ],
        );
        pg.write_settings();
        pg.start_again();
        pg
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of database `db`, as WXGROUPS_DATABASE_URL takes it.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// A connection to database `db` (an error while the server is stopped).
    pub async fn connect(&self, db: &str) -> Result<PgConnection, sqlx::Error> {
        PgConnection::connect(&self.url(db)).await
    }

    /// Creates an empty database called `name` (letters, digits and `_`).
    pub async fn create_database(&self, name: &str) {
        assert!(
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'),
            "{name:?} needs no quoting as a database name"
        );
        let mut admin = self
            .connect("postgres")
            .await
            .expect("the server is running");
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
        let _ = admin.close().await;
    }

    /// Stops the server, letting it end its sessions and write its data out (`-m fast`).
    pub fn stop(&self) {
        self.pg_ctl(&["-m", "fast", "stop"]);
    }

    /// Starts the stopped server again, on the same port with the same data.
    pub fn start_again(&self) {
        let log = self.log();
        self.pg_ctl(&["-l", &log, "start"]);
    }

    /// Stops and starts the server: every connection to it breaks.
    pub fn restart(&self) {
        // Not `pg_ctl restart`: it takes no `-l`, and its server would then hold our pipes open.
        self.stop();
        self.start_again();
    }

    /// The end of the server's own log, for a failing test to print.
    pub fn log_tail(&self, lines: usize) -> String {
        tail(Path::new(&self.log()), lines)
    }

    fn data(&self) -> String {
        self.file("data")
    }

    fn log(&self) -> String {
        self.file("server.log")
    }

    fn file(&self, name: &str) -> String {
        let path = self.scratch.path().join(name);
        path.to_str()
            .expect("a temp folder with a UTF-8 name")
            .to_owned()
    }

    /// Where and how the server listens: only on loopback, on our port, and its socket in our
    /// folder (the default socket folder may not exist, or be another cluster's).
    fn write_settings(&self) {
        let settings = format!(
            "\n# tests/cluster\nlisten_addresses = '127.0.0.1'\nport = {}\n\
             unix_socket_directories = '{}'\nfsync = off\nsynchronous_commit = off\n\
             full_page_writes = off\n",
            self.port,
            self.scratch.path().display()
        );
        let conf = PathBuf::from(self.data()).join("postgresql.conf");
        std::fs::OpenOptions::new()
            .append(true)
            .open(&conf)
            .and_then(|mut f| f.write_all(settings.as_bytes()))
            .unwrap_or_else(|e| panic!("cannot add to {}: {e}", conf.display()));
    }

    fn pg_ctl(&self, args: &[&str]) {
        let data = self.data();
        let mut all = vec!["-D", &data, "-w", "-t", "60"];
        all.extend_from_slice(args);
        self.run("pg_ctl", &all);
    }

    /// Runs one of PostgreSQL's programs to the end; panics with what it and the server said if
    /// it fails.
    fn run(&self, program: &str, args: &[&str]) -> Output {
        let out = self
            .command(program)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        assert!(
            out.status.success(),
            "{program} {args:?} failed ({}):\n{}{}\nserver log:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.log_tail(30),
        );
        out
    }

    /// `program` from the server's folder, as `postgres` when we are root: initdb refuses to run
    /// as root, and the server must own its data folder.
    fn command(&self, program: &str) -> Command {
        let path = self.bindir.join(program);
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        };
        // Our working folder (the worktree) may be closed to `postgres`.
        cmd.current_dir(self.scratch.path());
        cmd
    }
}

/// Gives the folder to the `postgres` user (initdb, the server's log and socket write in it),
/// and checks that they can reach it through its parents.
fn hand_to_postgres(scratch: &Scratch) {
    let dir = scratch.path();
    let status = Command::new("chown")
        .arg("postgres:")
        .arg(dir)
        .status()
        .expect("chown runs");
    assert!(status.success(), "chown postgres: {}", dir.display());
    let writable = Command::new("runuser")
        .args(["-u", "postgres", "--", "test", "-w"])
        .arg(dir)
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        writable,
        "the postgres user cannot write in {} (are its parents closed to them? set TMPDIR)",
        dir.display()
    );
}

impl Drop for PgServer {
    fn drop(&mut self) {
        // Immediate: the test is over, nothing needs writing out. It fails if the server is
        // stopped already, which is fine.
        let data = self.data();
        let _ = self
            .command("pg_ctl")
            .args(["-D", &data, "-w", "-t", "60", "-m", "immediate", "stop"])
            .output();
    }
}
