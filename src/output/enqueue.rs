use std::fmt::Write;

use super::{Render, Style};
use crate::report::enqueue::EnqueueReport;

impl Render for EnqueueReport {
    fn command(&self) -> &'static str {
        "enqueue"
    }

    /// The job ids, one per line: what a script wants from `$(jobq enqueue)`.
    fn text(&self, _style: &Style) -> String {
        let mut s = String::with_capacity(self.jobs.len() * 33);
        for j in &self.jobs {
            let _ = writeln!(s, "{}", j.job_id);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bytes::Bytes;
    use crate::report::enqueue::EnqueuedJob;

    fn job(id: &str, created: bool, line: Option<usize>, reason: Option<&str>) -> EnqueuedJob {
        EnqueuedJob {
            job_id: id.into(),
            key: Bytes(format!("RedisJob:{id}:projA:pending").into_bytes()),
            created,
            line,
            reason: reason.map(str::to_owned),
        }
    }

    fn report() -> EnqueueReport {
        EnqueueReport {
            jobs: vec![
                job("a1", true, None, None),
                job("b2", false, Some(7), Some("idempotency key claimed before")),
            ],
            created: 1,
            existing: 1,
            conflicts: 0,
            run_id: "run-3".into(),
        }
    }

    #[test]
    fn text_is_the_job_ids_one_per_line() {
        assert_eq!(report().text(&Style { color: true }), "a1\nb2\n");
        let none = EnqueueReport {
            jobs: vec![],
            created: 0,
            existing: 0,
            conflicts: 0,
            run_id: "r".into(),
        };
        assert_eq!(none.text(&Style { color: false }), "");
    }

    #[test]
    fn json_has_the_documented_fields() {
        let mut r = report();
        assert_eq!(r.command(), "enqueue");
        r.jobs[0].key = Bytes(b"\xffk".to_vec());
        let v = serde_json::to_value(&r).unwrap();
        let mut fields: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        fields.sort_unstable();
        assert_eq!(
            fields,
            ["conflicts", "created", "existing", "jobs", "run_id"]
        );
        assert_eq!(v["run_id"], "run-3");
        let first = v["jobs"][0].as_object().unwrap();
        let mut f: Vec<&str> = first.keys().map(String::as_str).collect();
        f.sort_unstable();
        assert_eq!(
            f,
            ["created", "job_id", "key"],
            "line and reason only when set"
        );
        assert_eq!(v["jobs"][0]["key"]["hex"], "ff6b");
        assert_eq!(v["jobs"][1]["line"], 7);
        assert_eq!(v["jobs"][1]["reason"], "idempotency key claimed before");
        assert_eq!(v["jobs"][1]["created"], false);
    }
}
