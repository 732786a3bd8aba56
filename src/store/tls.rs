//! TLS for the connection: the redis client built with what `--tls-*`
//! asked for, and a failed TLS connection told in words a user can act on
//! (which of the usual mismatches it is, and the flag or URL that fixes it).
//!
//! Owns: the trust roots handed to the client, the reading of handshake
//! errors. Must not: read files (settings did), or print.

use std::time::Duration;

use redis::{
    Client, ClientTlsConfig, ConnectionAddr, IntoConnectionInfo, RedisResult, TlsCertificates,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::settings::ConnectSettings;

/// The client for `cfg`: a plain one, or one with the CA, the client
/// certificate and the verification `--tls-*` asked for.
pub fn client(cfg: &ConnectSettings) -> RedisResult<Client> {
    let tls = &cfg.tls;
    // redis turns verification off for a `#insecure` fragment; any other
    // fragment it refuses, so one already there is left for it to judge.
    let url = if tls.insecure && !cfg.url.contains('#') {
        format!("{}#insecure", cfg.url)
    } else {
        cfg.url.clone()
    };
    if tls.ca_pem.is_none() && tls.client.is_none() {
        return Client::open(url.as_str());
    }
    let certs = TlsCertificates {
        client_tls: tls.client.as_ref().map(|(cert, key)| ClientTlsConfig {
            client_cert: cert.clone(),
            client_key: key.clone(),
        }),
        // redis trusts the roots it is given *instead of* its own: give it
        // its own too, so that the CA is trusted in addition.
        root_cert: tls.ca_pem.as_ref().map(|ca| {
            let mut pem = builtin_roots_pem();
            pem.extend_from_slice(ca);
            pem
        }),
    };
    Client::build_with_tls(url.as_str(), certs)
}

/// The Mozilla roots that redis trusts by default, as PEM.
fn builtin_roots_pem() -> Vec<u8> {
    let mut out = Vec::with_capacity(webpki_root_certs::TLS_SERVER_ROOT_CERTS.len() * 2048);
    for cert in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
        pem_block(&mut out, "CERTIFICATE", cert.as_ref());
    }
    out
}

/// Append one PEM block (RFC 7468: base64 in lines of 64).
fn pem_block(out: &mut Vec<u8>, label: &str, der: &[u8]) {
    out.extend_from_slice(format!("-----BEGIN {label}-----\n").as_bytes());
    let b64 = base64(der);
    for line in b64.as_bytes().chunks(64) {
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    out.extend_from_slice(format!("-----END {label}-----\n").as_bytes());
}

fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// What a failed connection means when TLS is the cause, in one sentence
/// with what to do; `None` when it does not look like a TLS problem.
/// `text` is the error in one line, already free of the password.
pub fn explain(text: &str, cfg: &ConnectSettings) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let tls_url = cfg.url.starts_with("rediss://");
    if tls_url {
        if lower.contains("certificaterequired")
            || lower.contains("certificate required")
            || (lower.contains("handshakefailure") && cfg.tls.client.is_none())
        {
            return Some(if cfg.tls.client.is_some() {
                format!("the server refused jobq's client certificate ({text}); check --tls-cert and --tls-key")
            } else {
                format!("the server requires a client certificate ({text}); pass --tls-cert and --tls-key")
            });
        }
        if lower.contains("badcertificate")
            || lower.contains("unknownca")
            || lower.contains("bad certificate")
            || lower.contains("unknown ca")
        {
            return Some(format!(
                "the server refused jobq's client certificate ({text}); check --tls-cert and --tls-key, and that the server's tls-ca-cert-file signed it"
            ));
        }
        if lower.contains("invalid peer certificate") {
            if lower.contains("notvalidforname") || lower.contains("not valid for name") {
                return Some(format!(
                    "the server's certificate is not for this host name ({text}); use a host name it names in --url, or, for a test server, --tls-insecure"
                ));
            }
            if lower.contains("expired") || lower.contains("notvalidyet") {
                return Some(format!(
                    "the server's certificate is outside its validity period ({text}); renew it, or, for a test server, --tls-insecure"
                ));
            }
            return Some(format!(
                "certificate not trusted ({text}); pass --tls-ca FILE or, for a test server, --tls-insecure"
            ));
        }
        if lower.contains("corrupt message")
            || lower.contains("invalidcontenttype")
            || lower.contains("invalid content type")
            || lower.contains("wrong version")
        {
            return Some(plain_text_server(text));
        }
        None
    } else if cfg.url.starts_with("redis://") {
        // A TLS server reads jobq's first command as a broken handshake
        // and closes the connection, or answers with a TLS alert that is
        // garbage to a Redis client.
        let dropped = lower.contains("connection reset")
            || lower.contains("broken pipe")
            || lower.contains("unexpected end of file")
            || lower.contains("connection closed")
            || lower.contains("connection dropped")
            || lower.contains("parse error")
            || lower.contains("invalid response")
            || lower.contains("unexpected eof");
        dropped.then(|| {
            format!(
                "the server closed the connection or replied garbage ({text}); the server may require TLS; use rediss://"
            )
        })
    } else {
        None
    }
}

/// The one line for a plain-text server met on a `rediss://` URL.
pub fn plain_text_server(text: &str) -> String {
    format!("server does not speak TLS ({text}); use redis://")
}

/// Whether the server of a `rediss://` URL answers a plain-text `PING` the
/// way Redis does: a plain-text server left the TLS handshake unanswered
/// (it waits for the end of an inline command that never comes), so the
/// failure alone cannot tell it from an unreachable host. Each step is
/// bounded by the connect timeout, and by a second at most.
pub async fn speaks_plain_redis(cfg: &ConnectSettings) -> bool {
    let Ok(info) = cfg.url.as_str().into_connection_info() else {
        return false;
    };
    let ConnectionAddr::TcpTls { host, port, .. } = info.addr() else {
        return false;
    };
    let limit = cfg.connect_timeout.min(Duration::from_secs(1));
    let probe = async {
        let mut s = tokio::net::TcpStream::connect((host.as_str(), *port)).await?;
        s.write_all(b"PING\r\n").await?;
        let mut buf = [0u8; 64];
        let n = s.read(&mut buf).await?;
        std::io::Result::Ok(buf[..n].to_vec())
    };
    match tokio::time::timeout(limit * 2, probe).await {
        // +PONG, or -NOAUTH / -ERR from a server that wants a password.
        Ok(Ok(reply)) => reply.ends_with(b"\r\n") && matches!(reply.first(), Some(b'+' | b'-')),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;

    #[test]
    fn base64_matches_rfc4648() {
        for (raw, enc) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(raw.as_bytes()), enc, "{raw:?}");
        }
    }

    #[test]
    fn builtin_roots_round_trip_through_pem() {
        let pem = builtin_roots_pem();
        let parsed: Vec<CertificateDer> = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<_, _>>()
            .expect("valid PEM");
        assert_eq!(parsed.len(), webpki_root_certs::TLS_SERVER_ROOT_CERTS.len());
        assert!(parsed.len() > 100);
        for (a, b) in parsed.iter().zip(webpki_root_certs::TLS_SERVER_ROOT_CERTS) {
            assert_eq!(a.as_ref(), b.as_ref());
        }
    }
}
