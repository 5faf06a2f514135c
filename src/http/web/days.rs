//! The overview's calendar, without reading the chain on a page view. The calendar (as
//! `GET /v1/calendar` gives it, `app::reports::calendar`) dates each batch's release and each
//! channel's payment report by the day its record was written, and finding that day means
//! reading the record from the store: at 1,000,000 people a month's reports are large records,
//! and a cold first view paid for reading them all. A record's day never changes, so the days
//! are kept here: the warm-up (`warm`) reads the days of the records the calendar needs when
//! the server starts and of each release or report as it becomes durable, and a page reads only
//! the days not kept yet (none once the warm-up has caught up).
//!
//! One filling at a time: a page that arrives while the warm-up is reading the days waits for
//! it (the lock is held across the reading) and then finds them kept, rather than reading the
//! same records a second time.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::Mutex;

use crate::domain::calendar::{self, CalendarStatus};
use crate::domain::types::{Date, Programme};
use crate::http::support::blocking;
use crate::http::Problem;
use crate::ledger::Ledger;

/// The days the calendar's records were written, by record.
#[derive(Default)]
pub struct Days(Mutex<Arc<HashMap<u64, Date>>>);

impl Days {
    /// The kept days, with those of the records the calendar of `programmes` needs now read
    /// first if they are not kept yet.
    pub async fn filled(
        &self,
        ledger: &Ledger,
        programmes: &[Programme],
    ) -> Result<Arc<HashMap<u64, Date>>, Problem> {
        let mut kept = self.0.lock().await;
        let known = kept.clone();
        let (read, programmes) = (ledger.clone(), programmes.to_vec());
        let missing: Vec<u64> = blocking(move || {
            read.read(|st| {
                programmes
                    .iter()
                    .flat_map(|p| calendar::records_to_date(st, *p))
                    .filter(|seq| !known.contains_key(seq))
                    .collect()
            })
        })
        .await?
        .map_err(|e| Problem::unavailable(&e))?;
        if missing.is_empty() {
            return Ok(kept.clone());
        }
        let read = ledger.clone();
        let found = blocking(move || {
            let mut found = Vec::with_capacity(missing.len());
            for seq in missing {
                if let Some(r) = read.event(seq)? {
                    found.push((seq, crate::ledger::local_date(r.recorded_at_ms)));
                }
            }
            Ok::<_, crate::ledger::ReadError>(found)
        })
        .await?
        .map_err(|e| Problem::unavailable(&e))?;
        Arc::make_mut(&mut kept).extend(found);
        Ok(kept.clone())
    }

    /// The calendar of each of `programmes` as of `today`, as `app::reports::calendar` gives
    /// it, from the kept days.
    pub async fn calendars(
        &self,
        ledger: &Ledger,
        programmes: &[Programme],
        today: Date,
    ) -> Result<Vec<CalendarStatus>, Problem> {
        let days = self.filled(ledger, programmes).await?;
        let (read, programmes) = (ledger.clone(), programmes.to_vec());
        blocking(move || {
            read.read(|st| {
                let day_of = |seq: u64| days.get(&seq).copied();
                programmes
                    .iter()
                    .map(|p| calendar::status(st, *p, today, &day_of))
                    .collect()
            })
        })
        .await?
        .map_err(|e| Problem::unavailable(&e))
    }

    /// How many days are kept.
    pub async fn kept(&self) -> usize {
        self.0.lock().await.len()
    }
}
