//! Rebuilds the crate when a migration is added: `sqlx::migrate!` embeds `migrations/` at
//! compile time, and Cargo reruns it only when a file it already knows changes (the build
//! script sqlx's documentation recommends).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
