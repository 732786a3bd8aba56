//! The pointer walk of a model whose status is indexed (docs/layout.md,
//! "The other status layout"): a pointer whose record is gone is in no set,
//! so only a walk of the keyspace meets it. `SCAN MATCH` over the model's
//! `$IdxPtr` keys and its 1.8.1-1.8.2 `{K}\x00idxptr\x00{field}` keys; the
//! record each names is examined in full when the class set does not hold
//! it (those it holds were examined by pass A, pointers included).
//!
//! Owns: [`Walker::pointer_walk`]. Must not: print or write.

use anyhow::Result;

use super::walker::Walker;
use crate::output::Progress;
use crate::schema::probe::Probe;

impl Walker<'_> {
    /// Walk the pointers of the status field, page by page; memory is one
    /// page.
    pub(super) async fn pointer_walk(&mut self, progress: &Progress) -> Result<()> {
        let field = self.model.status.field.clone();
        for legacy in [false, true] {
            let pattern = if legacy {
                self.model.legacy_pointer_pattern(&field)
            } else {
                self.model.index_pointer_pattern()
            };
            let mut cursor = 0;
            loop {
                let page = self.store.scan_keys(&pattern, cursor, self.batch).await?;
                self.scanned.keyspace_keys += page.items.len() as u64;
                let mut records: Vec<Vec<u8>> = Vec::new();
                for k in &page.items {
                    let parsed = if legacy {
                        self.model.parse_legacy_pointer_key(k)
                    } else {
                        self.model.parse_index_pointer(k)
                    };
                    let Some((record, f)) = parsed else {
                        continue;
                    };
                    if f.name == field
                        && !self.win.knows(record)
                        && !records.iter().any(|r| r == record)
                    {
                        records.push(record.to_vec());
                    }
                }
                if !records.is_empty() {
                    let in_class = self
                        .store
                        .members_of(&self.layout.class_set, &records)
                        .await?;
                    let probes: Vec<Probe> = records
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| in_class.as_ref().is_none_or(|f| !f[*i]))
                        .map(|(_, k)| Probe::new(self.model, k))
                        .collect();
                    self.examine(probes).await?;
                }
                progress.inc(0);
                self.pump(false).await?;
                cursor = page.cursor;
                if cursor == 0 {
                    break;
                }
            }
        }
        self.settle().await
    }
}
