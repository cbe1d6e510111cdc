//! The directory in force at start-up: the config file's endpoints and trunks with the
//! changes stored through the API laid over them (a stored entry replaces the file's entry
//! of the same name, a stored deletion removes it). A stored entry this build cannot read
//! or that no longer validates is skipped with an error in the log, never fatal: the file's
//! entry of that name (if any) stays in force.

use crate::config::directory::{merge, Override};
use crate::config::{Config, Endpoint, EndpointSpec, Trunk, TrunkSpec};
use crate::store::{DirectoryKind, DirectoryRow, Store, StoreError};

/// `cfg` with the stored directory changes applied.
pub async fn with_stored_directory(cfg: &Config, store: &Store) -> Result<Config, StoreError> {
    let rows = store.directory().await?;
    if rows.is_empty() {
        return Ok(cfg.clone());
    }
    let endpoints: Vec<Override<Endpoint>> = overrides(&rows, DirectoryKind::Endpoint, |json| {
        serde_json::from_str::<EndpointSpec>(json)
            .map_err(|e| e.to_string())
            .and_then(|s| s.validate().map_err(|e| e.to_string()))
    });
    let trunks: Vec<Override<Trunk>> = overrides(&rows, DirectoryKind::Trunk, |json| {
        serde_json::from_str::<TrunkSpec>(json)
            .map_err(|e| e.to_string())
            .and_then(|s| s.validate().map_err(|e| e.to_string()))
    });
    tracing::info!(
        endpoints = endpoints.len(),
        trunks = trunks.len(),
        "directory changes from the store laid over the config file"
    );
    Ok(cfg.with_directory(
        merge(&cfg.endpoints, &endpoints, |e| e.user.as_str()),
        merge(&cfg.trunks, &trunks, |t| t.name.as_str()),
    ))
}

fn overrides<T>(
    rows: &[DirectoryRow],
    kind: DirectoryKind,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Vec<Override<T>> {
    rows.iter()
        .filter(|r| r.kind == kind)
        .filter_map(|r| match r.spec.as_deref().map(&parse).transpose() {
            Ok(entry) => Some(Override {
                name: r.name.clone(),
                entry,
            }),
            Err(e) => {
                tracing::error!(kind = kind.as_str(), name = %r.name, %e, "stored directory entry skipped");
                None
            }
        })
        .collect()
}
