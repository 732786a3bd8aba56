//! Calendar arithmetic for the datetimes popoto stores: Unix seconds to
//! Python's naive `isoformat()` text and back, byte for byte as popoto
//! writes and reads them, with Howard Hinnant's civil-date algorithms (no
//! time zone database: popoto's datetimes are UTC).
//!
//! Owns: [`iso_utc`], [`parse_iso_utc`]. Must not: know about fields or
//! records (that is `record`).

/// Python's naive `datetime.utcfromtimestamp(t).isoformat()`.
pub fn iso_utc(t: f64) -> String {
    let secs = t.floor() as i64;
    let micros = ((t - t.floor()) * 1e6).round() as i64;
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let base = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        sod / 3600,
        (sod % 3600) / 60,
        sod % 60
    );
    if micros > 0 && micros < 1_000_000 {
        format!("{base}.{micros:06}")
    } else {
        base
    }
}

/// Unix seconds of a datetime text popoto stored: `isoformat()` since popoto
/// 1.8.2 (`2026-01-01T10:00:00[.ffffff][+HH:MM|Z]`, a space instead of `T`
/// accepted, a bare date is midnight) or `%Y%m%dT%H:%M:%S.%f` before. A time
/// without an offset is taken as UTC. None when the text is neither.
pub fn parse_iso_utc(text: &str) -> Option<f64> {
    let t = text.trim().as_bytes();
    let num = |s: &[u8]| -> Option<i64> {
        if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(s).ok()?.parse().ok()
    };
    let (y, mo, d, rest) = if t.len() >= 10 && t[4] == b'-' && t[7] == b'-' {
        (num(&t[..4])?, num(&t[5..7])?, num(&t[8..10])?, &t[10..])
    } else if t.len() >= 8 && t[..8].iter().all(u8::is_ascii_digit) {
        (num(&t[..4])?, num(&t[4..6])?, num(&t[6..8])?, &t[8..])
    } else {
        return None;
    };
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let mut secs = days_from_civil(y, mo, d) * 86_400;
    let mut frac = 0.0;
    let mut rest = rest;
    if !rest.is_empty() {
        if rest[0] != b'T' && rest[0] != b' ' {
            return None;
        }
        rest = &rest[1..];
        if rest.len() < 8 || rest[2] != b':' || rest[5] != b':' {
            return None;
        }
        let (h, mi, s) = (num(&rest[..2])?, num(&rest[3..5])?, num(&rest[6..8])?);
        if h > 23 || mi > 59 || s > 60 {
            return None;
        }
        secs += h * 3600 + mi * 60 + s;
        rest = &rest[8..];
        if rest.first() == Some(&b'.') {
            let n = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
            if n == 0 {
                return None;
            }
            let digits = std::str::from_utf8(&rest[1..1 + n]).ok()?;
            frac = format!("0.{digits}").parse().ok()?;
            rest = &rest[1 + n..];
        }
        match rest {
            [] | [b'Z'] => {}
            [sign @ (b'+' | b'-'), oh1, oh2, b':', om1, om2] => {
                let off = num(&[*oh1, *oh2])? * 3600 + num(&[*om1, *om2])? * 60;
                secs -= if *sign == b'+' { off } else { -off };
            }
            _ => return None,
        }
    }
    Some(secs as f64 + frac)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// days_from_civil).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_parsing() {
        assert_eq!(parse_iso_utc("1970-01-01T00:00:00"), Some(0.0));
        assert_eq!(
            parse_iso_utc("2026-01-01T00:00:00.500000"),
            Some(1767225600.5)
        );
        assert_eq!(parse_iso_utc("2026-01-01"), Some(1767225600.0));
        assert_eq!(
            parse_iso_utc("2026-01-01 01:00:00+01:00"),
            Some(1767225600.0)
        );
        assert_eq!(
            parse_iso_utc("2025-12-31T23:00:00-01:00"),
            Some(1767225600.0)
        );
        assert_eq!(parse_iso_utc("2026-01-01T00:00:00Z"), Some(1767225600.0));
        assert_eq!(
            parse_iso_utc("20260101T00:00:00.250000"),
            Some(1767225600.25)
        );
        assert_eq!(parse_iso_utc("2000-02-29T00:00:00"), Some(951782400.0));
        for bad in [
            "",
            "soon",
            "2026-13-01",
            "2026-01-01T25:00:00",
            "2026-01-01T00:00",
            "2026-01-01T00:00:00.",
            "2026-01-01T00:00:00+1",
        ] {
            assert_eq!(parse_iso_utc(bad), None, "{bad:?}");
        }
        for t in [0.0, 951782400.0, 1767225600.5, 4102444800.25] {
            assert_eq!(parse_iso_utc(&iso_utc(t)), Some(t), "round trip of {t}");
        }
    }

    #[test]
    fn iso() {
        assert_eq!(iso_utc(0.0), "1970-01-01T00:00:00");
        assert_eq!(iso_utc(1767225600.5), "2026-01-01T00:00:00.500000");
        assert_eq!(iso_utc(951782400.0), "2000-02-29T00:00:00");
    }
}
