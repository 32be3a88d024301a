//! What this binary is: its version, the git revision it was built from and
//! the build date (set by `build.rs`), shown by `heyblue --version` and
//! `GET /v1/version` so ops can see what runs where.

use serde::Serialize;

/// The crate version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The git revision built (`-dirty` with uncommitted changes, `unknown` outside git).
pub const GIT_REVISION: &str = env!("BUILD_GIT_REVISION");
/// The build date, `YYYY-MM-DD` UTC (`SOURCE_DATE_EPOCH` when set).
pub const BUILD_DATE: &str = env!("BUILD_DATE_UTC");

/// `<version> (<revision>, built <date>)`, as `--version` prints it.
pub const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("BUILD_GIT_REVISION"),
    ", built ",
    env!("BUILD_DATE_UTC"),
    ")"
);

/// The answer of `GET /v1/version`.
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
pub(crate) struct VersionInfo {
    /// The crate version.
    version: &'static str,
    /// The git revision.
    revision: &'static str,
    /// The build date.
    build_date: &'static str,
}

/// This binary's version facts.
pub(crate) fn info() -> VersionInfo {
    VersionInfo {
        version: VERSION,
        revision: GIT_REVISION,
        build_date: BUILD_DATE,
    }
}
