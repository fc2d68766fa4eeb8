//! The memory allocator: mimalloc for Rust's allocations, glibc's malloc for SQLite's.
//!
//! With glibc's malloc for everything, capped at two arenas (below), the consent writer and
//! the request threads took turns on the arenas' locks: a value allocated on one thread and
//! freed on the other locks its arena, and under load about a seventh of the writer thread's
//! time went to those locks. mimalloc frees into the owning thread's heap without a lock:
//! consents on SQLite went up by about a fifth, each with less CPU (benches/NOTES.md,
//! session 14).

use std::ffi::c_long;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc 3's `mimalloc.h`; libmimalloc-sys names only
/// mimalloc 2's options.
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// How long mimalloc keeps freed memory before handing it back to the operating system.
/// Its default, 1 s, let a retention sweep of 1,000,000 records peak at 102 MB (goal: under
/// 100 MB); 200 ms kept it at 70 MB with consents as fast; at 0 the consents' gain was gone.
const PURGE_DELAY_MS: c_long = 200;

/// Sets the allocators up; called by [`crate::jobs::runtime`] before its threads exist.
pub fn configure() {
    // SAFETY: sets one of mimalloc's options, which it reads atomically.
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, PURGE_DELAY_MS) };
    limit_malloc_arenas();
}

/// Hands heap memory freed by a pass (a retention page, start-up's policy and catalogue
/// work) back to the operating system, so that an idle service does not hold its peak.
pub fn release_free_memory() {
    // SAFETY: collects mimalloc's free pages; safe to call from any thread at any time.
    unsafe { libmimalloc_sys::mi_collect(true) };
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages of glibc's own heap to the kernel.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Caps glibc's malloc arenas (SQLite's allocations) at two. By default a thread that
/// allocates under contention gets an arena of its own (up to eight per core) and each arena
/// keeps its own high-water mark: a retention sweep, whose batches run on the worker threads
/// of different pooled SQLite connections, peaked at 109 MB instead of 69 MB for 1,000,000
/// records, in the same time.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes how the allocator picks arenas for later allocations.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The option number is mimalloc 3's purge delay: its default (1,000 ms) before, ours
    /// after. After an upgrade that renumbers the options this fails instead of quietly
    /// setting another option.
    #[test]
    fn the_purge_delay_is_the_option_that_is_set() {
        // SAFETY: reads and sets mimalloc's options.
        let before = unsafe { libmimalloc_sys::mi_option_get(PURGE_DELAY) };
        assert!(
            before == 1000 || before == PURGE_DELAY_MS,
            "option {PURGE_DELAY} read {before}: not mimalloc 3's purge delay"
        );
        configure();
        // SAFETY: as above.
        let after = unsafe { libmimalloc_sys::mi_option_get(PURGE_DELAY) };
        assert_eq!(after, PURGE_DELAY_MS);
    }
}
