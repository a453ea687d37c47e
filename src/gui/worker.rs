//! Background jobs for the panels. Training and sampling take seconds to minutes, so they
//! run on their own thread; the UI only ever polls, so a slow model never freezes a frame.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam_channel::{Receiver, Sender, TryRecvError, bounded};

/// Bounded so a job that outruns the UI waits instead of growing memory without limit;
/// large enough that a frame's worth of sampled characters never makes it wait.
const CAPACITY: usize = 4096;

/// A job on its own thread, sending `M`s to the UI.
pub struct Worker<M> {
    rx: Receiver<M>,
    cancel: Arc<AtomicBool>,
}

/// What a job has said since the last poll.
pub struct Poll<M> {
    pub messages: Vec<M>,
    /// The job's thread has ended (normally or not) and every message has been read.
    pub finished: bool,
}

impl<M: Send + 'static> Worker<M> {
    /// Starts `job`, which sends through the sender and should stop soon after the flag is set.
    pub fn spawn<F>(name: &str, job: F) -> std::io::Result<Self>
    where
        F: FnOnce(&Sender<M>, &AtomicBool) + Send + 'static,
    {
        let (tx, rx) = bounded(CAPACITY);
        let cancel = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&cancel);
        std::thread::Builder::new().name(name.to_owned()).spawn(move || job(&tx, &flag))?;
        Ok(Self { rx, cancel })
    }

    /// Asks the job to stop; it finishes on its own, so the UI never waits for it.
    pub fn stop(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// Everything sent so far, without blocking. The end is seen through the channel's
    /// disconnection, so a job that panics still counts as finished.
    pub fn poll(&self) -> Poll<M> {
        let mut messages = Vec::new();
        loop {
            match self.rx.try_recv() {
                Ok(m) => messages.push(m),
                Err(TryRecvError::Empty) => return Poll { messages, finished: false },
                Err(TryRecvError::Disconnected) => return Poll { messages, finished: true },
            }
        }
    }
}

impl<M> Drop for Worker<M> {
    /// A panel that drops its job (closed window, replaced run) must not leave it burning CPU.
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
}
