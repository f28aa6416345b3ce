//! The file-and-crate importer: `import fast` finds a marked `fast.rs` or crate folder
//! (the finder), turns a single file into a crate in the build cache (the preprocessor
//! and the templates) and a crate that relies on the template into a merged one (crates,
//! reading the user's dependency graph), declares a C-ABI library's functions to cffi, builds notebook
//! cells, and scaffolds new crates and ejected projects.

pub mod cdecl;
pub mod cell;
pub mod compile;
pub mod crates;
pub mod finder;
pub mod graph;
pub mod in_place;
pub mod prepare;
pub mod preprocess;
pub mod scaffold;
pub mod template;

pub use compile::{ensure_built, in_place_use, place_stub_of, stub_of, warm, Built, InPlaceUse};
pub use finder::{Source, SourceKind};
