//! The environment variables a build reads: which ones (cargo's and rustc's, named and
//! by family), each stamped by a hash of its value's bytes, and which one changed.

use std::collections::{BTreeMap, HashSet};
use std::ffi::{OsStr, OsString};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::fsutil::hex;
use crate::platform;

/// Variables cargo or rustc read for every build, compared by value.
pub const NAMED_VARIABLES: &[&str] = &[
    "RUSTFLAGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "RUSTC",
    "RUSTC_WRAPPER",
    "RUSTC_WORKSPACE_WRAPPER",
    "RUSTUP_TOOLCHAIN",
    "RUSTC_BOOTSTRAP",
    "CARGO_HOME",
    "CARGO_INCREMENTAL",
];

/// Prefixes of cargo's configuration variables that change a build: every variable set
/// with one is compared, and one newly set makes the build stale.
pub const VARIABLE_FAMILIES: &[&str] = &["CARGO_BUILD_", "CARGO_PROFILE_", "CARGO_TARGET_"];

/// Set by rusthook on cargo's command whatever the importing process holds, so the
/// process's value is not what the build read.
const SET_FOR_CARGO: &[&str] = &[
    "PYO3_PYTHON",
    "PYO3_NO_PYTHON",
    "PYO3_BUILD_EXTENSION_MODULE",
    "CARGO_TARGET_DIR",
];

/// One environment variable a build read: its name and the sha256 of its value's bytes
/// (`None`: unset).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackedVariable {
    pub name: String,
    pub value: Option<String>,
}

/// The sha256 of a variable's value, bytes as they are (`None`: unset).
pub fn value_hash(value: Option<&OsStr>) -> Option<String> {
    value.map(|value| hex(&Sha256::digest(platform::os_str_bytes(value))))
}

fn is_tracked_family(name: &str) -> bool {
    VARIABLE_FAMILIES
        .iter()
        .any(|prefix| name.starts_with(prefix))
        && !SET_FOR_CARGO.contains(&name)
}

/// The variables a build read, as they are now: `names` (env-deps, build scripts'),
/// [`NAMED_VARIABLES`] and every variable set of the [`VARIABLE_FAMILIES`].
pub fn variables_read(names: Vec<String>) -> Vec<TrackedVariable> {
    let family = std::env::vars_os()
        .filter_map(|(name, _)| name.into_string().ok())
        .filter(|name| is_tracked_family(name));
    let names: std::collections::BTreeSet<String> = names
        .into_iter()
        .chain(NAMED_VARIABLES.iter().map(|n| n.to_string()))
        .chain(family)
        .filter(|name| !name.is_empty() && !SET_FOR_CARGO.contains(&name.as_str()))
        .collect();
    names
        .into_iter()
        .map(|name| TrackedVariable {
            value: value_hash(std::env::var_os(&name).as_deref()),
            name,
        })
        .collect()
}

/// The first variable whose value differs from the record's, said as a reason
/// (`RUSTFLAGS changed`), or a newly set one of the families. `env` reads a variable;
/// `set` lists the names set now.
pub fn changed_variable(
    recorded: &[TrackedVariable],
    env: &dyn Fn(&str) -> Option<OsString>,
    set: &dyn Fn() -> Vec<String>,
) -> Option<String> {
    for variable in recorded {
        let now = value_hash(env(&variable.name).as_deref());
        if now != variable.value {
            let what = match (&variable.value, &now) {
                (None, _) => "was set",
                (_, None) => "was unset",
                _ => "changed",
            };
            return Some(format!("the environment variable {} {what}", variable.name));
        }
    }
    let known: HashSet<&str> = recorded.iter().map(|v| v.name.as_str()).collect();
    set()
        .into_iter()
        .find(|name| is_tracked_family(name) && !known.contains(name.as_str()))
        .map(|name| format!("the environment variable {name} was set"))
}

/// Names the variables of a record for people: `{name: set | unset}`.
pub fn describe_variables(variables: &[TrackedVariable]) -> BTreeMap<&str, &'static str> {
    variables
        .iter()
        .map(|v| {
            (
                v.name.as_str(),
                if v.value.is_some() { "set" } else { "unset" },
            )
        })
        .collect()
}
