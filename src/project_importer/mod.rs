//! The project importer: editable maturin projects (`pip install -e`, `maturin develop`)
//! rebuilt before they are imported when their sources changed. The index maps import
//! names to projects, the project module reads each project's layout, and the build
//! brings its installed library up to date.

pub mod develop;
pub mod index;
pub mod metadata;
pub mod project;
pub mod rebuild;

pub use index::ProjectIndex;
pub use project::Project;
pub use rebuild::{ensure_project_built, ProjectStub, StubRequest};
