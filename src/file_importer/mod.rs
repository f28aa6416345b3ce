//! The file-and-crate importer: `import fast` finds a marked `fast.rs` or crate folder
//! (`finder`) and builds it (`compile`) from what `prepare` writes into the build cache:
//! a single file's or cell's generated crate (`single_file`, from what `preprocess`
//! reads in its comment lines), or a marked crate's merged one (`crates`, reading the
//! user's dependency graph in `graph`). The generated Cargo.toml is `manifest`'s, the
//! view of the user's folder `mirror`'s, the lock-file seeds `lock_seed`'s, each
//! template's choices `template`'s. Beside the build: C declarations for cffi (`cdecl`),
//! notebook cells (`cell`), and new crates and ejected projects (`scaffold`).
//!
//! Calls go one way: `compile` -> `prepare` -> `single_file`, `crates` -> `manifest`,
//! `mirror`, `lock_seed`, `graph`, `preprocess` -> `template`, `finder`.

pub mod cdecl;
pub mod cell;
pub mod compile;
pub mod crates;
pub mod finder;
pub mod graph;
pub mod in_place;
pub mod lock_seed;
pub mod manifest;
pub mod mirror;
pub mod prepare;
pub mod preprocess;
pub mod scaffold;
pub mod single_file;
pub mod template;

pub use compile::{ensure_built, place_stub_of, stub_of, warm, Built};
pub use finder::{Source, SourceKind};
pub use in_place::{in_place_use, InPlaceUse};
