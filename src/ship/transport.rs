//! What shipping needs from a destination, whatever carries the bytes there.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Why an operation on a destination failed.
#[derive(Debug)]
pub enum TransportError {
    /// Worth trying again: the connection failed or broke (ssh exit 255, refused, reset), or
    /// the bytes arrived damaged.
    Transient(String),
    /// The destination already holds the file with other contents (its SHA-256 given).
    Conflict {
        sha256: String,
    },
    Fatal(String),
}

/// What [`Transport::put`] found or did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PutOutcome {
    /// Written under its final name, durably, with a verified checksum.
    Stored,
    /// The destination already held the same bytes under that name.
    AlreadyThere,
}

pub trait Transport: Sync {
    /// Removes temporary files left by interrupted transfers and returns the manifest's text,
    /// if there is one.
    fn open(&self) -> Result<Option<String>, TransportError>;
    /// Stores `bytes` under `name` so that it appears complete or not at all, after checking
    /// that the bytes that arrived have SHA-256 `sha256`: the contents are durable when it returns,
    /// the name once the next [`Transport::write_manifest`] or [`Transport::append_manifest`]
    /// has returned (one directory fsync
    /// for a batch of files). An existing file under `name` with other contents is a conflict
    /// unless `replace`.
    fn put(
        &self,
        name: &str,
        bytes: &[u8],
        sha256: &str,
        replace: bool,
        pacer: &Pacer,
    ) -> Result<PutOutcome, TransportError>;
    /// Replaces the manifest durably and atomically, and makes the names of every file stored
    /// before it durable.
    fn write_manifest(&self, text: &str) -> Result<(), TransportError>;
    /// Makes the names of every file stored before durable, then appends `lines` (complete
    /// lines) to the existing manifest durably. Cut off, it can leave a last line without its
    /// newline: the next run then writes the manifest whole.
    fn append_manifest(&self, lines: &str) -> Result<(), TransportError>;
    /// The SHA-256 of every LCR file the destination holds, by name.
    fn checksums(&self) -> Result<BTreeMap<String, String>, TransportError>;
    /// Whether the destination computes the SHA-256 of what it receives and refuses a file
    /// whose sum differs from the one sent: then a sum recorded in the spool can be sent as
    /// it is, without hashing the file first.
    fn checks_sha256(&self) -> bool;
    /// A way to send files one after the other without waiting for each to be stored.
    fn sender(&self) -> Box<dyn Sender + '_>;
}

/// Sends files as [`Transport::put`] stores them (never replacing a file), but lets the next
/// file go out before the previous one is answered, so that a destination can check, fsync
/// and rename one file while the next arrives. After an error the sender is done with: the
/// files it has not answered must be sent again with a new one.
pub trait Sender {
    /// Starts storing a file; its outcome comes from a later [`Sender::outcome`].
    fn send(
        &mut self,
        name: &str,
        bytes: &[u8],
        sha256: &str,
        pacer: &Pacer,
    ) -> Result<(), TransportError>;
    /// What became of the oldest file sent and not answered yet.
    fn outcome(&mut self) -> Result<PutOutcome, TransportError>;
}

/// A [`Sender`] for destinations that store a file as fast as they receive it: each file is
/// stored by [`Transport::put`] while it is sent; its outcome, failure included, is kept for
/// [`Sender::outcome`], so that a failure is told of the file it belongs to.
pub struct OneByOne<'a> {
    pub transport: &'a dyn Transport,
    pub outcomes: VecDeque<Result<PutOutcome, TransportError>>,
}

impl Sender for OneByOne<'_> {
    fn send(
        &mut self,
        name: &str,
        bytes: &[u8],
        sha256: &str,
        pacer: &Pacer,
    ) -> Result<(), TransportError> {
        let outcome = self.transport.put(name, bytes, sha256, false, pacer);
        self.outcomes.push_back(outcome);
        Ok(())
    }

    fn outcome(&mut self) -> Result<PutOutcome, TransportError> {
        self.outcomes
            .pop_front()
            .expect("an outcome is asked for a file sent")
    }
}

/// Keeps the total rate of all transfers of a run at or below a limit (bytes per second).
pub struct Pacer {
    rate: Option<u64>,
    sent: Mutex<(Instant, u64)>,
}

impl Pacer {
    pub fn new(rate: Option<u64>) -> Pacer {
        Pacer {
            rate,
            sent: Mutex::new((Instant::now(), 0)),
        }
    }

    /// How many bytes to send before asking again: small enough to keep the rate smooth.
    pub fn chunk(&self) -> usize {
        match self.rate {
            Some(r) => (r / 8).clamp(4096, 1 << 20) as usize,
            None => 1 << 20,
        }
    }

    /// Accounts for `n` bytes about to be sent, sleeping until sending them keeps the rate.
    pub fn take(&self, n: usize) {
        let Some(rate) = self.rate else { return };
        let due = {
            let mut sent = self.sent.lock().expect("pacer lock");
            sent.1 += n as u64;
            sent.0 + Duration::from_secs_f64(sent.1 as f64 / rate as f64)
        };
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
    }
}

/// Retry policy for transient errors: `retries` more attempts, waiting `first_delay`, then
/// twice as long each time, at most `max_delay`.
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    pub retries: u32,
    pub first_delay: Duration,
    pub max_delay: Duration,
}

impl Backoff {
    /// Runs `op` until it succeeds, fails for good, or the retries are used up; `on_retry` hears
    /// of each transient failure before the wait.
    pub fn run<T>(
        &self,
        mut op: impl FnMut() -> Result<T, TransportError>,
        on_retry: impl Fn(&str, Duration),
    ) -> Result<T, TransportError> {
        let mut delay = self.first_delay;
        let mut attempt = 0;
        loop {
            match op() {
                Err(TransportError::Transient(msg)) if attempt < self.retries => {
                    on_retry(&msg, delay);
                    std::thread::sleep(delay);
                    delay = (delay * 2).min(self.max_delay);
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_retries_transient_errors_only_and_boundedly() {
        let b = Backoff {
            retries: 2,
            first_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
        };
        let mut calls = 0;
        let r: Result<(), _> = b.run(
            || {
                calls += 1;
                Err(TransportError::Transient("reset".into()))
            },
            |_, _| {},
        );
        assert!(matches!(r, Err(TransportError::Transient(_))));
        assert_eq!(calls, 3);
        calls = 0;
        let r: Result<(), _> = b.run(
            || {
                calls += 1;
                Err(TransportError::Fatal("no".into()))
            },
            |_, _| {},
        );
        assert!(matches!(r, Err(TransportError::Fatal(_))));
        assert_eq!(calls, 1);
    }

    #[test]
    fn pacer_holds_the_rate() {
        let p = Pacer::new(Some(1 << 20));
        let start = Instant::now();
        for _ in 0..4 {
            p.take(128 << 10);
        }
        // 512 KiB at 1 MiB/s: half a second at least.
        assert!(start.elapsed() >= Duration::from_millis(490));
    }
}
