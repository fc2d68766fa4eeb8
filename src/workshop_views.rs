//! The workshops consents are being recorded for, each as last read together with the notice
//! catalogue. A consent request is checked against this view without reading the database,
//! and the consent writer confirms the view under the ledger lock before it stores anything
//! ([`crate::store::consents::Outdated`]). So a view gone stale (a workshop archived, a notice
//! version approved, by another instance or the CLI) costs the request one more read, and a
//! consent is never stored against it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::catalog::Catalog;
use crate::store::workshops::Workshop;

/// More workshops than take consents at the same time; a full cache starts again empty.
const CAPACITY: usize = 256;

/// A workshop as read, with the catalogue of the same moment.
#[derive(Clone)]
pub struct WorkshopView {
    pub workshop: Arc<Workshop>,
    pub catalog: Arc<Catalog>,
}

#[derive(Default)]
pub struct WorkshopViews {
    by_slug: Mutex<HashMap<String, WorkshopView>>,
}

impl WorkshopViews {
    pub fn get(&self, slug: &str) -> Option<WorkshopView> {
        self.entries().get(slug).cloned()
    }

    pub fn put(&self, view: WorkshopView) {
        let mut entries = self.entries();
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(view.workshop.slug.clone(), view);
    }

    /// The workshop takes no consents now: the next request reads the database.
    pub fn forget(&self, slug: &str) {
        self.entries().remove(slug);
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, WorkshopView>> {
        // The map is whole after any panic (each change is one call), so it stays usable.
        self.by_slug.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
