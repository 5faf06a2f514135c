//! Per-batch running totals, kept by `apply` as payments are scheduled, settled, returned or
//! cancelled: per channel (a bank by BIN, or cash) the count and sum of the batch's payments in
//! each status, and the arrears lines it carries by source month. The overview's charts, the
//! department's payment figures and the calendar read these instead of walking every payment,
//! so what they cost no longer grows with the number of people paid.
//!
//! They are derived data: `apply` keeps them in step, a replay rebuilds them, and
//! `BatchTotals::of_payments` (a walk over the payments) says what they must equal.

use crate::domain::event::{Channel, ControlTotals, ItemKind, PaymentScheduled, Route};
use crate::domain::state::{PaymentStatus, State};
use crate::domain::types::{Month, PaymentId, Vnd};

/// A batch's payments of one channel, by status.
#[derive(bincode::Encode, bincode::Decode, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ByStatus {
    pub scheduled: ControlTotals,
    pub settled: ControlTotals,
    pub returned: ControlTotals,
    pub cancelled: ControlTotals,
}

impl ByStatus {
    fn of(&mut self, status: PaymentStatus) -> &mut ControlTotals {
        match status {
            PaymentStatus::Scheduled => &mut self.scheduled,
            PaymentStatus::Settled => &mut self.settled,
            PaymentStatus::Returned => &mut self.returned,
            PaymentStatus::Cancelled => &mut self.cancelled,
        }
    }

    /// Every payment, whatever its status.
    pub fn all(&self) -> ControlTotals {
        sum([self.scheduled, self.settled, self.returned, self.cancelled])
    }

    /// Payments that were not returned (what `GET /v1/payouts` counts as paid out).
    pub fn not_returned(&self) -> ControlTotals {
        sum([self.scheduled, self.settled, self.cancelled])
    }
}

fn sum<const N: usize>(parts: [ControlTotals; N]) -> ControlTotals {
    parts
        .into_iter()
        .fold(ControlTotals::default(), |a, b| ControlTotals {
            count: a.count + b.count,
            sum: a.sum + b.sum,
        })
}

/// One batch's running totals.
#[derive(bincode::Encode, bincode::Decode, Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchTotals {
    /// Per channel, in channel order.
    pub channels: Vec<(Channel, ByStatus)>,
    /// Arrears items (lines paying a month before the batch's), by source month, in month order.
    pub arrears: Vec<(Month, ControlTotals)>,
}

impl BatchTotals {
    /// The sum over every channel.
    pub fn overall(&self) -> ByStatus {
        let mut out = ByStatus::default();
        for (_, s) in &self.channels {
            out = ByStatus {
                scheduled: sum([out.scheduled, s.scheduled]),
                settled: sum([out.settled, s.settled]),
                returned: sum([out.returned, s.returned]),
                cancelled: sum([out.cancelled, s.cancelled]),
            };
        }
        out
    }

    /// Whether every payment has its bank status (settled or returned).
    pub fn all_reported(&self) -> bool {
        let o = self.overall();
        o.scheduled.count == 0 && o.cancelled.count == 0
    }

    fn channel(&mut self, channel: Channel) -> &mut ByStatus {
        let i = match self.channels.binary_search_by_key(&channel, |(c, _)| *c) {
            Ok(i) => i,
            Err(i) => {
                self.channels.insert(i, (channel, ByStatus::default()));
                i
            }
        };
        &mut self.channels[i].1
    }

    /// Counts a newly scheduled payment.
    pub fn scheduled(&mut self, p: &PaymentScheduled) {
        self.channel(channel(&p.route))
            .of(PaymentStatus::Scheduled)
            .add(p.amount);
        for item in p.items.iter().filter(|i| i.kind == ItemKind::Arrears) {
            let i = match self
                .arrears
                .binary_search_by_key(&item.source_month, |(m, _)| *m)
            {
                Ok(i) => i,
                Err(i) => {
                    self.arrears
                        .insert(i, (item.source_month, ControlTotals::default()));
                    i
                }
            };
            self.arrears[i].1.add(item.amount);
        }
    }

    /// Moves a payment of `amount` from one status to another.
    fn moved(&mut self, channel: Channel, amount: Vnd, from: PaymentStatus, to: PaymentStatus) {
        let c = self.channel(channel);
        let f = c.of(from);
        f.count -= 1;
        f.sum = f.sum - amount;
        c.of(to).add(amount);
    }

    /// The totals a walk over these payments gives (what the running totals must equal).
    pub fn of_payments<'a>(
        payments: impl IntoIterator<Item = (&'a PaymentScheduled, PaymentStatus)>,
    ) -> BatchTotals {
        let mut t = BatchTotals::default();
        for (p, status) in payments {
            t.scheduled(p);
            if status != PaymentStatus::Scheduled {
                t.moved(
                    channel(&p.route),
                    p.amount,
                    PaymentStatus::Scheduled,
                    status,
                );
            }
        }
        t
    }
}

fn channel(route: &Route) -> Channel {
    match route {
        Route::Bank { bin } => Channel::Bank(*bin),
        Route::Cash { .. } => Channel::Cash,
    }
}

impl State {
    /// Keeps the batch's totals in step before a payment's status changes to `to` (the hook
    /// `apply` calls for settlements, returns and cancellations).
    pub(super) fn count_status(&mut self, id: PaymentId, to: PaymentStatus) -> Result<(), String> {
        let p = self.payment(id).ok_or_else(|| format!("no payment {id}"))?;
        let (from, batch) = (p.status, p.batch());
        let (ch, amount) = (channel(&p.route), p.amount);
        if from == to {
            return Ok(());
        }
        let b = self
            .batches
            .get_mut((batch.0 as usize).wrapping_sub(1))
            .ok_or_else(|| format!("no batch {batch}"))?;
        b.totals.moved(ch, amount, from, to);
        Ok(())
    }
}
