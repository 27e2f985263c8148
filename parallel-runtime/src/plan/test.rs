use std::collections::HashSet;
use std::thread;

use super::*;
use crate::config::Workers;

/// Options that leave nothing for the environment to fill in.
fn explicit(backend: Backend, workers: i64) -> Options {
    Options {
        backend: Some(backend),
        workers: Some(Workers::new(workers).unwrap()),
        ..Options::new()
    }
}

/// The size of rayon's global pool, asked outside any pool.
fn global_size() -> usize {
    thread::spawn(rayon::current_num_threads).join().unwrap()
}

#[test]
fn plan_picks_threads_with_the_worker_count() {
    match plan(explicit(Backend::Threads, 5)) {
        Plan::Threads(workers) => assert_eq!(workers, Some(5)),
        other => panic!("expected threads, got {other:?}"),
    }
}

#[test]
fn plan_picks_a_rayon_pool_of_the_requested_size_and_shares_it() {
    let size = global_size() + 1;
    let Plan::Rayon(pool) = plan(explicit(Backend::Rayon, size as i64)) else {
        panic!("expected rayon");
    };
    assert_eq!(pool.workers(), size);
    let name = pool.install(|| thread::current().name().map(str::to_owned));
    let expected = format!("parallel-rayon{size}-");
    assert!(
        name.as_deref().is_some_and(|n| n.starts_with(&expected)),
        "{name:?}"
    );

    // A second call with the same size reuses the same threads.
    let Plan::Rayon(again) = plan(explicit(Backend::Rayon, size as i64)) else {
        panic!("expected rayon");
    };
    let first = pool.install(|| rayon::broadcast(|_| thread::current().id()));
    let second = again.install(|| rayon::broadcast(|_| thread::current().id()));
    let (first, second): (HashSet<_>, HashSet<_>) =
        (first.into_iter().collect(), second.into_iter().collect());
    assert_eq!(first, second);
}

#[test]
fn plan_uses_the_global_pool_when_its_size_is_asked_for() {
    let Plan::Rayon(pool) = plan(explicit(Backend::Rayon, global_size() as i64)) else {
        panic!("expected rayon");
    };
    assert!(format!("{pool:?}").contains("global: true"), "{pool:?}");
}

#[test]
fn plan_defaults_to_the_global_rayon_pool() {
    if env_options() != Ok(Options::new()) {
        eprintln!("skipped: PARALLEL_BACKEND or PARALLEL_WORKERS is set");
        return;
    }
    match plan(Options::new()) {
        Plan::Rayon(pool) => assert!(format!("{pool:?}").contains("global: true"), "{pool:?}"),
        other => panic!("expected rayon, got {other:?}"),
    }
    let threads = Options {
        backend: Some(Backend::Threads),
        ..Options::new()
    };
    match plan(threads) {
        Plan::Threads(workers) => assert_eq!(workers, None),
        other => panic!("expected threads, got {other:?}"),
    }
}
