//! `jobq inspect --format prometheus`: the exposition read back by a real
//! parser (prometheus-parse), every line accounted for, labels escaped, a
//! figure that cannot be read left out, and the exit codes.

use std::collections::HashMap;

use super::*;
use prometheus_parse::{LineInfo, Scrape, Value as PromValue};

/// The page parsed, after checking that every line is a HELP, a TYPE or a
/// sample the parser understood (it skips lines it cannot read), and that
/// every family sampled has its HELP and a gauge TYPE.
fn scrape(run: &Run) -> Scrape {
    run.expect_code(0);
    let text = run.stdout();
    let mut sample_lines = 0;
    for line in text.lines() {
        match LineInfo::parse(line) {
            LineInfo::Doc { .. } | LineInfo::Type { .. } => {}
            LineInfo::Sample { value, .. } => {
                assert!(value.parse::<f64>().is_ok(), "value of {line:?}");
                sample_lines += 1;
            }
            _ => panic!("a line the parser cannot read: {line:?}\n{}", run.explain()),
        }
    }
    let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("parse");
    assert_eq!(scrape.samples.len(), sample_lines, "{text}");
    for s in &scrape.samples {
        assert!(
            scrape.docs.contains_key(&s.metric),
            "no HELP for {}",
            s.metric
        );
        assert!(
            text.contains(&format!("# TYPE {} gauge\n", s.metric)),
            "no TYPE for {}",
            s.metric
        );
        assert!(matches!(s.value, PromValue::Gauge(_)), "{s:?}");
        assert_eq!(s.labels.get("model"), Some("RedisJob"), "{s:?}");
        assert_eq!(s.labels.get("namespace"), Some("jobq"), "{s:?}");
    }
    scrape
}

/// Each sample of `metric`, by the value of `label` ("" without one).
fn values(s: &Scrape, metric: &str, label: &str) -> HashMap<String, f64> {
    s.samples
        .iter()
        .filter(|x| x.metric == metric)
        .map(|x| {
            let v = match x.value {
                PromValue::Gauge(v) => v,
                _ => f64::NAN,
            };
            (x.labels.get(label).unwrap_or_default().to_owned(), v)
        })
        .collect()
}

fn one(s: &Scrape, metric: &str) -> Option<f64> {
    let v = values(s, metric, "");
    assert!(v.len() <= 1, "{metric}: {v:?}");
    v.get("").copied()
}

#[test]
fn the_overview_reads_back_through_a_prometheus_parser() {
    let r = Redis::start();
    let mut con = r.con();
    popoto_create(&mut con, "j1", "p", "pending", T0);
    popoto_create(&mut con, "j2", "p", "pending", T0 + 5.0);
    popoto_create(&mut con, "j3", "p", "running", T0);
    popoto_create(&mut con, "j4", "p", "failed", T0);
    let s = scrape(&r.jobq(&["inspect", "--format", "prometheus"]));
    assert_eq!(one(&s, "jobq_class_set_jobs"), Some(4.0));
    let st = values(&s, "jobq_status_jobs", "status");
    assert_eq!(st.get("pending"), Some(&2.0), "{st:?}");
    assert_eq!(st.get("running"), Some(&1.0));
    assert_eq!(st.get("completed"), Some(&0.0));
    assert_eq!(st.get("failed"), Some(&1.0));
    assert_eq!(st.len(), 4);
    assert_eq!(one(&s, "jobq_healthy"), Some(1.0));
    // T0 is in the past: the oldest pending job (j1) is that old.
    let age = one(&s, "jobq_oldest_pending_age_seconds").expect("age");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64();
    assert!((age - (now - T0)).abs() < 60.0, "age {age}");
    // No --scan, no findings.
    assert!(values(&s, "jobq_findings", "kind").is_empty());
}

#[test]
fn damage_is_a_zero_gauge_and_scan_adds_the_findings_per_kind() {
    let r = Redis::start();
    let mut con = r.con();
    let k = popoto_create(&mut con, "j1", "p", "pending", T0);
    popoto_create(&mut con, "j2", "p", "completed", T0);
    // An orphan, and an undeclared status whose name needs escaping in a
    // label value: a double quote, a backslash and a line feed.
    cmd(
        &mut con,
        &[b"SREM", b"$KeyF:RedisJob:status:pending", k.as_bytes()],
    );
    cmd(
        &mut con,
        &[
            b"SADD",
            b"$KeyF:RedisJob:status:we\"ird\\\n",
            b"RedisJob:x:p:y",
            b"RedisJob:z:p:y",
        ],
    );
    let s = scrape(&r.jobq(&["inspect", "--format", "prometheus", "--scan", "-q"]));
    assert_eq!(one(&s, "jobq_healthy"), Some(0.0));
    let st = values(&s, "jobq_status_jobs", "status");
    // The status reads `we"ird\` and a line feed, shown as `we"ird\\n`
    // (the line feed as \n); the label escapes the quote and both
    // backslashes. The parser hands label values back still escaped: that
    // it read the label at all proves the quote was escaped.
    assert_eq!(st.get(r#"we\"ird\\\\n"#), Some(&2.0), "{st:?}");
    assert_eq!(one(&s, "jobq_oldest_pending_age_seconds"), None);
    let f = values(&s, "jobq_findings", "kind");
    assert_eq!(f.get("orphan"), Some(&1.0), "{f:?}");
    assert!(
        f.contains_key("duplicate") && f.contains_key("malformed"),
        "{f:?}"
    );
    assert!(one(&s, "jobq_unconfirmed_jobs").is_some());
}

#[test]
fn an_unreadable_index_is_left_out_never_zero() {
    let r = Redis::start();
    let mut con = r.con();
    popoto_create(&mut con, "j1", "p", "pending", T0);
    cmd(
        &mut con,
        &[b"SET", b"$KeyF:RedisJob:status:running", b"oops"],
    );
    let s = scrape(&r.jobq(&["inspect", "--format", "prometheus"]));
    let st = values(&s, "jobq_status_jobs", "status");
    assert_eq!(st.get("running"), None, "{st:?}");
    assert_eq!(st.get("pending"), Some(&1.0));
    assert_eq!(one(&s, "jobq_healthy"), Some(0.0));
}

#[test]
fn prometheus_exit_codes() {
    let r = Redis::start();
    for args in [
        &["--json", "inspect", "--format", "prometheus"][..],
        &["inspect", "--scan"],
        &["inspect", "--format", "prometheus", "some-job"],
        &["inspect", "--format", "prometheus", "--status", "pending"],
        &["inspect", "--format", "openmetrics"],
    ] {
        let run = r.jobq(args);
        run.expect_code(2);
        assert!(run.stdout().is_empty(), "{}", run.explain());
    }
    let run = jobq(&[
        "--url",
        "redis://127.0.0.1:1/0",
        "--connect-timeout",
        "1s",
        "inspect",
        "--format",
        "prometheus",
    ]);
    run.expect_code(3);
    assert!(run.stdout().is_empty(), "{}", run.explain());
}
