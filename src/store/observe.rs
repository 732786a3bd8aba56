//! Batched, non-blocking reads for the consistency scan and `inspect`:
//! per-key observations gathered with pipelined HLEN/HMGET and one
//! SMISMEMBER/ZMSCORE per set per batch (the walks that find the keys are
//! in `cursor`). Never a whole-set read, never a whole-hash read of unknown
//! size.
//!
//! Owns: the requests of a light read and of a full observation, and
//! their parsers. Must not: judge what it read (that is `diagnose`).

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use redis::Value;

use super::server::Commands;
use super::{reply, Reply, Store, StoreError};
use crate::bytes::Bytes;
use crate::schema::observed::{HashState, LightObs, Membership, Observation, ZMembership};
use crate::schema::probe::{Layout, Probe};

/// A request already sent; `.await` it (in order) for its replies.
pub struct InFlight(tokio::task::JoinHandle<Result<Vec<Reply>>>);

impl InFlight {
    pub async fn replies(self) -> Result<Vec<Reply>> {
        self.0.await.context("a read task failed")?
    }
}

/// Observations already asked for (see [`Store::observe_in_flight`]).
pub struct InFlightObs(tokio::task::JoinHandle<Result<Vec<Observation>>>);

impl InFlightObs {
    pub async fn observations(self) -> Result<Vec<Observation>> {
        self.0.await.context("a read task failed")?
    }
}

impl Store {
    /// `SMISMEMBER set members...`; `None` when the set has the wrong type.
    pub async fn members_of(
        &mut self,
        set: &[u8],
        members: &[Vec<u8>],
    ) -> Result<Option<Vec<bool>>> {
        let replies = self.members_of_in_flight(set, members).replies().await?;
        flags_of(self.server.commands, replies, members.len())
    }

    /// `TYPE key`.
    pub async fn key_type(&mut self, key: &[u8]) -> Result<String> {
        let v: Value = self.query(redis::cmd("TYPE").arg(key)).await?;
        Ok(reply::text(&v).unwrap_or_default())
    }

    /// The light read of a batch (see [`LightObs`]): HLEN and HMGET of the
    /// status and sorted fields per key, and one SMISMEMBER/ZMSCORE per set,
    /// each key checked only against the status index its key names.
    /// Membership of the class set is not asked: the keys come from it; nor
    /// is any membership the joint walk has seen ([`Probe::seen`]).
    ///
    /// The request is sent at once by a task of its own, so that several
    /// batches can be in flight while the caller sorts earlier replies; the
    /// replies are turned into [`LightObs`] by [`parse_light`].
    pub fn read_light(&self, layout: &Layout, probes: &[Probe]) -> InFlight {
        let cmds = self.server.commands;
        let mut pipe = redis::pipe();
        for p in probes {
            pipe.cmd("HLEN").arg(p.key.as_slice());
            let c = pipe
                .cmd("HMGET")
                .arg(p.key.as_slice())
                .arg(layout.status_field.as_str());
            for (f, _) in &layout.sorted {
                c.arg(f.as_str());
            }
        }
        // Memberships the joint walk has seen are not asked again.
        for (si, (_, idx)) in layout.statuses.iter().enumerate() {
            let who: Vec<&Probe> = probes
                .iter()
                .filter(|p| p.own_status == Some(si) && p.seen.own_status.is_none())
                .collect();
            cmds.ask_members(&mut pipe, idx, who.iter().map(|p| p.key.as_slice()));
        }
        for (set, who) in unseen_secondary_groups(probes) {
            cmds.ask_members(
                &mut pipe,
                set,
                who.iter().map(|&(i, _)| probes[i].key.as_slice()),
            );
        }
        for (zi, (_, z)) in layout.sorted.iter().enumerate() {
            let who: Vec<&Probe> = probes
                .iter()
                .filter(|p| p.seen.sorted(zi).is_none())
                .collect();
            cmds.ask_scores(&mut pipe, z, who.iter().map(|p| p.key.as_slice()));
        }
        self.spawn_pipeline(pipe, "reading a batch of records")
    }

    /// `SMISMEMBER set members...`, sent at once by a task of its own; see
    /// [`flags_of`] for the reply.
    pub fn members_of_in_flight(&self, set: &[u8], members: &[Vec<u8>]) -> InFlight {
        let mut pipe = redis::pipe();
        self.server
            .commands
            .ask_members(&mut pipe, set, members.iter().map(Vec::as_slice));
        self.spawn_pipeline(pipe, "checking members of the class set")
    }

    fn spawn_pipeline(&self, mut pipe: redis::Pipeline, what: &'static str) -> InFlight {
        let mut store = self.clone();
        InFlight(tokio::spawn(async move {
            if pipe.cmd_iter().next().is_none() {
                return Ok(Vec::new());
            }
            store.pipeline(&mut pipe).await.context(what)
        }))
    }

    /// [`Store::observe`] (not atomic), sent at once by a task of its own,
    /// so that a walk with many suspects keeps reading while earlier
    /// observations are classified.
    pub fn observe_in_flight(&self, layout: &Layout, probes: Vec<Probe>) -> InFlightObs {
        let mut store = self.clone();
        let layout = layout.clone();
        InFlightObs(tokio::spawn(async move {
            store.observe(&layout, &probes, false).await
        }))
    }

    /// Observe a batch of record keys: their hashes (length, status field,
    /// sorted fields), and their membership in the class set, every status
    /// index, their other key-field indexes and every sorted-field zset.
    ///
    /// With `atomic`, the reads run in one MULTI/EXEC, so they show one
    /// instant: a re-check must not mistake a job caught mid-move for damage.
    /// Keep atomic batches small (they hold the server for their duration).
    pub async fn observe(
        &mut self,
        layout: &Layout,
        probes: &[Probe],
        atomic: bool,
    ) -> Result<Vec<Observation>> {
        if probes.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<&[u8]> = probes.iter().map(|p| p.key.as_slice()).collect();
        let mut pipe = redis::pipe();
        if atomic {
            pipe.atomic();
        }
        for k in &keys {
            pipe.cmd("HLEN").arg(*k);
            let c = pipe.cmd("HMGET").arg(*k).arg(layout.status_field.as_str());
            for (f, _) in &layout.sorted {
                c.arg(f.as_str());
            }
        }
        let cmds = self.server.commands;
        cmds.ask_members(&mut pipe, &layout.class_set, keys.iter().copied());
        for (_, idx) in &layout.statuses {
            cmds.ask_members(&mut pipe, idx, keys.iter().copied());
        }
        // Other key-field indexes: one SMISMEMBER per distinct index.
        let mut secondary: BTreeMap<&[u8], Vec<usize>> = BTreeMap::new();
        for (i, p) in probes.iter().enumerate() {
            for (_, set) in &p.secondary {
                secondary.entry(set.as_slice()).or_default().push(i);
            }
        }
        for (set, who) in &secondary {
            cmds.ask_members(&mut pipe, set, who.iter().map(|&i| keys[i]));
        }
        for (_, z) in &layout.sorted {
            cmds.ask_scores(&mut pipe, z, keys.iter().copied());
        }
        super::pointers::ask(&mut pipe, layout, probes);
        let mut twin_at: Vec<(usize, usize)> = Vec::new(); // (probe, count)
        for (i, p) in probes.iter().enumerate() {
            if p.probe_twins && !p.twins.is_empty() {
                if atomic {
                    for t in &p.twins {
                        pipe.cmd("EXISTS").arg(t.as_slice());
                    }
                    twin_at.push((i, p.twins.len()));
                } else {
                    // One EXISTS for all of a key's twins: in a damaged
                    // stretch every key is examined, and nearly all have
                    // none; the few that do are asked one by one after.
                    let c = pipe.cmd("EXISTS");
                    for t in &p.twins {
                        c.arg(t.as_slice());
                    }
                    twin_at.push((i, 0));
                }
            }
        }
        let replies = self
            .pipeline(&mut pipe)
            .await
            .context("reading a batch of records")?;
        let mut r = replies.into_iter();
        let mut next = || r.next().unwrap_or_else(|| Err("missing reply".into()));
        let failed = |e: StoreError| anyhow::anyhow!("reading a batch of records: {e}");

        let n = probes.len();
        let mut hashes: Vec<HashState> = Vec::with_capacity(n);
        for _ in 0..n {
            let hlen = next();
            let fields = next();
            hashes.push(hash_state(hlen, fields, layout).map_err(failed)?);
        }
        let class = cmds.take_members(&mut next, n).map_err(failed)?;
        let mut status_flags: Vec<Option<Vec<bool>>> = Vec::new();
        for _ in &layout.statuses {
            status_flags.push(cmds.take_members(&mut next, n).map_err(failed)?);
        }
        let mut sec_flags: BTreeMap<&[u8], Option<Vec<bool>>> = BTreeMap::new();
        for (set, who) in &secondary {
            sec_flags.insert(
                set,
                cmds.take_members(&mut next, who.len()).map_err(failed)?,
            );
        }
        let mut scores: Vec<Option<Vec<Option<f64>>>> = Vec::new();
        for _ in &layout.sorted {
            scores.push(cmds.take_scores(&mut next, n).map_err(failed)?);
        }
        let mut pointers = super::pointers::take(&mut next, layout, probes).map_err(failed)?;
        let mut twins: Vec<Option<Vec<Bytes>>> = vec![None; n];
        for (i, count) in twin_at {
            if count == 0 {
                // None: asked one by one in `follow_up`.
                let any = count_of(next()).map_err(failed)?;
                twins[i] = (any == 0).then(Vec::new);
                continue;
            }
            let mut live = Vec::new();
            for t in &probes[i].twins[..count] {
                if count_of(next()).map_err(failed)? == 1 {
                    live.push(Bytes(t.clone()));
                }
            }
            twins[i] = Some(live);
        }

        let mut out = Vec::with_capacity(n);
        for (i, p) in probes.iter().enumerate() {
            let pos_in = |set: &[u8]| {
                secondary
                    .get(set)
                    .and_then(|who| who.iter().position(|&j| j == i))
            };
            out.push(Observation {
                key: Bytes(p.key.clone()),
                hash: hashes[i].clone(),
                class_set: Membership {
                    set: Bytes(layout.class_set.clone()),
                    label: "class".into(),
                    member: class.as_ref().map(|f| f[i]),
                },
                status_sets: layout
                    .statuses
                    .iter()
                    .zip(&status_flags)
                    .map(|((s, idx), f)| Membership {
                        set: Bytes(idx.clone()),
                        label: s.clone(),
                        member: f.as_ref().map(|f| f[i]),
                    })
                    .collect(),
                secondary_sets: p
                    .secondary
                    .iter()
                    .map(|(field, set)| Membership {
                        set: Bytes(set.clone()),
                        label: field.clone(),
                        member: match (sec_flags.get(set.as_slice()), pos_in(set)) {
                            (Some(Some(f)), Some(j)) => Some(f[j]),
                            _ => None,
                        },
                    })
                    .collect(),
                zsets: layout
                    .sorted
                    .iter()
                    .zip(&scores)
                    .map(|((field, z), s)| ZMembership {
                        zset: Bytes(z.clone()),
                        field: field.clone(),
                        score: s.as_ref().and_then(|s| s[i]),
                        known: s.is_some(),
                    })
                    .collect(),
                twins: twins[i].take(),
                found_in: p.found_in.iter().cloned().map(Bytes).collect(),
                bad_values: Vec::new(),
                pointer: pointers[i].take(),
            });
        }
        self.follow_up(layout, probes, &mut out).await?;
        Ok(out)
    }

    /// Second round trip, only for the few keys that need it: the type of a
    /// key that is not a hash, which declared fields a short hash lacks, and
    /// the twins of a ghost or of a key with a live twin.
    async fn follow_up(
        &mut self,
        layout: &Layout,
        probes: &[Probe],
        obs: &mut [Observation],
    ) -> Result<()> {
        enum Ask {
            Type(usize),
            Fields(usize),
            Twins(usize),
        }
        let mut asks = Vec::new();
        let mut pipe = redis::pipe();
        for (i, o) in obs.iter().enumerate() {
            match &o.hash {
                HashState::WrongType { .. } => {
                    pipe.cmd("TYPE").arg(o.key.as_slice());
                    asks.push(Ask::Type(i));
                }
                HashState::Hash {
                    field_count,
                    status,
                    ..
                } if (*field_count as usize) < layout.fields.len() || status.is_none() => {
                    for f in &layout.fields {
                        pipe.cmd("HEXISTS").arg(o.key.as_slice()).arg(f.as_str());
                    }
                    asks.push(Ask::Fields(i));
                }
                _ => {}
            }
            let wanted = probes[i].probe_twins || matches!(o.hash, HashState::Missing);
            if wanted && o.twins.is_none() && !probes[i].twins.is_empty() {
                for t in &probes[i].twins {
                    pipe.cmd("EXISTS").arg(t.as_slice());
                }
                asks.push(Ask::Twins(i));
            }
        }
        if asks.is_empty() {
            return Ok(());
        }
        let replies = self
            .pipeline(&mut pipe)
            .await
            .context("reading record details")?;
        let mut r = replies.into_iter();
        let mut next = || r.next().unwrap_or_else(|| Err("missing reply".into()));
        let details = |e: StoreError| anyhow::anyhow!("reading record details: {e}");
        for ask in asks {
            match ask {
                Ask::Type(i) => {
                    let t = next()
                        .and_then(|v| {
                            reply::text(&v).ok_or_else(|| {
                                StoreError::unexpected(format!("unexpected TYPE reply {v:?}"))
                            })
                        })
                        .map_err(details)?;
                    obs[i].hash = if t == "none" {
                        HashState::Missing
                    } else {
                        HashState::WrongType { redis_type: t }
                    };
                }
                Ask::Fields(i) => {
                    let mut missing = Vec::new();
                    for f in &layout.fields {
                        if count_of(next()).map_err(details)? == 0 {
                            missing.push(f.clone());
                        }
                    }
                    if let HashState::Hash { missing: m, .. } = &mut obs[i].hash {
                        *m = missing;
                    }
                }
                Ask::Twins(i) => {
                    let mut live = Vec::new();
                    for t in &probes[i].twins {
                        if count_of(next()).map_err(details)? == 1 {
                            live.push(Bytes(t.clone()));
                        }
                    }
                    obs[i].twins = Some(live);
                }
            }
        }
        Ok(())
    }
}

/// The light read's probes grouped by the other key-field index they belong
/// in, in a stable order (the same for the request and for reading the
/// replies): only the memberships the joint walk has not seen, as (probe,
/// position in its `secondary`).
fn unseen_secondary_groups(probes: &[Probe]) -> BTreeMap<&[u8], Vec<(usize, usize)>> {
    let mut groups: BTreeMap<&[u8], Vec<(usize, usize)>> = BTreeMap::new();
    for (i, p) in probes.iter().enumerate() {
        for (pos, (_, set)) in p.secondary.iter().enumerate() {
            if p.seen.secondary(pos).is_none() {
                groups.entry(set.as_slice()).or_default().push((i, pos));
            }
        }
    }
    groups
}

/// Turn the replies of [`Store::read_light`] into one [`LightObs`] per probe.
/// A key of another type is a finding for the full observation; any other
/// error reply makes the batch unreadable, never healthy.
pub fn parse_light(
    cmds: Commands,
    layout: &Layout,
    probes: &[Probe],
    replies: Vec<Reply>,
) -> Result<Vec<LightObs>> {
    let failed = |e: StoreError| anyhow::anyhow!("reading a batch of records: {e}");
    let n = probes.len();
    let mut out: Vec<LightObs> = Vec::with_capacity(n);
    let mut r = replies.into_iter();
    let mut next = || r.next().unwrap_or_else(|| Err("missing reply".into()));
    for _ in 0..n {
        let hlen = next();
        let fields = next();
        let field_count = match hlen {
            Ok(v) => Some(
                reply::int(&v)
                    .ok_or_else(|| {
                        failed(StoreError::unexpected(format!(
                            "unexpected HLEN reply {v:?}"
                        )))
                    })?
                    .max(0) as u64,
            ),
            Err(e) if e.is_wrong_type() => None,
            Err(e) => return Err(failed(e)),
        };
        let mut vals = match fields {
            Ok(v) => reply::array(&v)
                .ok_or_else(|| {
                    failed(StoreError::unexpected(format!(
                        "unexpected HMGET reply {v:?}"
                    )))
                })?
                .iter()
                .map(reply::bytes)
                .collect::<Vec<_>>(),
            Err(e) if e.is_wrong_type() => Vec::new(),
            Err(e) => return Err(failed(e)),
        }
        .into_iter();
        let status = vals.next().flatten();
        let sorted = layout
            .sorted
            .iter()
            .map(|_| (vals.next().flatten(), None))
            .collect();
        out.push(LightObs {
            // The keys were just read from the class set; one removed since
            // then has no hash or another status, and is examined in full.
            in_class: Some(true),
            field_count,
            status,
            sorted,
            ..LightObs::default()
        });
    }
    for (o, p) in out.iter_mut().zip(probes) {
        o.in_own_status = p.seen.own_status;
        o.secondary = (0..p.secondary.len())
            .map(|pos| p.seen.secondary(pos))
            .collect();
        for (zi, z) in o.sorted.iter_mut().enumerate() {
            z.1 = p.seen.sorted(zi);
        }
    }
    for si in 0..layout.statuses.len() {
        let who: Vec<usize> = (0..n)
            .filter(|&i| probes[i].own_status == Some(si) && probes[i].seen.own_status.is_none())
            .collect();
        if who.is_empty() {
            continue;
        }
        // `None` (an index of another type) leaves the membership unknown:
        // the key gets a full observation.
        if let Some(f) = cmds.take_members(&mut next, who.len()).map_err(failed)? {
            for (i, m) in who.into_iter().zip(f) {
                out[i].in_own_status = Some(m);
            }
        }
    }
    for (_, who) in unseen_secondary_groups(probes) {
        if let Some(f) = cmds.take_members(&mut next, who.len()).map_err(failed)? {
            for ((i, pos), m) in who.into_iter().zip(f) {
                out[i].secondary[pos] = Some(m);
            }
        }
    }
    for zi in 0..layout.sorted.len() {
        let who: Vec<usize> = (0..n)
            .filter(|&i| probes[i].seen.sorted(zi).is_none())
            .collect();
        if who.is_empty() {
            continue;
        }
        if let Some(sc) = cmds.take_scores(&mut next, who.len()).map_err(failed)? {
            for (i, s) in who.into_iter().zip(sc) {
                out[i].sorted[zi].1 = Some(s.is_some());
            }
        }
    }
    Ok(out)
}

/// An integer reply (EXISTS, HEXISTS); an error reply stays an error.
fn count_of(r: Reply) -> std::result::Result<i64, StoreError> {
    let v = r?;
    reply::int(&v).ok_or_else(|| StoreError::unexpected(format!("unexpected reply {v:?}")))
}

fn hash_state(
    hlen: Reply,
    fields: Reply,
    layout: &Layout,
) -> std::result::Result<HashState, StoreError> {
    match hlen {
        Err(e) if e.is_wrong_type() => Ok(HashState::WrongType {
            redis_type: "not a hash".into(),
        }),
        Err(e) => Err(e),
        Ok(v) => {
            let count = reply::int(&v)
                .ok_or_else(|| StoreError::unexpected(format!("unexpected HLEN reply {v:?}")))?;
            if count <= 0 {
                return Ok(HashState::Missing);
            }
            let v = fields?;
            let vals: Vec<Option<Bytes>> = reply::array(&v)
                .ok_or_else(|| StoreError::unexpected(format!("unexpected HMGET reply {v:?}")))?
                .iter()
                .map(|x| reply::bytes(x).map(Bytes))
                .collect();
            let mut it = vals.into_iter();
            let status = it.next().flatten();
            let sorted = layout
                .sorted
                .iter()
                .map(|(f, _)| (f.clone(), it.next().flatten()))
                .collect();
            Ok(HashState::Hash {
                field_count: count as u64,
                status,
                sorted,
                missing: Vec::new(),
            })
        }
    }
}

/// The reply of a [`Store::members_of_in_flight`] request for `n` members;
/// `None` when the set has the wrong type, an error when the read failed.
pub fn flags_of(cmds: Commands, replies: Vec<Reply>, n: usize) -> Result<Option<Vec<bool>>> {
    let mut r = replies.into_iter();
    let mut next = || r.next().unwrap_or_else(|| Err("missing reply".into()));
    cmds.take_members(&mut next, n)
        .map_err(|e| anyhow::anyhow!("checking members of the class set: {e}"))
}
