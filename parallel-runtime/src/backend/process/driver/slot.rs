//! A worker that any thread can drive: its driver thread, or a caller that sent it a call
//! directly and waits for the answer itself.
//!
//! A call through the pool's queue passes three threads: the caller, the driver and the worker.
//! On a machine with fewer free cores than that, every hand-over waits for one (a round trip
//! then takes several microseconds, most of them in the kernel). So when nothing waits in the
//! queue and a worker is free (running, nothing in flight, nobody driving it),
//! `ProcessPool::spawn` sends the call to it from the caller's thread, and the task's `join`
//! reads the reply on the caller's thread as well: two threads take part, not three.
//!
//! Whoever drives a worker holds its lock, so one thread at a time writes to it and reads its
//! replies, with the same code (`Driver`) whichever thread it is: batching, retries, timeouts
//! and blaming a call that kills its worker do not depend on who drives. A task sent this way
//! is in its caller's charge only while the caller joins it; waiting any other way (polling
//! `is_finished`, a timeout, `.await`, `as_completed`), cancelling it or dropping it hands the
//! worker to the drivers through the queue, and a driver answers it.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};

use super::{Driver, Drivers};
use crate::backend::process::queue::{Attend, Job};
use crate::backend::process::request::Request;
use crate::backend::process::transport::Transport;
use crate::task::Attendant;
use crate::wait::spin::spin_until;

/// One worker of a pool, and the state of driving it.
pub(in crate::backend::process) struct Slot<T: Transport> {
    driver: Mutex<Driver<T>>,
    drivers: Arc<Drivers>,
    /// Set while the thread that holds `driver` answers every call in flight before it lets
    /// go: its driver thread running requests, a driver attending, or a caller joining the
    /// call it sent (a worker takes a direct call only with nothing else in flight). A worker
    /// handed over meanwhile needs nobody else.
    draining: AtomicBool,
}

/// A worker a caller may send a call to directly, as the pool sees it.
pub(in crate::backend::process) trait DirectWorker:
    Send + Sync
{
    /// Sends `request` to the worker now if it is free, and returns who drives it for the
    /// task; gives the request back otherwise.
    #[expect(
        clippy::result_large_err,
        reason = "the request comes back as it went, to be queued: boxing it would allocate on every call"
    )]
    fn try_send(self: Arc<Self>, request: Request) -> Result<Arc<dyn Attendant>, Request>;
    /// Whether the worker is free: running, nothing in flight, nobody driving it.
    fn is_free(&self) -> bool;
}

impl<T: Transport + Send + 'static> Slot<T> {
    pub(in crate::backend::process) fn new(drivers: Arc<Drivers>) -> Arc<Self> {
        Arc::new(Slot {
            driver: Mutex::new(Driver::new(Arc::clone(&drivers))),
            drivers,
            draining: AtomicBool::new(false),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Driver<T>> {
        // `run` catches every panic under the lock: it is never poisoned, but a poisoned one
        // would still hold a sound driver.
        self.driver.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `work` on the driver. A panic there is a bug of the runtime, not of a task (tasks
    /// run in the worker, and the user's `Deserialize` is caught where it runs): the driver is
    /// dropped, which kills its worker and answers its requests as cancelled, and a new one
    /// takes its place.
    fn run(&self, driver: &mut Driver<T>, work: impl FnOnce(&mut Driver<T>)) {
        if catch_unwind(AssertUnwindSafe(|| work(driver))).is_err() {
            *driver = Driver::new(Arc::clone(&self.drivers));
        }
    }

    /// [`run`](Slot::run)s `work`, which answers every call in flight before it returns.
    fn run_to_idle(&self, driver: &mut Driver<T>, work: impl FnOnce(&mut Driver<T>)) {
        self.draining.store(true, Ordering::SeqCst);
        self.run(driver, work);
        self.draining.store(false, Ordering::SeqCst);
    }

    /// The loop of the worker's driver thread, until the pool is gone and every call it holds
    /// is answered.
    pub(in crate::backend::process) fn drive(&self) {
        // A warm worker from the start.
        self.run(&mut self.lock(), |driver| {
            let _ = driver.start_worker();
        });
        while let Some(job) = self.drivers.next_job() {
            match job {
                Job::Run(request) => {
                    let mut driver = match self.driver.try_lock() {
                        Ok(driver) => driver,
                        Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
                        Err(TryLockError::WouldBlock) => {
                            // A caller drives the worker: the request goes to the next free
                            // driver, and this one waits until its worker is free again.
                            self.drivers.queue.push_front(request);
                            drop(self.lock());
                            continue;
                        }
                    };
                    self.run_to_idle(&mut driver, |driver| driver.run(request));
                }
                Job::Attend(worker) => worker.attend(),
            }
        }
        self.run_to_idle(&mut self.lock(), Driver::finish);
    }
}

impl<T: Transport + Send + 'static> Attend for Slot<T> {
    fn attend(&self) {
        let mut driver = match self.driver.try_lock() {
            Ok(driver) => driver,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            // Its holder answers the calls in flight, the one handed over too: this driver
            // goes back to the queue rather than wait behind it.
            Err(TryLockError::WouldBlock) if self.draining.load(Ordering::SeqCst) => return,
            // Held for an instant (a caller looking whether the worker is free).
            Err(TryLockError::WouldBlock) => self.lock(),
        };
        self.run_to_idle(&mut driver, |driver| driver.drain(&|| false));
    }
}

impl<T: Transport + Send + 'static> DirectWorker for Slot<T> {
    fn try_send(self: Arc<Self>, request: Request) -> Result<Arc<dyn Attendant>, Request> {
        let mut driver = match self.driver.try_lock() {
            Ok(driver) => driver,
            Err(_) => return Err(request),
        };
        if !driver.free_for(&request) {
            return Err(request);
        }
        self.run(&mut driver, |driver| driver.send_unless_cancelled(request));
        drop(driver);
        Ok(Arc::new(DirectCall {
            slot: self,
            handed_off: AtomicBool::new(false),
        }))
    }

    fn is_free(&self) -> bool {
        self.driver.try_lock().is_ok_and(|driver| driver.is_free())
    }
}

/// A call a caller sent to a worker itself: its `join` drives the worker.
struct DirectCall<T: Transport> {
    slot: Arc<Slot<T>>,
    handed_off: AtomicBool,
}

impl<T: Transport + Send + 'static> Attendant for DirectCall<T> {
    fn attend(&self, finished: &dyn Fn() -> bool) {
        if self.handed_off.load(Ordering::Acquire) {
            return;
        }
        // Another thread may hold the worker: a caller looking whether it is free (for an
        // instant), or its driver, which took a request from the queue and answers every call
        // in flight, this one too, before it lets go.
        let mut held = None;
        spin_until(|| {
            if finished() {
                return true;
            }
            match self.slot.driver.try_lock() {
                Ok(driver) => held = Some(driver),
                Err(TryLockError::Poisoned(poisoned)) => held = Some(poisoned.into_inner()),
                Err(TryLockError::WouldBlock) => {}
            }
            held.is_some()
        });
        match held {
            Some(mut driver) => {
                self.slot
                    .run_to_idle(&mut driver, |driver| driver.drain(finished));
            }
            // Still held: the drivers make sure the call is answered.
            None if !finished() => self.hand_off(),
            None => {}
        }
    }

    fn hand_off(&self) {
        if !self.handed_off.swap(true, Ordering::AcqRel) {
            let slot: Arc<dyn Attend> = self.slot.clone();
            self.slot.drivers.queue.push_attend(slot);
        }
    }
}
