//! Resolved, validated settings: what the command line and environment mean
//! once defaults are applied. Built once, before any I/O on Redis.
//!
//! Owns: URL masking and scrubbing the password from text ([`scrub`]),
//! output mode decisions, loading the schema, reading and checking the TLS
//! files; per-command flags in one file each (`reap`). Must not: talk to
//! Redis or print.

pub mod delete;
pub mod drain;
pub mod enqueue;
pub mod inspect;
pub mod prune;
pub mod reap;
pub mod repair;
pub mod restore;
pub mod retry;
pub mod select;
pub mod undo;

use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::cli::{ColorWhen, GlobalArgs};
use crate::exit;
use crate::schema::{self, Model, Namespace};

#[derive(Debug, Clone)]
pub struct ConnectSettings {
    /// The URL as given: may hold a password, never print it.
    pub url: String,
    /// The URL with any password replaced by `***`: safe to print.
    pub display_url: String,
    /// The password, so that error text can be scrubbed of it.
    pub secret: Option<String>,
    pub connect_timeout: Duration,
    pub response_timeout: Duration,
    /// What `--tls-*` asked for; all empty without them.
    pub tls: TlsSettings,
}

/// The TLS flags, their files read and checked: PEM that parses, a key
/// that belongs to its certificate.
#[derive(Clone, Default)]
pub struct TlsSettings {
    /// `--tls-ca`: PEM certificates to trust besides the built-in roots.
    pub ca_pem: Option<Vec<u8>>,
    /// `--tls-cert` and `--tls-key`: the client's PEM chain and key.
    pub client: Option<(Vec<u8>, Vec<u8>)>,
    /// `--tls-insecure`: no verification of the server's certificate.
    pub insecure: bool,
}

impl TlsSettings {
    /// Whether any TLS flag was given.
    pub fn any(&self) -> bool {
        self.ca_pem.is_some() || self.client.is_some() || self.insecure
    }
}

// By hand: the key must never reach a log through `{:?}`.
impl std::fmt::Debug for TlsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSettings")
            .field("ca_pem", &self.ca_pem.as_ref().map(|_| "<pem>"))
            .field("client", &self.client.as_ref().map(|_| "<redacted>"))
            .field("insecure", &self.insecure)
            .finish()
    }
}

#[derive(Debug, Clone)]
pub struct OutputSettings {
    pub json: bool,
    pub quiet: bool,
    pub verbose: u8,
    pub color_stdout: bool,
    pub color_stderr: bool,
    /// Draw progress bars on stderr.
    pub progress: bool,
    /// Whether a confirmation prompt can be shown.
    pub interactive: bool,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub connect: ConnectSettings,
    /// `--read-from`: the replica the walks read, with the same TLS
    /// settings; `None` reads everything from `connect`.
    pub read_from: Option<ConnectSettings>,
    pub model: Model,
    pub ns: Namespace,
    pub output: OutputSettings,
}

impl Settings {
    pub fn from_args(g: &GlobalArgs) -> Result<Settings> {
        let output = output_settings(g);
        let rediss = |u: &str| u.trim().starts_with("rediss://");
        let read_from_tls = g.read_from.as_deref().is_some_and(rediss);
        let connect = connect_settings(g, "--url", &g.url, read_from_tls)?;
        let read_from = match &g.read_from {
            Some(url) => Some(connect_settings(g, "--read-from", url, rediss(&g.url))?),
            None => None,
        };
        // toml quotes the file's line with a caret under the mistake.
        let model = schema::load(g.schema.as_deref())
            .map_err(|e| exit::usage_keeping_lines(format!("{e:#}")))?;
        if g.namespace.is_empty() || g.namespace.contains(['*', '?', '[', ' ']) {
            return Err(exit::usage(format!(
                "--namespace {:?} must be non-empty, without spaces or glob characters",
                g.namespace
            )));
        }
        Ok(Settings {
            connect,
            read_from,
            model,
            ns: Namespace::new(&g.namespace),
            output,
        })
    }
}

/// Output decisions that need no Redis and no schema, so that errors met
/// while resolving the rest can already be shown the right way.
pub fn output_settings(g: &GlobalArgs) -> OutputSettings {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let color = |tty: bool| match g.color {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        ColorWhen::Auto => tty && !no_color,
    };
    let stderr_tty = std::io::stderr().is_terminal();
    let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty());
    OutputSettings {
        json: g.json,
        quiet: g.quiet,
        verbose: g.verbose,
        color_stdout: color(std::io::stdout().is_terminal()),
        color_stderr: color(stderr_tty),
        progress: stderr_tty && !g.json && !g.quiet && !ci,
        interactive: std::io::stdin().is_terminal() && stderr_tty,
    }
}

/// The connection of `flag` (`--url` or `--read-from`) to `url`; the
/// timeouts and `--tls-*` options are shared. `other_tls`: the other URL
/// is a TLS one, so `--tls-*` may be meant for it alone.
fn connect_settings(
    g: &GlobalArgs,
    flag: &str,
    url: &str,
    other_tls: bool,
) -> Result<ConnectSettings> {
    let url = url.trim().to_owned();
    let (display_url, secret) = mask_url(&url);
    let scheme_ok = ["redis://", "rediss://", "unix://", "redis+unix://"]
        .iter()
        .any(|s| url.starts_with(s));
    if !scheme_ok {
        return Err(exit::usage(format!(
            "{flag} {display_url:?} must start with redis://, rediss:// or unix://"
        )));
    }
    if let Some(port) = bad_port(&url) {
        return Err(exit::usage(format!(
            "{flag} {display_url:?}: the port {port:?} is not valid; give a number from 1 to 65535"
        )));
    }
    if g.connect_timeout.is_zero() || g.response_timeout.is_zero() {
        return Err(exit::usage(
            "--connect-timeout and --response-timeout must be above zero",
        ));
    }
    let tls = if other_tls && !url.starts_with("rediss://") {
        TlsSettings::default()
    } else {
        tls_settings(g, flag, &url, &display_url)?
    };
    Ok(ConnectSettings {
        url,
        display_url,
        secret,
        connect_timeout: g.connect_timeout,
        response_timeout: g.response_timeout,
        tls,
    })
}

/// The port of a `redis://` or `rediss://` URL when it is not one a
/// server can listen on. The client library's own word for it is only
/// "did not parse - InvalidClientConfig".
fn bad_port(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("redis://")
        .or_else(|| url.strip_prefix("rediss://"))?;
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    // An IPv6 host is bracketed and has colons of its own.
    let port = match host_port.rsplit_once(']') {
        Some((_, after)) => after.strip_prefix(':')?,
        None => host_port.rsplit_once(':')?.1,
    };
    match port.parse::<u16>() {
        Ok(p) if p > 0 => None,
        // `host:` with nothing after means the default port.
        _ if port.is_empty() => None,
        _ => Some(port.to_owned()),
    }
}

/// Read and check the `--tls-*` files, so that a wrong one is a usage
/// error naming it before anything connects.
fn tls_settings(g: &GlobalArgs, flag: &str, url: &str, display_url: &str) -> Result<TlsSettings> {
    let given: Vec<&str> = [
        (g.tls_ca.is_some(), "--tls-ca"),
        (g.tls_cert.is_some(), "--tls-cert"),
        (g.tls_key.is_some(), "--tls-key"),
        (g.tls_insecure, "--tls-insecure"),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .map(|(_, name)| *name)
    .collect();
    if given.is_empty() {
        return Ok(TlsSettings::default());
    }
    if !url.starts_with("rediss://") {
        return Err(exit::usage(format!(
            "{}: only for a TLS connection, and {flag} {display_url:?} is not one; use rediss://",
            given.join(", ")
        )));
    }
    let ca_pem = match &g.tls_ca {
        Some(path) => {
            let pem = read_tls_file("--tls-ca", path)?;
            let certs = certificates("--tls-ca", path, &pem)?;
            // The same check the connection makes, so that it cannot fail
            // there on a file that passed here.
            let mut roots = rustls::RootCertStore::empty();
            for cert in certs {
                roots.add(cert).map_err(|e| {
                    exit::usage(format!(
                        "--tls-ca {}: a certificate in it cannot be a trust anchor ({e})",
                        path.display()
                    ))
                })?;
            }
            Some(pem)
        }
        None => None,
    };
    let client = match (&g.tls_cert, &g.tls_key) {
        (Some(cert_path), Some(key_path)) => {
            let cert = read_tls_file("--tls-cert", cert_path)?;
            let key = read_tls_file("--tls-key", key_path)?;
            check_client_identity(cert_path, &cert, key_path, &key)?;
            Some((cert, key))
        }
        (Some(_), None) => {
            return Err(exit::usage(
                "--tls-cert needs --tls-key: the client certificate's private key",
            ))
        }
        (None, Some(_)) => {
            return Err(exit::usage(
                "--tls-key needs --tls-cert: the client certificate it belongs to",
            ))
        }
        (None, None) => None,
    };
    Ok(TlsSettings {
        ca_pem,
        client,
        insecure: g.tls_insecure,
    })
}

fn read_tls_file(flag: &str, path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| exit::usage(format!("{flag} {}: {e}", path.display())))
}

/// The certificates of a PEM file; none is an error naming the file.
fn certificates(flag: &str, path: &Path, pem: &[u8]) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| exit::usage(format!("{flag} {}: not valid PEM ({e})", path.display())))?;
    if certs.is_empty() {
        return Err(exit::usage(format!(
            "{flag} {}: no PEM certificate (-----BEGIN CERTIFICATE-----) in it",
            path.display()
        )));
    }
    Ok(certs)
}

/// The client certificate parses, the key parses, and the key is the
/// certificate's.
fn check_client_identity(cert_path: &Path, cert: &[u8], key_path: &Path, key: &[u8]) -> Result<()> {
    let chain = certificates("--tls-cert", cert_path, cert)?;
    let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| {
        exit::usage(format!(
            "--tls-key {}: no PEM private key in it ({e})",
            key_path.display()
        ))
    })?;
    let provider = rustls::crypto::ring::default_provider();
    let signer = provider.key_provider.load_private_key(key).map_err(|e| {
        exit::usage(format!(
            "--tls-key {}: a key jobq cannot use ({e})",
            key_path.display()
        ))
    })?;
    match rustls::sign::CertifiedKey::new(chain, signer).keys_match() {
        Ok(()) => Ok(()),
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => {
            Err(exit::usage(format!(
                "--tls-key {} is not the private key of --tls-cert {}",
                key_path.display(),
                cert_path.display()
            )))
        }
        // A key whose public half cannot be derived, or a certificate
        // rustls does not parse (an X.509 v1 one, say) but a server may
        // accept: the server judges.
        Err(_) => Ok(()),
    }
}

impl Settings {
    /// The passwords of `--url` and `--read-from`, to scrub from any text.
    pub fn secrets(&self) -> Vec<&str> {
        std::iter::once(&self.connect)
            .chain(&self.read_from)
            .filter_map(|c| c.secret.as_deref())
            .collect()
    }
}

/// `text` with every occurrence of the password (see [`mask_url`]) replaced
/// by `***`: for any text that may quote the URL or a server's reply to
/// AUTH. The one place this is done (store's connection errors, reap's
/// per-sweep errors, the fatal error line). A password under three
/// characters is left alone: it would turn up inside ordinary words and
/// garble the message.
pub fn scrub(text: &str, secret: Option<&str>) -> String {
    match secret {
        Some(s) if s.len() >= 3 => text.replace(s, "***"),
        _ => text.to_owned(),
    }
}

/// The command line as the audit stream's start entry records it: each
/// argument's URL password masked ([`mask_url`]) and every known password
/// ([`Settings::secrets`], from a flag or the environment) scrubbed, the
/// arguments joined by spaces, any with a space or a quote in single quotes,
/// the program by its file name.
pub fn command_line(args: &[std::ffi::OsString], secrets: &[&str]) -> String {
    args.iter()
        .enumerate()
        .map(|(i, a)| {
            let mut a = a.to_string_lossy().into_owned();
            // The program by its name, not where it was installed.
            if i == 0 {
                a = a.rsplit('/').next().unwrap_or(&a).to_owned();
            }
            if a.contains("://") {
                a = mask_url(&a).0;
            }
            for s in secrets {
                a = scrub(&a, Some(s));
            }
            if a.is_empty() || a.contains(|c: char| c.is_whitespace() || c == '\'' || c == '"') {
                format!("'{}'", a.replace('\'', "'\\''"))
            } else {
                a
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Replace the password of `scheme://user:password@host` (and a `pass=`
/// query parameter of unix URLs) with `***`.
pub fn mask_url(url: &str) -> (String, Option<String>) {
    let mut secret = None;
    let mut out = url.to_owned();
    if let Some(scheme_end) = url.find("://") {
        let rest = &url[scheme_end + 3..];
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let authority = &rest[..authority_end];
        if let Some(at) = authority.rfind('@') {
            let userinfo = &authority[..at];
            let masked = match userinfo.find(':') {
                Some(c) => {
                    secret = Some(userinfo[c + 1..].to_owned());
                    format!("{}:***", &userinfo[..c])
                }
                // redis://password@host: a lone userinfo is the password.
                None => {
                    secret = Some(userinfo.to_owned());
                    "***".to_owned()
                }
            };
            out = format!("{}{}{}", &url[..scheme_end + 3], masked, &rest[at..]);
        }
    }
    if let Some(q) = out.find('?') {
        let (head, query) = out.split_at(q + 1);
        let parts: Vec<String> = query
            .split('&')
            .map(|p| match p.split_once('=') {
                Some(("pass" | "password", v)) => {
                    secret = Some(v.to_owned());
                    format!("{}=***", p.split('=').next().unwrap_or("pass"))
                }
                _ => p.to_owned(),
            })
            .collect();
        out = format!("{head}{}", parts.join("&"));
    }
    let secret = secret.filter(|s| !s.is_empty());
    (out, secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_ports() {
        assert_eq!(
            bad_port("redis://127.0.0.1:99999/0").as_deref(),
            Some("99999")
        );
        assert_eq!(bad_port("rediss://u:p@h:port/0").as_deref(), Some("port"));
        assert_eq!(bad_port("redis://h:0").as_deref(), Some("0"));
        assert_eq!(bad_port("redis://[::1]:70000/0").as_deref(), Some("70000"));
        for ok in [
            "redis://127.0.0.1:6379/0",
            "redis://h/0",
            "redis://[::1]/0",
            "redis://[::1]:6380",
            "redis://a:b@h:6379",
            "unix:///tmp/r.sock",
        ] {
            assert_eq!(bad_port(ok), None, "{ok}");
        }
    }

    #[test]
    fn the_command_line_has_no_password() {
        let args: Vec<std::ffi::OsString> = [
            "/usr/local/bin/jobq",
            "--url",
            "redis://app:hunter22@h:6379/0",
            "--url=redis://:pw@h",
            "delete",
            "a b",
            "hunter22x",
        ]
        .iter()
        .map(Into::into)
        .collect();
        let line = command_line(&args, &["hunter22"]);
        assert_eq!(
            line,
            "jobq --url redis://app:***@h:6379/0 --url=redis://:***@h delete 'a b' ***x"
        );
    }

    #[test]
    fn scrubs_the_password() {
        let t = "AUTH s3cret failed for redis://app:s3cret@h";
        assert_eq!(
            scrub(t, Some("s3cret")),
            "AUTH *** failed for redis://app:***@h"
        );
        assert_eq!(scrub(t, None), t);
        assert_eq!(
            scrub("a pw here", Some("pw")),
            "a pw here",
            "too short to scrub"
        );
    }

    #[test]
    fn masks_passwords() {
        let (d, s) = mask_url("redis://app:s3cret@host:6379/0");
        assert_eq!(d, "redis://app:***@host:6379/0");
        assert_eq!(s.as_deref(), Some("s3cret"));
        let (d, s) = mask_url("rediss://:pw@host/2");
        assert_eq!(d, "rediss://:***@host/2");
        assert_eq!(s.as_deref(), Some("pw"));
        let (d, _) = mask_url("unix:///tmp/r.sock?db=1&pass=pw");
        assert_eq!(d, "unix:///tmp/r.sock?db=1&pass=***");
        let (d, s) = mask_url("redis://127.0.0.1:6379/0");
        assert_eq!(d, "redis://127.0.0.1:6379/0");
        assert_eq!(s, None);
        let (d, _) = mask_url("redis://a:b@c@host/0");
        assert_eq!(d, "redis://a:***@host/0");
    }
}
