//! Reads of the state off the async workers, in batches: a reader thread takes whatever read
//! requests are waiting, takes the state's read lock once for all of them, and answers each
//! through a oneshot channel. Under load one lock and one wake-up serve many requests, where
//! `spawn_blocking` costs two thread switches per request; and an async worker never blocks
//! on the state lock (which the writer holds while it decides a group).

use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};

use crate::domain::state::State;
use crate::ledger::Ledger;

use super::limits::READ_BATCH_REQUESTS_MAX;

type Job = Box<dyn FnOnce(&State) + Send>;

pub struct Readers {
    tx: Option<Sender<Job>>,
    threads: Vec<JoinHandle<()>>,
}

impl Readers {
    pub fn start(ledger: &Ledger, threads: usize) -> Readers {
        let (tx, rx) = crossbeam_channel::unbounded::<Job>();
        let threads = (0..threads.max(1))
            .map(|i| {
                let (ledger, rx) = (ledger.clone(), rx.clone());
                std::thread::Builder::new()
                    .name(format!("chitra-reader-{i}"))
                    .spawn(move || run(&ledger, &rx))
                    .expect("spawning a reader thread")
            })
            .collect();
        Readers {
            tx: Some(tx),
            threads,
        }
    }

    /// Runs `f` over the state on a reader thread; returns its value and the number of records
    /// the state had applied (wait for them to be durable before answering).
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&State) -> T + Send + 'static,
    ) -> Option<(T, u64)> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |s: &State| {
            let _ = tx.send((f(s), s.applied()));
        });
        self.tx.as_ref()?.send(job).ok()?;
        rx.await.ok()
    }
}

fn run(ledger: &Ledger, rx: &Receiver<Job>) {
    let mut jobs = Vec::with_capacity(READ_BATCH_REQUESTS_MAX);
    while let Ok(first) = rx.recv() {
        jobs.push(first);
        while jobs.len() < READ_BATCH_REQUESTS_MAX {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        // Each job answers with the records the state reflected; the async side waits for
        // them to be durable before it replies (`support::read`).
        let () = ledger
            .read_unconfirmed(|state| {
                for job in jobs.drain(..) {
                    job(state);
                }
            })
            .into_basis();
    }
}

impl Drop for Readers {
    /// Stops the threads and waits for them, so that their ledger handles are gone (and the
    /// ledger can close) once the app state is.
    fn drop(&mut self) {
        self.tx.take();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}
