//! `jobq inspect` without arguments: the class-set size and every status
//! index's size (SCARD only, one MULTI snapshot), the oldest pending job,
//! and whether the numbers add up.

use anyhow::Result;

use super::{status_indexes, StatusIndex};
use crate::bytes::{escape_bytes, Bytes};
use crate::exit;
use crate::report::inspect::{Health, Overview, SetSize, StatusSize};
use crate::report::OldestPending;
use crate::schema::Model;
use crate::settings::Settings;
use crate::store::inspect::Size;
use crate::store::Store;

/// Zset members per ZRANGE page when looking for the oldest pending job.
const OLDEST_PAGE: u64 = 1000;
/// Pages looked at before giving up: the search stays bounded even when
/// the oldest jobs are all done and the pending ones are far down.
const OLDEST_PAGES: u64 = 5;

pub async fn run(settings: &Settings, store: &mut Store, discover: bool) -> Result<(Overview, u8)> {
    let model = &settings.model;
    let (statuses, discovery) = status_indexes(store, model, discover).await?;
    let mut keys = vec![model.class_set()];
    keys.extend(statuses.iter().map(|s| s.key.0.clone()));
    let mut sizes = store.snapshot_sizes(&keys).await?.into_iter();
    let now = store.server_time().await?;
    let class_set = set_size(model.class_set(), sizes.next());
    let status_sizes: Vec<StatusSize> = statuses
        .into_iter()
        .zip(sizes)
        .map(|(s, size)| status_size(s, Some(size)))
        .collect();
    let status_total = status_sizes.iter().filter_map(|s| s.size).sum();
    let health = health(&class_set, &status_sizes);
    let pending_key = model.status_index(&model.status.pending);
    let pending_size = status_sizes
        .iter()
        .find(|s| s.key.0 == pending_key)
        .and_then(|s| s.size);
    let (oldest_pending, oldest_pending_note) =
        oldest_pending(store, model, pending_size, now).await?;
    let code = if health.ok { exit::OK } else { exit::FINDINGS };
    Ok((
        Overview {
            model: model.class.clone(),
            server_time: now,
            class_set,
            status_indexes: status_sizes,
            status_total,
            oldest_pending,
            oldest_pending_note,
            health,
            discovery,
            read_from: None,
        },
        code,
    ))
}

fn set_size(key: Vec<u8>, size: Option<Size>) -> SetSize {
    let (size, error) = split(size);
    SetSize {
        key: Bytes(key),
        size,
        error,
    }
}

fn status_size(s: StatusIndex, size: Option<Size>) -> StatusSize {
    let (size, error) = split(size);
    StatusSize {
        status: s.status,
        key: s.key,
        declared: s.declared,
        size,
        error,
    }
}

fn split(size: Option<Size>) -> (Option<u64>, Option<String>) {
    match size {
        Some(Ok(n)) => (Some(n), None),
        Some(Err(e)) => (None, Some(e)),
        None => (None, Some("no reply".into())),
    }
}

/// Do the status indexes add up to the class set? Equal sums do not prove
/// health (an orphan and a job in two indexes cancel out); unequal ones
/// prove damage, since the sizes are one snapshot.
pub fn health(class: &SetSize, statuses: &[StatusSize]) -> Health {
    let unreadable: Vec<String> = std::iter::once((&class.key, &class.error))
        .chain(statuses.iter().map(|s| (&s.key, &s.error)))
        .filter_map(|(k, e)| e.as_ref().map(|e| format!("{k} ({e})")))
        .collect();
    if !unreadable.is_empty() {
        return Health {
            ok: false,
            message: format!(
                "cannot be counted: {}; `jobq orphans scan` reports keys of the wrong type",
                unreadable.join(", ")
            ),
        };
    }
    let c = class.size.unwrap_or(0);
    let s: u64 = statuses.iter().filter_map(|s| s.size).sum();
    let message = if c == 0 && s == 0 {
        // Most often the wrong --url or db number, not an idle queue: say
        // so rather than "ok".
        return Health {
            ok: true,
            message: "empty: the class set and every status index are empty or missing here (no jobs of this model; is --url, or its /db number, right?)".into(),
        };
    } else if c == s {
        return Health {
            ok: true,
            message: format!(
                "the status indexes add up to the class set ({c}); damage that cancels out shows only in `jobq orphans scan`"
            ),
        };
    } else if c > s {
        format!(
            "the class set holds {} more than the status indexes ({c} vs {s}): lost (orphan) jobs or dangling class members; run `jobq orphans scan`",
            c - s
        )
    } else {
        format!(
            "the status indexes hold {} more than the class set ({s} vs {c}): jobs in two status indexes, unlisted jobs or dangling index members; run `jobq orphans scan`",
            s - c
        )
    };
    Health { ok: false, message }
}

/// The pending job with the lowest score in the model's first sorted field.
/// The zset holds jobs of every status, so its lowest pages are walked and
/// checked against the pending index (and for a live hash), a bounded
/// number of pages.
async fn oldest_pending(
    store: &mut Store,
    model: &Model,
    pending_size: Option<u64>,
    now: f64,
) -> Result<(Option<OldestPending>, Option<String>)> {
    let Some(field) = model.sorted_fields().next() else {
        return Ok((
            None,
            Some(format!(
                "the {} model has no sorted field to date jobs by",
                model.class
            )),
        ));
    };
    match pending_size {
        Some(0) => return Ok((None, Some("no pending jobs".into()))),
        None => return Ok((None, Some("the pending index cannot be read".into()))),
        Some(_) => {}
    }
    let zset = model.sorted_key(&field.name);
    let pending = model.status_index(&model.status.pending);
    let mut looked = 0u64;
    for page in 0..OLDEST_PAGES {
        let members = match store
            .zrange_lowest(&zset, page * OLDEST_PAGE, OLDEST_PAGE)
            .await
        {
            Ok(m) => m,
            Err(e) => return Ok((None, Some(format!("{e:#}")))),
        };
        if members.is_empty() {
            break;
        }
        looked += members.len() as u64;
        let keys: Vec<Vec<u8>> = members.iter().map(|(m, _)| m.clone()).collect();
        let flags = store.smismember(&pending, &keys).await?;
        let hits: Vec<(Vec<u8>, f64)> = members
            .into_iter()
            .zip(flags)
            .filter(|(_, f)| *f)
            .map(|(m, _)| m)
            .collect();
        if hits.is_empty() {
            continue;
        }
        let hit_keys: Vec<Vec<u8>> = hits.iter().map(|(k, _)| k.clone()).collect();
        let alive = store.exists_many(&hit_keys).await?;
        if let Some(((key, score), _)) = hits.into_iter().zip(alive).find(|(_, a)| *a) {
            return Ok((
                Some(OldestPending {
                    job_id: model.key_job_id_bytes(&key).map(Bytes),
                    key: Bytes(key),
                    field: field.name.clone(),
                    score,
                    age_seconds: Some(now - score),
                }),
                None,
            ));
        }
    }
    Ok((
        None,
        Some(format!(
            "none of the {looked} lowest entries of {} is a live pending job (looked at no more); pending jobs missing from it show in `jobq orphans scan`",
            escape_bytes(&zset)
        )),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(key: &str, n: u64) -> StatusSize {
        StatusSize {
            status: Bytes::from(key),
            key: Bytes::from(key),
            declared: true,
            size: Some(n),
            error: None,
        }
    }

    fn class(n: u64) -> SetSize {
        SetSize {
            key: Bytes::from("$Class:RedisJob"),
            size: Some(n),
            error: None,
        }
    }

    #[test]
    fn numbers_that_add_up() {
        let h = health(&class(5), &[size("a", 2), size("b", 3)]);
        assert!(h.ok, "{h:?}");
    }

    #[test]
    fn numbers_that_do_not() {
        let h = health(&class(6), &[size("a", 2), size("b", 3)]);
        assert!(!h.ok);
        assert!(
            h.message.contains("1 more than the status indexes"),
            "{h:?}"
        );
        assert!(h.message.contains("jobq orphans scan"));
        let h = health(&class(4), &[size("a", 2), size("b", 3)]);
        assert!(!h.ok);
        assert!(h.message.contains("status indexes hold 1 more"), "{h:?}");
    }

    #[test]
    fn a_set_of_the_wrong_type_is_unhealthy() {
        let mut bad = size("$KeyF:RedisJob:status:x", 0);
        bad.size = None;
        bad.error = Some("WRONGTYPE".into());
        let h = health(&class(0), &[bad]);
        assert!(!h.ok);
        assert!(
            h.message.contains("$KeyF:RedisJob:status:x (WRONGTYPE)"),
            "{h:?}"
        );
    }
}
