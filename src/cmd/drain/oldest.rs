//! The oldest pending job a drain that timed out or stalled names: the
//! lowest-scored pending record of the model's first sorted field, found
//! with bounded reads. A failure here loses only this detail.
//!
//! Owns: [`oldest_pending`]. Must not: print (it says why it found
//! nothing through `Ui::debug`).

use std::time::Duration;

use anyhow::Result;

use super::{rounded_secs, Target, OLDEST_LIMIT, OLDEST_PAGE, PLAUSIBLE_AGE, SCAN_BATCH};
use crate::bytes::Bytes;
use crate::output::Ui;
use crate::report::OldestPending;
use crate::schema::Model;
use crate::store::Store;

/// Page through the lowest-scored records (of every status) for one that is
/// pending; behind a long history of finished jobs that finds nothing within
/// its bound, so then walk the pending index itself, if it is small enough.
async fn find_oldest(
    store: &mut Store,
    target: &Target,
    zset: &[u8],
    within: &[Vec<u8>],
) -> Result<Option<(Vec<u8>, f64)>> {
    let found = store
        .lowest_member_in(zset, within, OLDEST_PAGE, OLDEST_LIMIT)
        .await?;
    if found.is_some() {
        return Ok(found);
    }
    let pending = store
        .set_sizes(std::slice::from_ref(&target.pending))
        .await?[0];
    if pending as usize > OLDEST_LIMIT {
        return Ok(None);
    }
    let in_project: Vec<Vec<u8>> = target.project.iter().map(|(_, k)| k.clone()).collect();
    store
        .lowest_scored_in(&target.pending, zset, &in_project, SCAN_BATCH, OLDEST_LIMIT)
        .await
}

/// The pending job lowest in the model's first sorted field, if the model
/// has one and the job is among the lowest few thousand records. A failure
/// here loses only this detail.
pub(super) async fn oldest_pending(
    ui: &Ui,
    store: &mut Store,
    model: &Model,
    target: &Target,
) -> Option<OldestPending> {
    let (field, zset) = target.sorted.as_ref()?;
    let mut within = vec![target.pending.clone()];
    if let Some((_, project)) = &target.project {
        within.push(project.clone());
    }
    let (key, score) = match find_oldest(store, target, zset, &within).await {
        Ok(Some(f)) => f,
        Ok(None) => {
            ui.debug(format!(
                "no pending job among the {OLDEST_LIMIT} lowest members of {}, \
                 and too many pending jobs to walk",
                Bytes(zset.clone())
            ));
            return None;
        }
        Err(e) => {
            ui.debug(format!("cannot look up the oldest pending job: {e:#}"));
            return None;
        }
    };
    let age_seconds = match store.server_time().await {
        Ok(now) if (0.0..PLAUSIBLE_AGE).contains(&(now - score)) => {
            Some(rounded_secs(Duration::from_secs_f64(now - score)))
        }
        _ => None,
    };
    let job_id = model
        .parse_key(&key)
        .ok()
        .map(|p| Bytes(model.job_id(&p).as_bytes().to_vec()));
    Some(OldestPending {
        job_id,
        key: Bytes(key),
        field: field.clone(),
        score,
        age_seconds,
    })
}
