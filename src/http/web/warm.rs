//! The dashboard's warm-up: what a page would otherwise compute on its first view is computed
//! in the background instead. When the server starts, the search index is built, the days of
//! the records the overview's calendar dates are read (`days`) and the newest computed batches'
//! reviews are computed; after that, each time records become durable, the index catches up
//! with the people enrolled or changed, the days of new releases and reports are read, and
//! every batch computed (or computed again) since gets its review. A page that arrives before the warm-up is done waits
//! for the same computation (`reviews`, `days`, the search index's own lock) rather than starting a
//! second one.
//!
//! One warm-up runs per `AppState`, started by `http::server::serve` (a test or the bench that
//! drives the app in-process starts it itself). It holds no strong handle on the app state
//! between passes, so it ends when the server's state is dropped (or the ledger closes).

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::watch;

use super::days::Days;
use super::reviews::{self, Computation, Reviews};
use crate::domain::types::{BeneficiaryId, Role};
use crate::http::AppState;

pub use crate::http::limits::WARM_AT_START_BATCHES_MAX;

/// The warm-up's shared part, kept in the app state.
pub struct Warm {
    pub reviews: Arc<Reviews>,
    /// The days of the records the overview's calendar dates (`days`).
    pub days: Arc<Days>,
    started: AtomicBool,
    /// The durable records the last finished pass covered.
    passed: watch::Sender<u64>,
}

impl Default for Warm {
    fn default() -> Warm {
        Warm {
            reviews: Arc::new(Reviews::default()),
            days: Arc::new(Days::default()),
            started: AtomicBool::new(false),
            passed: watch::Sender::new(0),
        }
    }
}

/// Starts the warm-up of `app` unless it runs already (or no Tokio runtime is at hand).
pub fn start(app: &AppState) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    if app.web.started.swap(true, Ordering::SeqCst) {
        return;
    }
    let weak = Arc::downgrade(&app.0);
    let mut durable = app.ledger().durable_watch();
    runtime.spawn(async move {
        let mut known: Option<HashSet<Computation>> = None;
        loop {
            let Some(inner) = weak.upgrade() else { break };
            known = Some(pass(&AppState(inner), known.as_ref()).await);
            if durable.changed().await.is_err() {
                break;
            }
        }
    });
}

/// One pass: the search index brought up to date, the days the overview's calendar needs
/// read, then the reviews of the computations not
/// seen by the last pass (on the first pass, the newest `WARM_AT_START_BATCHES_MAX`). Returns
/// the computations seen.
async fn pass(app: &AppState, known: Option<&HashSet<Computation>>) -> HashSet<Computation> {
    let upto = app.ledger().durable_records();
    let search = app.clone();
    let _ = tokio::task::spawn_blocking(move || {
        // An empty page of everyone: the index is built (or caught up) and nothing is listed.
        let everyone = crate::http::search::Query {
            citizen: None,
            name: None,
            commune: None,
            after: BeneficiaryId(0),
            limit: 0,
            viewer: Role::Auditor,
        };
        if let Err(p) = search.search.search(search.ledger(), &everyone) {
            tracing::warn!(target: "chitra::http::web", "search index warm-up: {}", p.body().title);
        }
    })
    .await;
    // The overview's calendar: the days of the releases and reports written since.
    if let Err(p) = app
        .web
        .days
        .filled(app.ledger(), &crate::app::reports::PROGRAMMES)
        .await
    {
        tracing::warn!(target: "chitra::http::web", "calendar warm-up: {}", p.body().title);
    }
    let ledger = app.ledger().clone();
    let (computed, _) = ledger
        .read_unconfirmed(|s| {
            s.batches()
                .iter()
                .rev()
                .filter_map(|b| reviews::computation(s, b.opened.batch))
                .collect::<Vec<_>>()
        })
        .into_parts();
    let fresh: Vec<Computation> = match known {
        None => computed
            .iter()
            .take(WARM_AT_START_BATCHES_MAX)
            .copied()
            .collect(),
        Some(k) => computed
            .iter()
            .filter(|c| !k.contains(c))
            .copied()
            .collect(),
    };
    // One at a time: each holds the state's read lock while it walks the batch.
    for key in fresh {
        let _ = app.web.reviews.of(&ledger, key).await;
    }
    app.web.passed.send_replace(upto);
    computed.into_iter().collect()
}

/// Waits until the warm-up has caught up with every record durable now (the search index
/// built, the reviews of the batches computed by then kept). Returns at once if no warm-up
/// runs.
pub async fn settled(app: &AppState) {
    if !app.web.started.load(Ordering::SeqCst) {
        return;
    }
    let upto = app.ledger().durable_records();
    let mut passed = app.web.passed.subscribe();
    let _ = passed.wait_for(|p| *p >= upto).await;
}
