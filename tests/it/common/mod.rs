//! Test harness: a real redis-server per test, started here (never the
//! shared one on 6379), in a temp dir, `--save ""`, killed on drop; its log
//! goes into every failure message. A missing redis-server is a failure with
//! an install hint, never a skip.
//!
//! The server matrix (.ci/run; README, "Development") picks the server with
//! two variables: `JOBQ_TEST_REDIS_SERVER`, the binary (default `redis-server`
//! on PATH; a Valkey or Redis 6.2 one from tests/servers/fetch), and
//! `JOBQ_TEST_REDIS_CONF`, a config file passed first to every server
//! started (tests/servers/redis60-standin.conf renames the 6.2 commands
//! away, standing in for Redis 6.0).

pub mod faults;
pub mod link;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub struct Redis {
    child: Option<Child>,
    pub dir: tempfile::TempDir,
    pub sock: PathBuf,
    pub port: Option<u16>,
    /// The TLS port, for a server started with [`Redis::start_tls`].
    pub tls_port: Option<u16>,
    extra: Vec<String>,
}

fn redis_server_bin() -> String {
    std::env::var("JOBQ_TEST_REDIS_SERVER").unwrap_or_else(|_| "redis-server".into())
}

/// The config file every server is started with (`JOBQ_TEST_REDIS_CONF`).
fn redis_server_conf() -> Option<PathBuf> {
    std::env::var_os("JOBQ_TEST_REDIS_CONF")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The test server's `(major, minor)`, from the `v=` of its `--version`
/// (`Redis server v=6.2.14 ...`, `Valkey server v=8.1.8 ...`); read once.
/// `None` when it cannot be run or read.
pub fn server_version() -> Option<(u32, u32)> {
    static VERSION: std::sync::OnceLock<Option<(u32, u32)>> = std::sync::OnceLock::new();
    *VERSION.get_or_init(|| {
        let out = Command::new(redis_server_bin())
            .arg("--version")
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let v = text.split_whitespace().find_map(|w| w.strip_prefix("v="))?;
        let mut parts = v.split('.').map(|n| n.parse::<u32>().ok());
        Some((parts.next()??, parts.next()??))
    })
}

/// Whether the test server is Valkey (its `--version` says so).
pub fn server_is_valkey() -> bool {
    static VALKEY: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *VALKEY.get_or_init(|| {
        Command::new(redis_server_bin())
            .arg("--version")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).starts_with("Valkey"))
    })
}

/// The start options, less those this server does not know: a server
/// refuses to start on an unknown option (`Bad directive or wrong number of
/// arguments`), and the matrix runs servers from 6.2 on.
/// - `enable-debug-command` came in 7.0; before it DEBUG is always allowed,
///   so on 6.x the option is dropped and `DEBUG SLEEP` still works.
///
/// Every other option the harness and the tests pass (`port`, `bind`,
/// `unixsocket`, `unixsocketperm`, `save`, `appendonly`, `appendfsync`,
/// `dir`, `logfile`, `slowlog-*`, `maxmemory-policy`, `replicaof`,
/// `requirepass`) exists on Redis 6.2 and Valkey 8.1 alike.
fn options_for_server(extra: &[String]) -> Vec<String> {
    let before_7 = server_version().is_some_and(|v| v < (7, 0));
    let mut out = Vec::with_capacity(extra.len());
    let mut it = extra.iter();
    while let Some(a) = it.next() {
        if before_7 && a == "--enable-debug-command" {
            it.next();
            continue;
        }
        out.push(a.clone());
    }
    out
}

fn require_redis_server() {
    let ok = Command::new(redis_server_bin())
        .arg("--version")
        .output()
        .map(|o| o.status.success());
    if !matches!(ok, Ok(true)) {
        panic!(
            "redis-server is not installed (or not on PATH); the integration tests need it.\n\
             Install it with: sudo apt-get install redis-server   (Debian/Ubuntu)\n\
             or: brew install redis   (macOS); or set JOBQ_TEST_REDIS_SERVER=/path/to/redis-server"
        );
    }
    if let Some(conf) = redis_server_conf() {
        assert!(
            conf.is_file(),
            "JOBQ_TEST_REDIS_CONF={} is not a file",
            conf.display()
        );
    }
}

pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local addr").port()
}

impl Redis {
    /// A fresh server on a unix socket.
    pub fn start() -> Redis {
        Redis::start_with(&[])
    }

    /// A fresh server with extra config arguments (e.g. `--requirepass x`).
    pub fn start_with(extra: &[&str]) -> Redis {
        Redis::launch(extra, false)
    }

    /// A fresh server that also listens on a TCP port of 127.0.0.1.
    pub fn start_tcp(extra: &[&str]) -> Redis {
        Redis::launch(extra, true)
    }

    /// A fresh server that speaks TLS only on a port of 127.0.0.1 (with the
    /// server certificate of `tls`), plain text only on its unix socket.
    /// `auth_clients`: demand a client certificate that `tls`'s CA signed
    /// (`tls-auth-clients yes`).
    pub fn start_tls(tls: &TlsFiles, auth_clients: bool, extra: &[&str]) -> Redis {
        let port = free_port();
        let path = |p: &Path| p.to_str().expect("utf-8 temp path").to_owned();
        let mut args: Vec<String> = vec![
            "--tls-port".into(),
            port.to_string(),
            "--tls-cert-file".into(),
            path(&tls.server_cert),
            "--tls-key-file".into(),
            path(&tls.server_key),
            "--tls-ca-cert-file".into(),
            path(&tls.ca),
            "--tls-auth-clients".into(),
            if auth_clients { "yes" } else { "no" }.into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut r = Redis::launch_with(&args, false, Some(port));
        r.tls_port = Some(port);
        r
    }

    fn launch(extra: &[&str], tcp: bool) -> Redis {
        Redis::launch_with(extra, tcp, None)
    }

    fn launch_with(extra: &[&str], tcp: bool, tls_port: Option<u16>) -> Redis {
        require_redis_server();
        let dir = tempfile::tempdir().expect("temp dir");
        let sock = dir.path().join("redis.sock");
        let mut r = Redis {
            child: None,
            sock,
            port: if tcp { Some(free_port()) } else { None },
            tls_port,
            dir,
            extra: extra.iter().map(|s| s.to_string()).collect(),
        };
        r.spawn();
        r
    }

    fn spawn(&mut self) {
        let log = self.dir.path().join("redis.log");
        let port = self
            .port
            .map(|p| p.to_string())
            .unwrap_or_else(|| "0".into());
        let mut cmd = Command::new(redis_server_bin());
        // The config file must come first: redis-server reads a file only
        // as its first argument, and the options after it override it.
        if let Some(conf) = redis_server_conf() {
            cmd.arg(conf);
        }
        cmd.args(["--port", &port, "--bind", "127.0.0.1", "--unixsocket"])
            .arg(&self.sock)
            .args([
                "--unixsocketperm",
                "700",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
            ])
            .arg(self.dir.path())
            .arg("--logfile")
            .arg(&log)
            .args(options_for_server(&self.extra))
            .stdout(Stdio::null());
        // A server that refuses its options or config file says why on
        // stderr, before it opens its log.
        let stderr_path = self.dir.path().join("redis.stderr");
        match std::fs::File::create(&stderr_path) {
            Ok(f) => cmd.stderr(f),
            Err(_) => cmd.stderr(Stdio::null()),
        };
        let child = cmd.spawn().expect("spawn redis-server");
        self.child = Some(child);
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(10) {
            if self.sock.exists() && self.try_con().is_some() {
                return;
            }
            let exited = self
                .child
                .as_mut()
                .is_some_and(|c| matches!(c.try_wait(), Ok(Some(_))));
            if exited {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "redis-server ({}) did not start within 10 s\n--- stderr ---\n{}\n--- redis log ---\n{}",
            redis_server_bin(),
            std::fs::read_to_string(&stderr_path).unwrap_or_default(),
            self.log()
        );
    }

    /// Stop (SIGKILL) and start again with the same socket and data dir.
    pub fn restart(&mut self) {
        self.kill();
        let _ = std::fs::remove_file(&self.sock);
        self.spawn();
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn url(&self) -> String {
        format!("unix://{}", self.sock.display())
    }

    pub fn url_db(&self, db: u32) -> String {
        format!("unix://{}?db={db}", self.sock.display())
    }

    pub fn tcp_url(&self, userinfo: &str) -> String {
        let port = self.port.expect("started with start_tcp");
        format!("redis://{userinfo}127.0.0.1:{port}/0")
    }

    /// The `rediss://` URL of a server started with [`Redis::start_tls`].
    pub fn tls_url(&self, host: &str) -> String {
        let port = self.tls_port.expect("started with start_tls");
        format!("rediss://{host}:{port}/0")
    }

    /// Run jobq with `--url url` first (instead of the unix socket).
    pub fn jobq_at(&self, url: &str, args: &[&str]) -> Run {
        let mut full = vec!["--url".to_string(), url.to_string()];
        full.extend(args.iter().map(|s| s.to_string()));
        run_jobq(&full, None, self.log_path())
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("redis.log")).unwrap_or_default()
    }

    fn try_con(&self) -> Option<redis::Connection> {
        let client = redis::Client::open(format!("unix://{}", self.sock.display())).ok()?;
        let mut con = client.get_connection().ok()?;
        let pass = self
            .extra
            .windows(2)
            .find(|w| w[0] == "--requirepass")
            .map(|w| w[1].clone());
        if let Some(p) = pass {
            redis::cmd("AUTH").arg(p).query::<()>(&mut con).ok()?;
        }
        redis::cmd("PING").query::<String>(&mut con).ok()?;
        Some(con)
    }

    /// A synchronous connection for setting up and checking state.
    pub fn con(&self) -> redis::Connection {
        self.try_con()
            .unwrap_or_else(|| panic!("cannot connect to the test redis\n{}", self.log()))
    }

    /// Run jobq against this server: `--url` is added first.
    pub fn jobq(&self, args: &[&str]) -> Run {
        let mut full = vec!["--url".to_string(), self.url()];
        full.extend(args.iter().map(|s| s.to_string()));
        run_jobq(&full, None, self.log_path())
    }

    /// Run jobq with stdin.
    pub fn jobq_stdin(&self, args: &[&str], stdin: &[u8]) -> Run {
        let mut full = vec!["--url".to_string(), self.url()];
        full.extend(args.iter().map(|s| s.to_string()));
        run_jobq(&full, Some(stdin), self.log_path())
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("redis.log")
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// PEM files made for one test: a CA, a server certificate it signed for
/// 127.0.0.1 and localhost, a client certificate it signed, and a client
/// certificate another CA signed (one the server does not trust).
pub struct TlsFiles {
    pub dir: tempfile::TempDir,
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    pub stranger_cert: PathBuf,
    pub stranger_key: PathBuf,
}

impl TlsFiles {
    pub fn new() -> TlsFiles {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
            KeyPair, KeyUsagePurpose,
        };
        let dir = tempfile::tempdir().expect("temp dir");
        let write = |name: &str, text: &str| -> PathBuf {
            let p = dir.path().join(name);
            std::fs::write(&p, text).expect("write a PEM file");
            p
        };
        let ca = |cn: &str| {
            let key = KeyPair::generate().expect("CA key");
            let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.distinguished_name.push(DnType::CommonName, cn);
            params.key_usages = vec![
                KeyUsagePurpose::KeyCertSign,
                KeyUsagePurpose::CrlSign,
                KeyUsagePurpose::DigitalSignature,
            ];
            let cert = params.self_signed(&key).expect("self-sign the CA");
            (cert.pem(), Issuer::new(params, key))
        };
        let leaf = |issuer: &Issuer<'_, KeyPair>,
                    cn: &str,
                    names: &[&str],
                    usage: ExtendedKeyUsagePurpose| {
            let key = KeyPair::generate().expect("leaf key");
            let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
            let mut params = CertificateParams::new(names).expect("leaf params");
            params.distinguished_name.push(DnType::CommonName, cn);
            params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            params.extended_key_usages = vec![usage];
            let cert = params.signed_by(&key, issuer).expect("sign a leaf");
            (cert.pem(), key.serialize_pem())
        };
        let (ca_pem, ca_issuer) = ca("jobq test CA");
        let (server_pem, server_key) = leaf(
            &ca_issuer,
            "localhost",
            &["127.0.0.1", "localhost"],
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        let (client_pem, client_key) = leaf(
            &ca_issuer,
            "jobq test client",
            &[],
            ExtendedKeyUsagePurpose::ClientAuth,
        );
        let (_, stranger_issuer) = ca("a CA nobody trusts");
        let (stranger_pem, stranger_key) = leaf(
            &stranger_issuer,
            "stranger",
            &[],
            ExtendedKeyUsagePurpose::ClientAuth,
        );
        TlsFiles {
            ca: write("ca.pem", &ca_pem),
            server_cert: write("server.pem", &server_pem),
            server_key: write("server.key", &server_key),
            client_cert: write("client.pem", &client_pem),
            client_key: write("client.key", &client_key),
            stranger_cert: write("stranger.pem", &stranger_pem),
            stranger_key: write("stranger.key", &stranger_key),
            dir,
        }
    }

    /// A path as the &str a jobq argument needs.
    pub fn arg(p: &Path) -> &str {
        p.to_str().expect("utf-8 temp path")
    }
}

pub fn jobq_bin() -> &'static str {
    env!("CARGO_BIN_EXE_jobq")
}

/// A finished jobq process.
pub struct Run {
    pub args: Vec<String>,
    pub out: Output,
    log: PathBuf,
}

impl Run {
    pub fn code(&self) -> i32 {
        self.out.status.code().unwrap_or(-1)
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.out.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON object ({e})\n{}", self.explain()))
    }
    pub fn explain(&self) -> String {
        format!(
            "jobq {:?}\nexit: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}\n--- redis log (tail) ---\n{}",
            self.args,
            self.out.status.code(),
            self.stdout(),
            self.stderr(),
            tail(&std::fs::read_to_string(&self.log).unwrap_or_default(), 30)
        )
    }
    /// Assert the exit code, showing everything on failure.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code(),
            code,
            "unexpected exit code\n{}",
            self.explain()
        );
        self
    }
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

pub fn run_jobq(args: &[String], stdin: Option<&[u8]>, log: PathBuf) -> Run {
    run_jobq_env(args, stdin, log, &[])
}

/// As [`run_jobq`], with extra environment variables.
pub fn run_jobq_env(
    args: &[String],
    stdin: Option<&[u8]>,
    log: PathBuf,
    env: &[(&str, &str)],
) -> Run {
    let mut cmd = Command::new(jobq_bin());
    cmd.args(args)
        .env_remove("REDIS_URL")
        .env_remove("JOBQ_SCHEMA")
        .env_remove("JOBQ_TLS_CA")
        .env_remove("JOBQ_TLS_CERT")
        .env_remove("JOBQ_TLS_KEY")
        .env_remove("JOBQ_TLS_INSECURE")
        .envs(env.iter().copied())
        .env("NO_COLOR", "1")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn jobq");
    if let Some(input) = stdin {
        let mut s = child.stdin.take().expect("stdin");
        s.write_all(input).expect("write stdin");
    }
    let out = child.wait_with_output().expect("wait jobq");
    Run {
        args: args.to_vec(),
        out,
        log,
    }
}

/// Run jobq with no server at all (usage errors, help).
pub fn jobq(args: &[&str]) -> Run {
    run_jobq(
        &args.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        None,
        PathBuf::new(),
    )
}

// ---- files jobq writes ---------------------------------------------------

/// The lines of a JSON Lines file jobq wrote (`--plan-out`, `--report-out`),
/// each parsed; panics on a line that is not JSON.
pub fn json_lines(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).expect("read the JSON Lines file");
    assert!(
        text.ends_with('\n'),
        "{}: cut short: {text:?}",
        path.display()
    );
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// A plan file read back as one object: its header's `model`, and its
/// `actions`, `needs_policy` and `untouched` lines as arrays, plus `end`.
pub fn read_plan(path: &Path) -> serde_json::Value {
    let lines = json_lines(path);
    let header = &lines[0];
    assert_eq!(header["jobq"], "plan", "{header}");
    assert_eq!(header["format"], 2, "{header}");
    let mut plan = serde_json::json!({
        "model": header["model"].clone(),
        "actions": [], "needs_policy": [], "untouched": [], "end": null,
    });
    for l in &lines[1..] {
        let (k, v) = l
            .as_object()
            .and_then(|o| o.iter().next())
            .expect("one key a line");
        if k == "end" {
            plan["end"] = v.clone();
        } else {
            let list = if k == "action" { "actions" } else { k.as_str() };
            plan[list].as_array_mut().expect("a list").push(v.clone());
        }
    }
    plan
}

// ---- state helpers -------------------------------------------------------

pub fn smembers(con: &mut redis::Connection, key: &str) -> Vec<String> {
    let mut v: Vec<String> = redis::cmd("SMEMBERS")
        .arg(key)
        .query(con)
        .expect("SMEMBERS");
    v.sort();
    v
}

pub fn keys(con: &mut redis::Connection) -> Vec<String> {
    let mut v: Vec<String> = redis::cmd("KEYS").arg("*").query(con).expect("KEYS");
    v.sort();
    v
}

pub fn hgetall_raw(con: &mut redis::Connection, key: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    redis::cmd("HGETALL").arg(key).query(con).expect("HGETALL")
}

pub fn write_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write file");
    p
}

/// A TOML schema for `Task`, the non-default model the tests use: key fields
/// `task_id` (auto), `queue`, `state`; `top` holds model-level settings,
/// `fields` the `[[field]]` tables between the key fields and the sorted
/// `enqueued_at`; statuses queued, active, done, error.
pub fn task_schema(top: &str, fields: &str) -> String {
    format!(
        r#"
class = "Task"
{top}
[[field]]
name = "task_id"
role = "auto"
[[field]]
name = "queue"
role = "key"
[[field]]
name = "state"
role = "key"
{fields}
[[field]]
name = "enqueued_at"
type = "float"
sorted = true
default_now = true
[status]
field = "state"
values = ["queued", "active", "done", "error"]
pending = "queued"
running = "active"
completed = "done"
failed = "error"
"#
    )
}

/// Raw popoto-style create of one RedisJob, as docs/layout.md's MULTI does.
pub fn popoto_create(
    con: &mut redis::Connection,
    job_id: &str,
    project: &str,
    status: &str,
    created_at: f64,
) -> String {
    let esc = |s: &str| jobq::schema::escape::escape_str(s);
    let key = format!("RedisJob:{}:{}:{}", esc(job_id), esc(project), esc(status));
    let pack = |v: &jobq::schema::Value| jobq::schema::msgpack::encode(v);
    use jobq::schema::Value as V;
    let _: () = redis::pipe()
        .atomic()
        .cmd("HSET")
        .arg(&key)
        .arg("job_id")
        .arg(pack(&V::Str(job_id.into())))
        .arg("project_key")
        .arg(pack(&V::Str(project.into())))
        .arg("status")
        .arg(pack(&V::Str(status.into())))
        .arg("priority")
        .arg(pack(&V::Str("normal".into())))
        .arg("message_text")
        .arg(pack(&V::Str(format!("msg {job_id}"))))
        .arg("created_at")
        .arg(pack(&V::Float(created_at)))
        .ignore()
        .cmd("SADD")
        .arg("$Class:RedisJob")
        .arg(&key)
        .ignore()
        .cmd("SADD")
        .arg(format!("$KeyF:RedisJob:project_key:{}", esc(project)))
        .arg(&key)
        .ignore()
        .cmd("SADD")
        .arg(format!("$KeyF:RedisJob:status:{}", esc(status)))
        .arg(&key)
        .ignore()
        .cmd("ZADD")
        .arg("$SortF:RedisJob:created_at")
        .arg(created_at)
        .arg(&key)
        .ignore()
        .query(con)
        .expect("popoto-style create");
    key
}

/// popoto 1.10.1's status change of a RedisJob (`save(migrate_key=True)`),
/// one MULTI/EXEC: re-create under the new key, drop the old one from every
/// set, DEL it. Returns the new key, or None when the old key is gone.
pub fn popoto_move(con: &mut redis::Connection, old_key: &str, new_status: &str) -> Option<String> {
    let esc = |s: &str| jobq::schema::escape::escape_str(s);
    let parts: Vec<&str> = old_key.split(':').collect();
    if parts.len() != 4 {
        return None;
    }
    let (old_status, project_esc) = (parts[3], parts[2]);
    let new_key = format!(
        "{}:{}:{}:{}",
        parts[0],
        parts[1],
        project_esc,
        esc(new_status)
    );
    let fields: Vec<(Vec<u8>, Vec<u8>)> = redis::cmd("HGETALL").arg(old_key).query(con).ok()?;
    if fields.is_empty() {
        return None;
    }
    let packed = jobq::schema::msgpack::encode(&jobq::schema::Value::Str(new_status.into()));
    let score: Option<f64> = redis::cmd("ZSCORE")
        .arg("$SortF:RedisJob:created_at")
        .arg(old_key)
        .query(con)
        .ok()?;
    let mut pipe = redis::pipe();
    pipe.atomic();
    let h = pipe.cmd("HSET").arg(&new_key);
    for (k, v) in &fields {
        if k.as_slice() == b"status" {
            h.arg(k.as_slice()).arg(packed.as_slice());
        } else {
            h.arg(k.as_slice()).arg(v.as_slice());
        }
    }
    pipe.ignore();
    let project_idx = format!("$KeyF:RedisJob:project_key:{project_esc}");
    pipe.cmd("SADD")
        .arg("$Class:RedisJob")
        .arg(&new_key)
        .ignore()
        .cmd("SREM")
        .arg(&project_idx)
        .arg(old_key)
        .ignore()
        .cmd("SREM")
        .arg(format!("$KeyF:RedisJob:status:{old_status}"))
        .arg(old_key)
        .ignore()
        .cmd("ZREM")
        .arg("$SortF:RedisJob:created_at")
        .arg(old_key)
        .ignore()
        .cmd("SREM")
        .arg("$Class:RedisJob")
        .arg(old_key)
        .ignore()
        .cmd("DEL")
        .arg(old_key)
        .ignore()
        .cmd("SADD")
        .arg(&project_idx)
        .arg(&new_key)
        .ignore()
        .cmd("SADD")
        .arg(format!("$KeyF:RedisJob:status:{}", esc(new_status)))
        .arg(&new_key)
        .ignore();
    if let Some(s) = score {
        pipe.cmd("ZADD")
            .arg("$SortF:RedisJob:created_at")
            .arg(s)
            .arg(&new_key)
            .ignore();
    }
    let _: () = pipe.query(con).ok()?;
    Some(new_key)
}

/// [`popoto_move`] as a worker that claims a job does it: the old key
/// WATCHed from the read to the EXEC, so the move happens only if nobody
/// touched the job meanwhile. The new key, or None when the job was gone or
/// changed (the EXEC aborted).
pub fn popoto_move_watched(
    con: &mut redis::Connection,
    old_key: &str,
    new_status: &str,
) -> Option<String> {
    redis::cmd("WATCH")
        .arg(old_key)
        .query::<()>(con)
        .expect("WATCH");
    let moved = popoto_move(con, old_key, new_status);
    redis::cmd("UNWATCH").query::<()>(con).expect("UNWATCH");
    let new = moved?;
    let exists: bool = redis::cmd("EXISTS").arg(&new).query(con).expect("EXISTS");
    exists.then_some(new)
}

/// A string packed as popoto packs it.
pub fn pack(s: &str) -> Vec<u8> {
    jobq::schema::msgpack::encode(&jobq::schema::Value::Str(s.into()))
}

/// A fresh job id (32 lowercase hex chars) for tests.
pub fn job_id(n: usize) -> String {
    format!("{n:032x}")
}

/// `n` healthy popoto-style pending jobs in project `proj`; their keys.
pub fn seed(con: &mut redis::Connection, n: usize, proj: &str) -> Vec<String> {
    (0..n)
        .map(|i| {
            popoto_create(
                con,
                &job_id(i + 1),
                proj,
                "pending",
                1767225600.0 + i as f64,
            )
        })
        .collect()
}

pub fn cmd(con: &mut redis::Connection, args: &[&[u8]]) -> redis::Value {
    let mut c = redis::cmd(std::str::from_utf8(args[0]).expect("command name"));
    for a in &args[1..] {
        c.arg(*a);
    }
    c.query(con)
        .unwrap_or_else(|e| panic!("{:?}: {e}", String::from_utf8_lossy(args[0])))
}

/// Everything in the database but jobq's own keys, in a comparable form.
pub fn snapshot(con: &mut redis::Connection) -> std::collections::BTreeMap<Vec<u8>, String> {
    let keys: Vec<Vec<u8>> = redis::cmd("KEYS").arg("*").query(con).expect("KEYS");
    let mut out = std::collections::BTreeMap::new();
    for k in keys {
        if k.starts_with(b"jobq:") {
            continue;
        }
        let t: String = redis::cmd("TYPE").arg(&k).query(con).expect("TYPE");
        let v = match t.as_str() {
            "hash" => {
                let mut f: Vec<(Vec<u8>, Vec<u8>)> =
                    redis::cmd("HGETALL").arg(&k).query(con).expect("HGETALL");
                f.sort();
                format!("hash {f:?}")
            }
            "set" => {
                let mut m: Vec<Vec<u8>> =
                    redis::cmd("SMEMBERS").arg(&k).query(con).expect("SMEMBERS");
                m.sort();
                format!("set {m:?}")
            }
            "zset" => {
                let m: Vec<(Vec<u8>, f64)> = redis::cmd("ZRANGE")
                    .arg(&k)
                    .arg(0)
                    .arg(-1)
                    .arg("WITHSCORES")
                    .query(con)
                    .expect("ZRANGE");
                format!("zset {m:?}")
            }
            "string" => {
                let v: Vec<u8> = redis::cmd("GET").arg(&k).query(con).expect("GET");
                format!("string {v:?}")
            }
            other => other.to_string(),
        };
        out.insert(k, v);
    }
    out
}

/// Differences between two snapshots, for assertion messages.
pub fn diff(
    a: &std::collections::BTreeMap<Vec<u8>, String>,
    b: &std::collections::BTreeMap<Vec<u8>, String>,
) -> String {
    let mut s = String::new();
    for (k, v) in a {
        match b.get(k) {
            None => s.push_str(&format!("- {}: {v}\n", String::from_utf8_lossy(k))),
            Some(w) if w != v => s.push_str(&format!(
                "~ {}:\n    {v}\n    {w}\n",
                String::from_utf8_lossy(k)
            )),
            _ => {}
        }
    }
    for (k, v) in b {
        if !a.contains_key(k) {
            s.push_str(&format!("+ {}: {v}\n", String::from_utf8_lossy(k)));
        }
    }
    s
}

/// Entries of a stream: (id, field/value pairs).
pub type StreamEntries = Vec<(String, Vec<(Vec<u8>, Vec<u8>)>)>;

/// Every entry of a stream, a run's start entries included.
pub fn xrange_all(con: &mut redis::Connection, key: &str) -> StreamEntries {
    let v: redis::Value = redis::cmd("XRANGE")
        .arg(key)
        .arg("-")
        .arg("+")
        .query(con)
        .expect("XRANGE");
    redis::FromRedisValue::from_redis_value(v).expect("stream entries")
}

/// Whether an audit entry opens a run (`action` `start`) rather than
/// recording a change.
pub fn is_start(entry: &[(Vec<u8>, Vec<u8>)]) -> bool {
    entry
        .iter()
        .any(|(f, v)| f.as_slice() == b"action" && v.as_slice() == b"start")
}

/// The entries of a stream that record changes: a run's start entry (which
/// changes nothing) is left out, so that tests count changes.
pub fn xrange(con: &mut redis::Connection, key: &str) -> StreamEntries {
    let mut all = xrange_all(con, key);
    all.retain(|(_, e)| !is_start(e));
    all
}

/// How many changes a stream records (see [`xrange`]); a run's start
/// entries are not counted.
pub fn xlen(con: &mut redis::Connection, key: &str) -> i64 {
    xrange(con, key).len() as i64
}

/// Seeds `n` pending jobs fast (one pipeline), popoto's bytes; their keys.
pub fn seed_fast(con: &mut redis::Connection, n: usize, proj: &str) -> Vec<String> {
    use jobq::schema::msgpack::encode;
    use jobq::schema::Value as V;
    let mut keys = Vec::with_capacity(n);
    for chunk in (0..n).collect::<Vec<_>>().chunks(2000) {
        let mut pipe = redis::pipe();
        for &i in chunk {
            let id = job_id(i + 1);
            let key = format!("RedisJob:{id}:{proj}:pending");
            pipe.cmd("HSET")
                .arg(&key)
                .arg("job_id")
                .arg(encode(&V::Str(id.clone())))
                .arg("project_key")
                .arg(encode(&V::Str(proj.into())))
                .arg("status")
                .arg(encode(&V::Str("pending".into())))
                .arg("priority")
                .arg(encode(&V::Str("normal".into())))
                .arg("message_text")
                .arg(encode(&V::Nil))
                .arg("created_at")
                .arg(encode(&V::Float(1767225600.0 + i as f64)))
                .ignore()
                .cmd("SADD")
                .arg("$Class:RedisJob")
                .arg(&key)
                .ignore()
                .cmd("SADD")
                .arg(format!("$KeyF:RedisJob:project_key:{proj}"))
                .arg(&key)
                .ignore()
                .cmd("SADD")
                .arg("$KeyF:RedisJob:status:pending")
                .arg(&key)
                .ignore()
                .cmd("ZADD")
                .arg("$SortF:RedisJob:created_at")
                .arg(1767225600.0 + i as f64)
                .arg(&key)
                .ignore();
            keys.push(key);
        }
        let _: () = pipe.query(con).expect("seed");
    }
    keys
}

/// A small deterministic random source for fault tests; print the seed.
pub struct Rng(u64);

impl Rng {
    pub fn from_env(name: &str) -> Rng {
        let seed = std::env::var(name)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(7)
            });
        eprintln!("fault seed: {name}={seed} (set it to replay)");
        Rng(seed | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Every record key of the model whose hash exists, by job_id (test-side
/// KEYS is fine on these small databases).
pub fn records_by_job(
    con: &mut redis::Connection,
) -> std::collections::BTreeMap<String, Vec<String>> {
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("RedisJob:*")
        .query(con)
        .expect("KEYS");
    let mut out: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for k in keys {
        let id = k.split(':').nth(1).unwrap_or_default().to_string();
        out.entry(id).or_default().push(k);
    }
    out
}

/// I1 and I2: every job in `ids` exists exactly once, in the class set, and
/// in exactly the one status index its key and field name.
pub fn assert_jobs_intact(con: &mut redis::Connection, ids: &[String], strict_index: bool) {
    let by_job = records_by_job(con);
    let class: std::collections::BTreeSet<String> =
        smembers(con, "$Class:RedisJob").into_iter().collect();
    let statuses = ["pending", "running", "completed", "failed"];
    let idx: Vec<std::collections::BTreeSet<String>> = statuses
        .iter()
        .map(|s| {
            smembers(con, &format!("$KeyF:RedisJob:status:{s}"))
                .into_iter()
                .collect()
        })
        .collect();
    for id in ids {
        let recs = by_job
            .get(id)
            .unwrap_or_else(|| panic!("job {id} was lost"));
        assert_eq!(recs.len(), 1, "job {id} lives twice: {recs:?}");
        let key = &recs[0];
        assert!(
            class.contains(key),
            "job {id} ({key}) is not in the class set"
        );
        if strict_index {
            let st = key.rsplit(':').next().unwrap_or_default();
            let mut inside = vec![];
            for (s, set) in statuses.iter().zip(&idx) {
                if set.contains(key) {
                    inside.push(*s);
                }
            }
            assert_eq!(inside, vec![st], "job {id} ({key}) is in {inside:?}");
        }
    }
}
