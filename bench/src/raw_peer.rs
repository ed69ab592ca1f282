//! The raw drivers as a peer contender (`--contender raw`): every workload
//! of bench/peers/README.md by hand with rusqlite, tokio-postgres and
//! mysql_async.

use crate::harness::Res;
use crate::peer_protocol::Args;

/// Run the asked workloads, printing one result line each.
pub async fn run(args: &Args) -> Res<()> {
    let _ = args;
    Err("the raw contender is not written yet".into())
}
