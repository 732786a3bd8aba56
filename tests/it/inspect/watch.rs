//! `inspect --watch`: JSON lines or redrawn text until Ctrl-C.

use super::*;

/// Start `jobq inspect --watch`, wait for `frames` lines of stdout that
/// satisfy `is_frame`, send SIGINT, and return (exit code, stdout).
fn watch_until(
    r: &Redis,
    args: &[&str],
    frames: usize,
    is_frame: fn(&str) -> bool,
) -> (i32, String) {
    let mut child = Command::new(jobq_bin())
        .args(["--url", &r.url()])
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn jobq");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            all.push_str(&line);
            all.push('\n');
            if is_frame(&line) {
                let _ = tx.send(());
            }
        }
        all
    });
    for _ in 0..frames {
        if rx.recv_timeout(Duration::from_secs(30)).is_err() {
            let _ = child.kill();
            panic!("no frame within 30 s\n{}", r.log());
        }
    }
    let pid = child.id().to_string();
    let sent = Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill -INT");
    assert!(sent.success());
    let status = child.wait().expect("wait jobq");
    let out = reader.join().expect("reader");
    (status.code().unwrap_or(-1), out)
}

#[test]
fn watch_prints_json_lines_until_ctrl_c_then_exits_130() {
    let r = Redis::start();
    let mut con = r.con();
    popoto_create(&mut con, "j1", "p", "pending", T0);
    let (code, out) = watch_until(&r, &["--json", "inspect", "--watch", "0.2"], 3, |l| {
        l.starts_with('{')
    });
    assert_eq!(code, 130, "{out}");
    let frames: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON Lines ({e}): {l:?}")))
        .collect();
    assert!(frames.len() >= 3, "{out}");
    for f in &frames {
        assert_eq!(f["command"], "inspect");
        assert_eq!(f["view"], "overview");
        assert_eq!(f["class_set"]["size"], 1);
    }
}

#[test]
fn watch_redraws_text_without_clearing_a_pipe() {
    let r = Redis::start();
    let (code, out) = watch_until(&r, &["inspect", "--watch", "0.2"], 2, |l| {
        l.starts_with("health:")
    });
    assert_eq!(code, 130, "{out}");
    assert!(out.matches("health:").count() >= 2, "{out}");
    assert!(
        !out.contains('\x1b'),
        "no terminal escapes into a pipe: {out:?}"
    );
}

#[test]
fn watch_refuses_a_silly_period() {
    let r = Redis::start();
    r.jobq(&["inspect", "--watch", "0"]).expect_code(2);
    r.jobq(&["inspect", "--watch", "nan"]).expect_code(2);
    jobq(&["inspect", "--watch", "1", "--status", "pending"]).expect_code(2);
}
