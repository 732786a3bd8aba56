//! What to read about a record key: the sets and twin keys its observation
//! needs, derived from the model alone (keys come from `schema`).
//!
//! Owns: [`Layout`] (the model's fixed sets) and [`Probe`] (per-key reads).
//! Must not: read anything.

use super::{FieldRole, Model};

/// The model's sets every observation checks.
#[derive(Debug, Clone)]
pub struct Layout {
    pub class_set: Vec<u8>,
    /// (status, index key), the schema's statuses.
    pub statuses: Vec<(String, Vec<u8>)>,
    /// Declared field names, in declaration order.
    pub fields: Vec<String>,
    pub status_field: String,
    /// (field, zset key) for each sorted field.
    pub sorted: Vec<(String, Vec<u8>)>,
    /// Each status as popoto packs it in the hash (same order as `statuses`).
    pub packed_statuses: Vec<Vec<u8>>,
    /// Each status as escaped in a key segment (same order as `statuses`).
    pub escaped_statuses: Vec<Vec<u8>>,
    /// Under the indexed status layout: the 1.8.0 in-hash pointer field
    /// (`status\x00idxset`) every observation reads. `None`: the status is
    /// in the key, and records have no pointers.
    pub legacy_pointer_field: Option<Vec<u8>>,
}

impl Layout {
    pub fn of(model: &Model) -> Layout {
        let packed =
            |s: &str| crate::schema::msgpack::encode(&crate::schema::Value::Str(s.to_owned()));
        Layout {
            packed_statuses: model.status.values.iter().map(|s| packed(s)).collect(),
            escaped_statuses: model
                .status
                .values
                .iter()
                .map(|s| crate::schema::escape::escape(s.as_bytes()))
                .collect(),
            class_set: model.class_set(),
            statuses: model
                .status
                .values
                .iter()
                .map(|s| (s.clone(), model.status_index(s)))
                .collect(),
            fields: model.fields.iter().map(|f| f.name.clone()).collect(),
            status_field: model.status.field.clone(),
            sorted: model
                .sorted_fields()
                .map(|f| (f.name.clone(), model.sorted_key(&f.name)))
                .collect(),
            legacy_pointer_field: (!model.status_in_key())
                .then(|| model.legacy_pointer_field(&model.status.field)),
        }
    }
}

/// The per-key part of an observation request.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    pub key: Vec<u8>,
    /// (field, index key) of the non-status key-field indexes for the values
    /// in the key. Empty when the key does not parse.
    pub secondary: Vec<(String, Vec<u8>)>,
    /// The same job_id under every other status, to find duplicates and the
    /// live record of a stale key.
    pub twins: Vec<Vec<u8>>,
    /// Whether to read `twins` no matter what (else only for ghosts).
    pub probe_twins: bool,
    /// Sets the key was found in that the layout does not cover.
    pub found_in: Vec<Vec<u8>>,
    /// Position in [`Layout::statuses`] of the status the key names, when
    /// the key parses and the status is declared.
    pub own_status: Option<usize>,
    /// Memberships the scan's joint walk has already seen; the light read
    /// asks the server only about the rest.
    pub seen: SeenInWalk,
    /// Under the indexed status layout, the record's pointer keys
    /// (`$IdxPtr:{K}:{field}`, `{K}\x00idxptr\x00{field}`) for the status
    /// field: an observation reads them with the memberships.
    pub pointers: Option<(Vec<u8>, Vec<u8>)>,
}

/// Memberships of a key already known from the walks (`None`: not known,
/// ask the server). Only ever a sighting: `Some(false)` makes the key a
/// suspect to read in full, never a finding by itself.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SeenInWalk {
    /// In the status index the key names.
    pub own_status: Option<bool>,
    /// Per entry of [`Probe::secondary`].
    pub secondary: Vec<Option<bool>>,
    /// Per entry of [`Layout::sorted`].
    pub sorted: Vec<Option<bool>>,
}

impl SeenInWalk {
    pub fn secondary(&self, i: usize) -> Option<bool> {
        self.secondary.get(i).copied().flatten()
    }

    pub fn sorted(&self, i: usize) -> Option<bool> {
        self.sorted.get(i).copied().flatten()
    }
}

impl Probe {
    pub fn new(model: &Model, key: &[u8]) -> Probe {
        let mut own_status = None;
        let (secondary, twins) = match model.parse_key(key) {
            Ok(p) => {
                let secondary = model
                    .secondary_key_fields()
                    .map(|f| (f.name.clone(), model.index_key(&f.name, p.get(&f.name))))
                    .collect();
                let own = model.key_status(&p).to_owned();
                own_status = model.status.values.iter().position(|s| *s == own);
                // Under the indexed layout the status is not in the key: a
                // record has no twins under other statuses.
                let twins = if model.status_in_key() {
                    model
                        .status
                        .values
                        .iter()
                        .filter(|s| **s != own)
                        .map(|s| model.rekey(&p, &model.status.field, s))
                        .collect()
                } else {
                    Vec::new()
                };
                (secondary, twins)
            }
            Err(_) => (Vec::new(), Vec::new()),
        };
        Probe {
            key: key.to_vec(),
            secondary,
            twins,
            probe_twins: false,
            found_in: Vec::new(),
            own_status,
            seen: SeenInWalk::default(),
            pointers: pointers(model, key),
        }
    }

    /// As [`Probe::new`] without the twins: the walk's first, light read
    /// never reads them, and building them (three keys, escaped) was the
    /// largest cost of this side of a healthy scan. A suspect is examined
    /// through a full [`Probe::new`].
    pub fn light(model: &Model, key: &[u8]) -> Probe {
        let mut own_status = None;
        let secondary = match model.parse_key(key) {
            Ok(p) => {
                let own = model.key_status(&p);
                own_status = model.status.values.iter().position(|s| s == own);
                model
                    .secondary_key_fields()
                    .map(|f| (f.name.clone(), model.index_key(&f.name, p.get(&f.name))))
                    .collect()
            }
            Err(_) => Vec::new(),
        };
        Probe {
            key: key.to_vec(),
            secondary,
            twins: Vec::new(),
            probe_twins: false,
            found_in: Vec::new(),
            own_status,
            seen: SeenInWalk::default(),
            pointers: pointers(model, key),
        }
    }

    pub fn with_twins(mut self) -> Probe {
        self.probe_twins = true;
        self
    }
}

/// A record's pointer keys under the indexed layout (see [`Probe::pointers`]).
fn pointers(model: &Model, key: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    (!model.status_in_key()).then(|| {
        (
            model.index_pointer(key, &model.status.field),
            model.legacy_pointer_key(key, &model.status.field),
        )
    })
}

/// The raw (still escaped) segment of key field `field` in a record key,
/// without parsing the rest: for telling cheaply whether an index member
/// names the index's value.
pub fn key_segment<'a>(model: &Model, key: &'a [u8], field: &str) -> Option<&'a [u8]> {
    let rest = key
        .strip_prefix(model.class.as_bytes())?
        .strip_prefix(b":")?;
    let pos = model.key_fields().position(|f| f.name == field)?;
    let mut segs = rest.split(|&c| c == b':');
    let seg = segs.nth(pos)?;
    // A key with too many or too few segments is for the full parse to judge.
    if rest.split(|&c| c == b':').count() != model.key_field_count() {
        return None;
    }
    Some(seg)
}

/// The job_id of a record key, for the duplicate filter (without allocating
/// a parse: the auto key's segment, still escaped, is as good an identity).
pub fn job_id_segment<'a>(model: &Model, key: &'a [u8]) -> Option<&'a [u8]> {
    let rest = key
        .strip_prefix(model.class.as_bytes())?
        .strip_prefix(b":")?;
    let pos = model.key_fields().position(|f| f.role == FieldRole::Auto)?;
    rest.split(|&c| c == b':').nth(pos)
}

/// A record key without its status segment (still escaped): what a record
/// and the keys popoto's status changes gave it share, so that a job_id
/// met twice under one identity is told from one met under another
/// project (which only a second walk can gather). `None` for a key that
/// does not have the model's shape, or a model whose status is not in
/// the key.
pub fn record_identity(model: &Model, key: &[u8]) -> Option<Vec<u8>> {
    let rest = key
        .strip_prefix(model.class.as_bytes())?
        .strip_prefix(b":")?;
    let status = model
        .key_fields()
        .position(|f| f.name == model.status.field)?;
    let segments: Vec<&[u8]> = rest.split(|&c| c == b':').collect();
    if segments.len() != model.key_field_count() {
        return None;
    }
    let mut out = Vec::with_capacity(rest.len());
    for (i, seg) in segments.iter().enumerate() {
        if i != status {
            out.extend_from_slice(seg);
            out.push(b':');
        }
    }
    Some(out)
}

/// A fixed-size bit filter of job_ids seen: memory does not grow with the
/// queue. A hit means "maybe seen before", and the key's twins are then read
/// to know for sure.
///
/// A false hit is costly: the scan then walks the whole class set once more
/// (`Walker::cross_duplicates`), which at a million jobs was a tenth of the
/// server's work. So each id sets [`SeenFilter::BITS_PER_ID`] bits, all in
/// one 512-bit block (one cache line: one memory access per id): at 64
/// filter bits per id, about one false hit in ten million ids, where the
/// two bits over the whole filter it had before made about 300 at a
/// million.
pub struct SeenFilter {
    bits: Vec<u64>,
}

impl SeenFilter {
    /// Bits set per id, within one block.
    pub const BITS_PER_ID: u32 = 8;
    /// Words of one block: 512 bits, a cache line.
    const BLOCK_WORDS: usize = 8;

    /// 2^26 bits: 8 MiB, 64 bits per id at a million jobs.
    pub fn new() -> SeenFilter {
        SeenFilter::for_ids(0)
    }

    /// Sized for about `n` ids: at least 2^26 bits, else 16 bits per id
    /// (about 1% false hits at most), up to 2^30 bits (128 MiB, at 67M ids).
    /// A false hit costs a closer look at one job_id, never a wrong verdict.
    pub fn for_ids(n: u64) -> SeenFilter {
        let bits = n
            .saturating_mul(16)
            .next_power_of_two()
            .clamp(1 << 26, 1 << 30);
        SeenFilter {
            bits: vec![0; (bits / 64) as usize],
        }
    }

    /// Record `id`; true when it (or a colliding id) was recorded before.
    pub fn insert(&mut self, id: &[u8]) -> bool {
        use std::hash::{Hash, Hasher};
        // FxHasher rather than the default SipHash: this runs once per
        // class-set member, and SipHash was a twentieth of the scan's CPU.
        // No key needed: an id that collides costs a read, nothing more.
        let mut h = rustc_hash::FxHasher::default();
        id.hash(&mut h);
        let h = h.finish();
        let blocks = self.bits.len() / Self::BLOCK_WORDS;
        // `blocks` is a power of two: the low bits pick the block, and a
        // multiplicative mix of the whole hash the bits within it.
        let start = (h as usize & (blocks - 1)) * Self::BLOCK_WORDS;
        let block = &mut self.bits[start..start + Self::BLOCK_WORDS];
        let mut x = h;
        let mut seen = true;
        for i in 0..Self::BITS_PER_ID {
            x = x
                .wrapping_mul(0x9e37_79b9_7f4a_7c15)
                .wrapping_add(u64::from(i) | 1);
            let bit = (x >> 55) as usize; // 0..512
            let (word, mask) = (bit / 64, 1u64 << (bit % 64));
            seen &= block[word] & mask != 0;
            block[word] |= mask;
        }
        seen
    }
}

impl Default for SeenFilter {
    fn default() -> Self {
        SeenFilter::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_identity_leaves_out_the_status_only() {
        let m = Model::redis_job();
        let a = record_identity(&m, b"RedisJob:abc:p1:pending");
        assert_eq!(a.as_deref(), Some(&b"abc:p1:"[..]));
        assert_eq!(a, record_identity(&m, b"RedisJob:abc:p1:completed"));
        assert_ne!(a, record_identity(&m, b"RedisJob:abc:p2:pending"));
        assert_eq!(record_identity(&m, b"RedisJob:abc:p1"), None);
        assert_eq!(record_identity(&m, b"Other:abc:p1:pending"), None);
    }

    #[test]
    fn a_light_probe_is_a_probe_without_twins() {
        let m = Model::redis_job();
        for key in [
            &b"RedisJob:abc:team{&#58;}x:pending"[..],
            b"RedisJob:abc:p:archived",
            b"not a key",
        ] {
            let mut full = Probe::new(&m, key);
            full.twins.clear();
            assert_eq!(Probe::light(&m, key), full);
        }
    }

    #[test]
    fn probe_of_a_key() {
        let m = Model::redis_job();
        let p = Probe::new(&m, b"RedisJob:abc:team{&#58;}x:pending");
        assert_eq!(
            p.secondary,
            vec![(
                "project_key".to_string(),
                b"$KeyF:RedisJob:project_key:team{&#58;}x".to_vec()
            )]
        );
        assert_eq!(p.twins.len(), 3);
        assert!(p
            .twins
            .contains(&b"RedisJob:abc:team{&#58;}x:running".to_vec()));
        let bad = Probe::new(&m, b"RedisJob:x");
        assert!(bad.secondary.is_empty() && bad.twins.is_empty());
    }

    #[test]
    fn job_id_segment_of_keys() {
        let m = Model::redis_job();
        assert_eq!(
            job_id_segment(&m, b"RedisJob:abc:p:pending"),
            Some(&b"abc"[..])
        );
        assert_eq!(job_id_segment(&m, b"Other:abc:p:pending"), None);
    }

    #[test]
    fn the_filter_rarely_mistakes_a_new_id_for_one_seen() {
        // 300k distinct job_ids in the smallest filter: each false hit
        // would cost the scan a second walk of the class set. The two
        // bits per id over the whole filter used before made about 8.
        let mut f = SeenFilter::new();
        let hits = (0..300_000u64)
            .filter(|i| {
                f.insert(format!("{:032x}", i.wrapping_mul(0x2545_f491_4f6c_dd1d)).as_bytes())
            })
            .count();
        assert!(hits <= 1, "{hits} false hits");
    }

    #[test]
    fn filter_sees_repeats() {
        let mut f = SeenFilter::new();
        assert!(!f.insert(b"a"));
        assert!(f.insert(b"a"));
        assert!(!f.insert(b"b"));
    }
}
