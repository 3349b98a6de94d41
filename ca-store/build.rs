//! Rebuilds the crate when a migration is added or edited: `embed_migrations!` reads the
//! `migrations/` directory at compile time, and cargo does not track directories by itself.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
