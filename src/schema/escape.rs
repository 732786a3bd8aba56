//! popoto's key escaping, byte for byte (docs/layout.md, "Escaping a value in a key"), and the
//! backslash escaping Redis glob patterns need.
//!
//! Owns: `escape`, `unescape`, `glob_escape`. Must not: build whole keys (see
//! `keys`), or know anything about a model.

/// Characters popoto prefixes with `/` (after doubling `/` itself).
const SLASHED: &[u8] = b"'?*^[]-";
const COLON_ENTITY: &[u8] = b"{&#58;}";

/// popoto's `esc(v)`: `/`→`//`, each of `' ? * ^ [ ] -`→`/x`, a literal
/// `{&#58;}`→`/{&#58;}`, then `:`→`{&#58;}`.
pub fn escape(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 8);
    let mut i = 0;
    while i < value.len() {
        let c = value[i];
        if c == b'/' {
            out.extend_from_slice(b"//");
        } else if SLASHED.contains(&c) {
            out.push(b'/');
            out.push(c);
        } else if value[i..].starts_with(COLON_ENTITY) {
            // popoto >= 1.9.0 protects a literal entity so it cannot be read
            // back as a colon.
            out.push(b'/');
            out.extend_from_slice(COLON_ENTITY);
            i += COLON_ENTITY.len();
            continue;
        } else if c == b':' {
            out.extend_from_slice(COLON_ENTITY);
        } else {
            out.push(c);
        }
        i += 1;
    }
    out
}

/// [`escape`], appended to `out`.
pub fn escape_into(out: &mut Vec<u8>, value: &[u8]) {
    // Most values (ids, project names, statuses) need no escaping at all.
    if !value.iter().any(|&c| NEEDS_ESCAPE[usize::from(c)]) {
        out.extend_from_slice(value);
    } else {
        out.extend_from_slice(&escape(value));
    }
}

/// The bytes [`escape`] may change or that may start `{&#58;}`.
const NEEDS_ESCAPE: [bool; 256] = {
    let mut t = [false; 256];
    let special = b"/'?*^[]-{:";
    let mut i = 0;
    while i < special.len() {
        t[special[i] as usize] = true;
        i += 1;
    }
    t
};

/// String convenience over [`escape`].
pub fn escape_str(value: &str) -> String {
    // Escaping only inserts ASCII around ASCII characters, so UTF-8 survives.
    String::from_utf8(escape(value.as_bytes()))
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Inverse of [`escape`], scanning left to right: `/x` yields `x` for the
/// escapable characters and `{`; `{&#58;}` yields `:`. Anything else is kept
/// as it is (popoto itself is just as lenient).
pub fn unescape(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    let mut i = 0;
    while i < value.len() {
        let c = value[i];
        if c == b'/' {
            if let Some(&next) = value.get(i + 1) {
                if next == b'/' || next == b'{' || SLASHED.contains(&next) {
                    out.push(next);
                    i += 2;
                    continue;
                }
            }
            out.push(c);
            i += 1;
        } else if value[i..].starts_with(COLON_ENTITY) {
            out.push(b':');
            i += COLON_ENTITY.len();
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Escape bytes so that a Redis `MATCH` pattern matches them literally.
/// popoto's `/` escape means nothing to Redis, so `* ? [ ] \ ^ -` need a
/// backslash of their own.
pub fn glob_escape(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 4);
    for &c in value {
        if b"*?[]\\^-".contains(&c) {
            out.push(b'\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn esc(s: &str) -> String {
        escape_str(s)
    }

    #[test]
    fn layout_examples() {
        assert_eq!(esc("team:ops-1"), "team{&#58;}ops/-1");
        assert_eq!(esc("2026-01-01"), "2026/-01/-01");
        assert_eq!(esc("a*b?c"), "a/*b/?c");
        assert_eq!(esc("{&#58;}"), "/{&#58;}");
        assert_eq!(esc("a/b"), "a//b");
        assert_eq!(esc("it's [x]^"), "it/'s /[x/]/^");
        assert_eq!(esc("plain"), "plain");
    }

    #[test]
    fn unescape_examples() {
        assert_eq!(unescape(b"team{&#58;}ops/-1"), b"team:ops-1");
        assert_eq!(unescape(b"/{&#58;}"), b"{&#58;}");
        assert_eq!(unescape(b"a//b"), b"a/b");
        // A lone slash before an ordinary character is kept.
        assert_eq!(unescape(b"a/b"), b"a/b");
    }

    #[test]
    fn round_trips() {
        for s in [
            "",
            "team:ops-1",
            "2026-01-01",
            "a*b?c",
            "{&#58;}",
            "x{&#58;}y:z",
            "//",
            "/-",
            "{",
            "{&#58;",
            "café:ü",
            "a:b:c",
            "' ? * ^ [ ] -",
        ] {
            let e = escape(s.as_bytes());
            assert!(!e.contains(&b':'), "escaped {s:?} still has a colon");
            let mut into = b"prefix:".to_vec();
            escape_into(&mut into, s.as_bytes());
            assert_eq!(into, [b"prefix:".as_slice(), &e].concat(), "{s:?}");
            assert_eq!(unescape(&e), s.as_bytes(), "round trip of {s:?}");
        }
    }

    proptest::proptest! {
        /// The fast path of escape_into (nothing to escape) changes nothing.
        #[test]
        fn escape_into_is_escape(v in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40)) {
            let mut out = Vec::new();
            escape_into(&mut out, &v);
            proptest::prop_assert_eq!(out, escape(&v));
        }
    }

    #[test]
    fn glob() {
        assert_eq!(glob_escape(b"a*b?[c]\\^-"), b"a\\*b\\?\\[c\\]\\\\\\^\\-");
        assert_eq!(glob_escape(b"plain"), b"plain");
    }
}
