//! Feeds decoded transactions to an output plugin, the way PostgreSQL calls a plugin's
//! begin, change, commit and message callbacks, with the expensive part (deforming tuples and
//! printing values) done in parallel.
//!
//! Changes are gathered across transactions into batches: each change is classified in order
//! (relation lookup, TOAST chunks, which need the changes before it), the batch's rows are
//! rendered on rayon's threads, and the plugin then sees every callback in order. The output
//! is the same whatever the number of threads. With one or two threads each change is
//! passed to the plugin as it comes: one thread has nothing to share, and with two the WAL is
//! already decoded on the other one (`decode::pump`), so rendering on more threads would only
//! compete with it. Plugins that can print values straight from the tuples then do
//! ([`Plugin::change_from_tuples`]: test_decoding, wal2json format 2 without `include-pk`,
//! `include-not-null` and `include-column-positions`, and LCR files); the others get rows
//! rendered in buffers reused from row to row.

use std::rc::Rc;

use rayon::prelude::*;

use crate::catalog::Catalog;
use crate::logical::{Change, ChangeStream, Event, Message, Txn};
use crate::tuple::types::OutputContext;

use super::{Job, OutputError, Resolved, Resolver, Row, Sink};

/// An output plugin's callbacks.
pub trait Plugin<'c> {
    /// Whether a whole transaction is left out (nothing is called for it).
    fn skips_txn(&self, _txn: &Txn) -> bool {
        false
    }

    /// Whether the changes made under this replication origin are left out.
    fn skips_origin(&self, _origin: Option<u16>) -> bool {
        false
    }

    fn begin(&mut self, txn: &Txn, out: &mut Sink<'_>) -> Result<(), OutputError>;

    /// A change shown to the plugin (catalog changes and TOAST chunks never are).
    fn change(
        &mut self,
        txn: &Txn,
        change: &Change,
        resolved: &Resolved<'c>,
        out: &mut Sink<'_>,
    ) -> Result<(), OutputError>;

    /// Writes an INSERT, UPDATE or DELETE straight from the change's tuples
    /// ([`Job::for_each_value`]), one copy of each value fewer than from rendered rows; `false`
    /// when the plugin does not, and [`Plugin::change`] is called with rendered rows instead.
    /// Used when changes are rendered one by one (one or two threads).
    fn change_from_tuples(
        &mut self,
        _txn: &Txn,
        _change: &Change,
        _job: &Job<'c>,
        _ctx: &OutputContext,
        _out: &mut Sink<'_>,
    ) -> Result<bool, OutputError> {
        Ok(false)
    }

    /// The transaction's end: COMMIT, PREPARE, COMMIT PREPARED, ROLLBACK PREPARED.
    fn end(&mut self, txn: &Txn, out: &mut Sink<'_>) -> Result<(), OutputError>;

    /// A non-transactional logical message.
    fn message(&mut self, msg: &Message, out: &mut Sink<'_>) -> Result<(), OutputError>;

    /// The changes that follow see this catalog version (after DDL).
    fn set_catalog(&mut self, catalog: &'c Catalog);
}

enum Step<'c> {
    Begin(Rc<Txn>),
    /// The change at this index of the batch's jobs.
    Change(Rc<Txn>, usize),
    End(Rc<Txn>),
    Message(Message),
    Catalog(&'c Catalog),
}

pub struct Driver<'c, P> {
    plugin: P,
    resolver: Resolver<'c>,
    steps: Vec<Step<'c>>,
    /// The catalog version the plugin was last given.
    catalog: &'c Catalog,
    jobs: Vec<(Change, Job<'c>)>,
    /// Tuple bytes in `jobs`.
    job_bytes: usize,
    /// Render each change when it comes instead of batching (one or two threads).
    inline: bool,
    /// Rows whose buffers the next renderings reuse (inline mode).
    spare_rows: Vec<Row<'c>>,
}

impl<'c, P: Plugin<'c>> Driver<'c, P> {
    /// Rows rendered together: enough to keep threads busy and amortise their start.
    const BATCH_CHANGES: usize = 4096;
    /// Tuple bytes held in one batch: bounds memory whatever the row size.
    const BATCH_BYTES: usize = 8 << 20;

    pub fn new(plugin: P, resolver: Resolver<'c>) -> Driver<'c, P> {
        Driver {
            plugin,
            catalog: resolver.catalog(),
            resolver,
            steps: Vec::new(),
            jobs: Vec::new(),
            job_bytes: 0,
            inline: rayon::current_num_threads() <= 2,
            spare_rows: Vec::new(),
        }
    }

    /// The plugin, once the driver is done.
    pub fn into_plugin(self) -> P {
        self.plugin
    }

    fn event(&mut self, event: Event, out: &mut Sink<'_>) -> Result<(), OutputError> {
        match event {
            Event::Message(msg) if self.inline => {
                self.plugin.message(&msg, out)?;
                out.maybe_flush()?;
            }
            Event::Message(msg) => self.steps.push(Step::Message(msg)),
            Event::Txn(txn, changes) => self.txn(txn, changes, out)?,
        }
        if self.steps.len() >= Self::BATCH_CHANGES {
            self.flush(out)?;
        }
        Ok(())
    }

    fn txn(
        &mut self,
        txn: Txn,
        mut changes: ChangeStream,
        out: &mut Sink<'_>,
    ) -> Result<(), OutputError> {
        if self.plugin.skips_txn(&txn) {
            return Ok(());
        }
        let txn = Rc::new(txn);
        if self.inline {
            self.plugin.begin(&txn, out)?;
            out.maybe_flush()?;
        } else {
            self.steps.push(Step::Begin(txn.clone()));
        }
        self.resolver.begin(&txn.catalogs);
        while let Some(change) = changes.next_change()? {
            if self.plugin.skips_origin(change.origin) {
                continue;
            }
            let more_from_same_record = changes.peek_lsn() == Some(change.lsn);
            let job = match self.resolver.classify(&change, more_from_same_record) {
                Ok(Some(job)) => job,
                Ok(None) => continue,
                Err(e) => {
                    // What came before the bad change is written, as PostgreSQL would have.
                    self.flush(out)?;
                    return Err(e);
                }
            };
            if !std::ptr::eq(job.catalog(), self.catalog) {
                self.catalog = job.catalog();
                if self.inline {
                    self.plugin.set_catalog(self.catalog);
                } else {
                    self.steps.push(Step::Catalog(self.catalog));
                }
            }
            if self.inline {
                let ctx = self.resolver.output_context();
                // Rows are rendered only for a plugin that does not write from the tuples.
                let rendered = self
                    .plugin
                    .change_from_tuples(&txn, &change, &job, ctx, out)
                    .and_then(|written| match written {
                        true => Ok(None),
                        false => job
                            .render_reusing(&change, ctx, &mut self.spare_rows)
                            .map(Some),
                    });
                if let Some(resolved) = rendered? {
                    self.plugin.change(&txn, &change, &resolved, out)?;
                    resolved.recycle(&mut self.spare_rows);
                }
                out.maybe_flush()?;
                continue;
            }
            self.job_bytes += change.tuple_bytes();
            self.steps.push(Step::Change(txn.clone(), self.jobs.len()));
            self.jobs.push((change, job));
            if self.jobs.len() >= Self::BATCH_CHANGES || self.job_bytes >= Self::BATCH_BYTES {
                self.flush(out)?;
            }
        }
        if self.inline {
            self.plugin.end(&txn, out)?;
            out.maybe_flush()?;
        } else {
            self.steps.push(Step::End(txn));
        }
        Ok(())
    }

    /// Renders the batch's rows in parallel and calls the plugin for every step in order.
    fn flush(&mut self, out: &mut Sink<'_>) -> Result<(), OutputError> {
        let ctx = self.resolver.output_context();
        let rendered: Vec<Result<Resolved<'c>, OutputError>> = self
            .jobs
            .par_iter()
            .with_min_len(64)
            .map(|(change, job)| job.render(change, ctx))
            .collect();
        let mut rendered = rendered.into_iter();
        for step in self.steps.drain(..) {
            match step {
                Step::Begin(txn) => self.plugin.begin(&txn, out)?,
                Step::Change(txn, i) => {
                    let resolved = rendered.next().expect("one rendering per job")?;
                    self.plugin.change(&txn, &self.jobs[i].0, &resolved, out)?;
                }
                Step::End(txn) => self.plugin.end(&txn, out)?,
                Step::Message(msg) => self.plugin.message(&msg, out)?,
                Step::Catalog(catalog) => self.plugin.set_catalog(catalog),
            }
            out.maybe_flush()?;
        }
        self.jobs.clear();
        self.job_bytes = 0;
        Ok(())
    }
}

/// A driver, whatever its plugin.
pub trait Events {
    /// Passes one decoded event on; the output may lag until [`Events::finish`].
    fn event(&mut self, event: Event, out: &mut Sink<'_>) -> Result<(), OutputError>;

    /// Writes everything still batched.
    fn finish(&mut self, out: &mut Sink<'_>) -> Result<(), OutputError>;
}

impl<'c, P: Plugin<'c>> Events for Driver<'c, P> {
    fn event(&mut self, event: Event, out: &mut Sink<'_>) -> Result<(), OutputError> {
        Driver::event(self, event, out)
    }

    fn finish(&mut self, out: &mut Sink<'_>) -> Result<(), OutputError> {
        self.flush(out)
    }
}
