//! Group commit: write operations that one [`Store`] receives at the same time share a
//! transaction and its commit.
//!
//! There is no writer thread. A caller queues its [`Job`]; if its job is still queued and
//! fewer than the allowed number of batches are running, it becomes a leader: it takes
//! everything queued (up to [`MAX_BATCH`] jobs, oldest first), runs it as one batch (see
//! [`crate::batch`]) and hands each job's result to its caller. Otherwise it waits until
//! a leader has delivered its result, or until it may lead itself. A caller that finds
//! nothing running leads at once, so a lone caller never waits for company; callers that
//! arrive while a batch runs are gathered into the next one.

use std::collections::{HashMap, VecDeque};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use ca_core::store::{StoreError, StoreResult};

use crate::batch::{self, Job, JobOutput};
use crate::Store;

/// The most jobs one batch (one transaction) takes: a chunk of the issuing pipeline
/// (`ca_core::issue::pipeline::CHUNK`).
pub(crate) const MAX_BATCH: usize = 128;

/// Counters of a [`Store`]'s group commit, shared by its clones (see [`Store::stats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WriteStats {
    /// Batches run, each one transaction with one commit (or none, for a lone
    /// single-statement write).
    pub batches: u64,
    /// Write operations run in those batches (`jobs / batches` is the mean batch size).
    pub jobs: u64,
    /// The most write operations that one batch held.
    pub largest_batch: u64,
    /// Write operations queued at this moment, waiting for a batch to take them.
    pub queued: u64,
}

/// The queue, the results not yet collected, and the counters.
#[derive(Default)]
struct State {
    /// Jobs not yet taken by a batch, by ticket (tickets increase along the queue).
    queue: VecDeque<(u64, Job)>,
    /// Results delivered by leaders, until their callers take them.
    results: HashMap<u64, StoreResult<JobOutput>>,
    next_ticket: u64,
    /// Batches running now.
    running: usize,
    stats: WriteStats,
}

/// A [`Store`]'s group committer.
pub(crate) struct Committer {
    state: Mutex<State>,
    /// Signalled whenever a batch ends: results are ready, and a batch slot is free.
    batch_ended: Condvar,
    /// How many batches may run at once: 1 on SQLite (one writer at a time); on
    /// PostgreSQL a few, so that a batch fills while another waits for its commit.
    max_running: usize,
}

impl Committer {
    /// A committer that runs at most `max_running` batches at once (at least one).
    pub(crate) fn new(max_running: usize) -> Committer {
        Committer {
            state: Mutex::default(),
            batch_ended: Condvar::new(),
            max_running: max_running.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The counters so far.
    pub(crate) fn stats(&self) -> WriteStats {
        let state = self.lock();
        WriteStats {
            queued: state.queue.len() as u64,
            ..state.stats
        }
    }

    /// Runs `job` on `store`, in a batch with whatever else is queued, and returns its
    /// result once the batch has committed (or failed).
    pub(crate) fn submit(&self, store: &Store, job: Job) -> StoreResult<JobOutput> {
        self.submit_all(store, vec![job])
            .pop()
            .unwrap_or_else(|| Err(StoreError::Backend("a write got no result".into())))
    }

    /// Runs `jobs` on `store`, queued together (so that, up to [`MAX_BATCH`], they share
    /// one batch, with whatever else is queued), and returns their results in order once
    /// the batches holding them have committed (or failed).
    pub(crate) fn submit_all(&self, store: &Store, jobs: Vec<Job>) -> Vec<StoreResult<JobOutput>> {
        let mut state = self.lock();
        let first = state.next_ticket;
        let count = jobs.len() as u64;
        state.next_ticket += count;
        state.queue.extend((first..).zip(jobs));
        let last = first + count;
        let mut results: Vec<Option<StoreResult<JobOutput>>> = std::iter::repeat_with(|| None)
            .take(count as usize)
            .collect();
        let mut missing = count as usize;
        loop {
            for (slot, ticket) in results.iter_mut().zip(first..last) {
                if slot.is_none() {
                    if let Some(result) = state.results.remove(&ticket) {
                        *slot = Some(result);
                        missing -= 1;
                    }
                }
            }
            if missing == 0 {
                return results.into_iter().flatten().collect();
            }
            let still_queued = state.queue.front().is_some_and(|(t, _)| *t < last);
            if still_queued && state.running < self.max_running {
                let take = state.queue.len().min(MAX_BATCH);
                let (tickets, jobs): (Vec<u64>, Vec<Job>) = state.queue.drain(..take).unzip();
                state.running += 1;
                let stats = &mut state.stats;
                stats.batches += 1;
                stats.jobs += take as u64;
                stats.largest_batch = stats.largest_batch.max(take as u64);
                drop(state);
                let lead = Lead {
                    committer: self,
                    tickets,
                    ops: jobs.iter().map(|j| j.op().to_string()).collect(),
                };
                let results = batch::run(store, jobs);
                state = lead.deliver(results.into_iter());
                continue;
            }
            state = self
                .batch_ended
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// A running batch: delivers its results, or, if the leader unwinds from a panic before
/// that, an error for each of its jobs, so that no caller waits forever.
struct Lead<'a> {
    committer: &'a Committer,
    tickets: Vec<u64>,
    ops: Vec<String>,
}

impl<'a> Lead<'a> {
    /// Hands out `results` (one per job, in order), ends the batch and wakes the waiters.
    fn deliver(
        mut self,
        results: impl Iterator<Item = StoreResult<JobOutput>>,
    ) -> MutexGuard<'a, State> {
        let committer = self.committer;
        let tickets = std::mem::take(&mut self.tickets);
        let mut results = results;
        let mut state = committer.lock();
        for (ticket, op) in tickets.into_iter().zip(&self.ops) {
            let result = results.next().unwrap_or_else(|| {
                Err(StoreError::Backend(format!(
                    "{op}: its batch returned no result"
                )))
            });
            state.results.insert(ticket, result);
        }
        state.running -= 1;
        committer.batch_ended.notify_all();
        state
    }
}

impl Drop for Lead<'_> {
    fn drop(&mut self) {
        if self.tickets.is_empty() {
            return;
        }
        let mut state = self.committer.lock();
        for (ticket, op) in self.tickets.drain(..).zip(&self.ops) {
            let error = StoreError::Backend(format!(
                "{op}: the thread running its batch panicked; the outcome is unknown"
            ));
            state.results.insert(ticket, Err(error));
        }
        state.running -= 1;
        self.committer.batch_ended.notify_all();
    }
}
