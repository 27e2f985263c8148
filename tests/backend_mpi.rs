//! The MPI backend, on the worker ranks of a job.
//!
//! Needs the `mpi` feature. Run it both ways (`.ci/run` does):
//!
//! - launched: `mpirun -n 3 --oversubscribe target/debug/deps/backend_mpi-*` (rank 0 runs the
//!   tests, ranks 1 and 2 serve them; add `--mca btl tcp,self` for the network path);
//! - alone: `cargo test --features mpi --test backend_mpi` (the pool spawns its ranks).
#![cfg(all(unix, feature = "mpi"))]

mod common;

use std::time::Duration;

use parallel::{ErrorKind, MpiPool, as_completed, parallel};

fn pool() -> MpiPool {
    common::quiet_expected_panics();
    MpiPool::builder().build().expect("MPI workers")
}

#[parallel]
fn square(n: u64) -> u64 {
    n * n
}

#[parallel]
fn where_am_i(_: u32) -> (u32, Option<String>) {
    (
        std::process::id(),
        std::env::var("OMPI_COMM_WORLD_RANK").ok(),
    )
}

#[parallel]
fn picky(n: u32) -> Result<u32, String> {
    match n % 10 {
        3 => panic!("no threes: {n}"),
        7 => Err(format!("no sevens: {n}")),
        _ => Ok(n),
    }
}

#[parallel]
fn checksum(bytes: Vec<u8>) -> (usize, u64) {
    (bytes.len(), bytes.iter().map(|&b| u64::from(b)).sum())
}

#[parallel]
fn echo(bytes: Vec<u8>) -> Vec<u8> {
    bytes
}

#[parallel]
fn checksum_buf(bytes: serde_bytes::ByteBuf) -> (usize, u64) {
    (bytes.len(), bytes.iter().map(|&b| u64::from(b)).sum())
}

#[parallel]
fn checksum_tagged(bytes: Vec<u8>, tag: u32) -> (usize, u64, u32) {
    let (len, sum) = checksum(bytes);
    (len, sum, tag)
}

#[parallel]
fn checksum_both(first: Vec<u8>, tag: u32, second: serde_bytes::ByteBuf) -> [(usize, u64); 2] {
    let second = checksum(second.into_vec());
    let (len, sum) = checksum(first);
    [(len, sum + u64::from(tag)), second]
}

/// Byte strings of `len` bytes, each different.
fn blobs(lens: &[usize]) -> Vec<Vec<u8>> {
    lens.iter()
        .enumerate()
        .map(|(at, &len)| (0..len).map(|i| (i * 31 + at * 7) as u8).collect())
        .collect()
}

fn sums(blobs: &[Vec<u8>]) -> Vec<(usize, u64)> {
    blobs
        .iter()
        .map(|b| (b.len(), b.iter().map(|&x| u64::from(x)).sum()))
        .collect()
}

#[parallel]
fn nap(ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    ms
}

#[test]
fn tasks_run_on_other_processes_than_main() {
    let pool = pool();
    assert!(pool.workers() >= 1);
    let places: Vec<(u32, Option<String>)> =
        pool.map(where_am_i, 0..64).map(Result::unwrap).collect();
    assert!(places.iter().all(|(pid, _)| *pid != std::process::id()));
    // Launched by mpirun, the workers are ranks other than 0.
    if std::env::var_os("OMPI_COMM_WORLD_RANK").is_some() {
        assert!(places.iter().all(|(_, rank)| rank.as_deref() != Some("0")));
    }
}

#[test]
fn an_ordered_map_returns_results_in_input_order() {
    let squares: Vec<u64> = pool().map(square, 0..2_000).map(Result::unwrap).collect();
    assert_eq!(squares, (0..2_000).map(|n| n * n).collect::<Vec<_>>());
}

#[test]
fn an_unordered_map_yields_every_index_once() {
    let mut seen: Vec<(usize, u64)> = pool()
        .map_unordered(square, 0..500)
        .map(|(i, r)| (i, r.unwrap()))
        .collect();
    seen.sort_unstable();
    assert_eq!(
        seen,
        (0..500).map(|n| (n as usize, n * n)).collect::<Vec<_>>()
    );
}

#[test]
fn a_million_small_items_are_batched() {
    let sum: u64 = pool()
        .map(square, 0..1_000_000u64)
        .map(Result::unwrap)
        .sum();
    assert_eq!(sum, (0..1_000_000u64).map(|n| n * n).sum::<u64>());
}

#[test]
fn spawned_tasks_complete_through_as_completed() {
    let pool = pool();
    let tasks: Vec<_> = (0..20).map(|n| pool.spawn(square, (n,))).collect();
    let mut done: Vec<(usize, u64)> = as_completed(tasks).map(|(i, r)| (i, r.unwrap())).collect();
    done.sort_unstable();
    assert_eq!(
        done,
        (0..20).map(|n| (n as usize, n * n)).collect::<Vec<_>>()
    );
}

#[test]
fn panics_and_errors_fail_only_their_calls_and_the_ranks_serve_on() {
    let pool = pool();
    let results: Vec<_> = pool.map(picky, 0..100).collect();
    for (n, result) in results.iter().enumerate() {
        match n % 10 {
            3 => {
                let err = result.as_ref().unwrap_err();
                assert!(matches!(err.kind(), ErrorKind::Panicked { .. }), "{err}");
                assert_eq!(err.index(), Some(n));
                assert_eq!(
                    err.panic_message(),
                    Some(format!("no threes: {n}").as_str())
                );
                assert!(err.to_string().contains("picky"), "{err}");
            }
            7 => assert_eq!(result.as_ref().unwrap(), &Err(format!("no sevens: {n}"))),
            _ => assert_eq!(result.as_ref().unwrap(), &Ok(n as u32)),
        }
    }
    // Every rank serves on.
    let after: Vec<u64> = pool.map(square, 0..100).map(Result::unwrap).collect();
    assert_eq!(after.len(), 100);
}

#[test]
fn large_payloads_arrive_whole() {
    let pool = pool();
    let payloads: Vec<Vec<u8>> = (0..8u8)
        .map(|i| (0..4 << 20).map(|j: u32| (j as u8) ^ i).collect())
        .collect();
    let expected: Vec<(usize, u64)> = payloads
        .iter()
        .map(|p| (p.len(), p.iter().map(|&b| u64::from(b)).sum()))
        .collect();
    let sums: Vec<_> = pool
        .map(checksum, payloads.clone())
        .map(Result::unwrap)
        .collect();
    assert_eq!(sums, expected);
    let back: Vec<Vec<u8>> = pool
        .map(echo, payloads.clone())
        .map(Result::unwrap)
        .collect();
    assert!(back == payloads);
}

/// Byte strings of 64 KiB and more cross from the caller's memory as messages of their own,
/// beside the request that holds the smaller ones: every size on either side of that bound, in
/// one batch, as `Vec<u8>` and `ByteBuf`, by map and by single calls, arrives whole and in its
/// place.
#[test]
fn byte_strings_on_either_side_of_the_bound_cross_whole_in_one_batch() {
    let pool = pool();
    let lens = [
        0,
        1,
        (64 << 10) - 1,
        64 << 10,
        (64 << 10) + 1,
        3,
        1 << 20,
        200_000,
        127,
        128,
        5 << 20,
    ];
    let payloads = blobs(&lens);
    let expected = sums(&payloads);
    let mapped: Vec<(usize, u64)> = pool
        .map(checksum, payloads.clone())
        .chunk(lens.len())
        .map(Result::unwrap)
        .collect();
    assert_eq!(mapped, expected);
    let echoed: Vec<Vec<u8>> = pool
        .map(echo, payloads.clone())
        .chunk(4)
        .map(Result::unwrap)
        .collect();
    assert!(echoed == payloads);
    let buffers: Vec<serde_bytes::ByteBuf> = payloads
        .iter()
        .cloned()
        .map(serde_bytes::ByteBuf::from)
        .collect();
    let mapped: Vec<(usize, u64)> = pool
        .map(checksum_buf, buffers.clone())
        .chunk(3)
        .map(Result::unwrap)
        .collect();
    assert_eq!(mapped, expected);
    for ((payload, buffer), sum) in payloads.iter().zip(buffers).zip(&expected) {
        assert_eq!(
            &pool.spawn(checksum, (payload.clone(),)).join().unwrap(),
            sum
        );
        assert_eq!(&pool.spawn(checksum_buf, (buffer,)).join().unwrap(), sum);
        // Beside another argument too.
        let (len, total, tag) = pool
            .spawn(checksum_tagged, (payload.clone(), 9))
            .join()
            .unwrap();
        assert_eq!(((len, total), tag), (*sum, 9));
    }
    // Two byte strings and a number in each call, every pair of sizes in one batch: a call
    // may carry two parts, one, or none.
    let calls: Vec<(Vec<u8>, u32, serde_bytes::ByteBuf)> = payloads
        .iter()
        .zip(payloads.iter().rev())
        .map(|(first, second)| (first.clone(), 1, second.clone().into()))
        .collect();
    let both: Vec<[(usize, u64); 2]> = pool
        .starmap(checksum_both, calls)
        .chunk(lens.len())
        .map(Result::unwrap)
        .collect();
    let expected_both: Vec<[(usize, u64); 2]> = expected
        .iter()
        .zip(expected.iter().rev())
        .map(|(&(len, sum), &second)| [(len, sum + 1), second])
        .collect();
    assert_eq!(both, expected_both);
}

#[test]
fn a_late_call_times_out_and_its_rank_serves_again_after() {
    let pool = MpiPool::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let err = pool.spawn(nap, (1_500,)).join().unwrap_err();
    assert!(err.is_timeout(), "{err}");
    // Every rank answers again (the late one once its call ends).
    let naps: Vec<u64> = pool
        .map(nap, vec![1; 2 * pool.workers()])
        .map(Result::unwrap)
        .collect();
    assert_eq!(naps, vec![1; 2 * pool.workers()]);
}

#[parallel(backend = mpi)]
fn pid_by_default(_: u32) -> u32 {
    std::process::id()
}

#[test]
fn the_macros_run_on_mpi() {
    let squares: Vec<u64> = parallel::par_map!(square, 0..100u64; backend = mpi);
    assert_eq!(squares, (0..100).map(|n| n * n).collect::<Vec<_>>());
    let (a, b) = parallel::par_join!(square(3), square(4); backend = mpi);
    assert_eq!((a, b), (9, 16));
    // The function's own default.
    let pids: Vec<u32> = parallel::par_map!(pid_by_default, 0..10u32);
    assert!(pids.iter().all(|&pid| pid != std::process::id()));
}

#[test]
fn parallel_backend_mpi_routes_calls_that_name_no_backend() {
    assert_eq!(
        "mpi".parse::<parallel::Backend>(),
        Ok(parallel::Backend::Mpi)
    );
    // This program's MPI is up before the child starts its own: Open MPI 4.1 fails a start that
    // races another's for their shared session directory.
    let _ = pool();
    // In a program of its own, started alone (without the launcher's variables), which spawns
    // its ranks.
    let mut command = std::process::Command::new(std::env::current_exe().unwrap());
    command
        .args([
            "--exact",
            "--ignored",
            "--nocapture",
            "runs_where_parallel_backend_says",
        ])
        .env("PARALLEL_BACKEND", "mpi");
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if ["OMPI_", "PMIX_", "PMI_", "SLURM_"]
            .iter()
            .any(|p| name.starts_with(p))
        {
            command.env_remove(&*name);
        }
    }
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("1 passed"), "{stdout}");
}

#[parallel]
fn pid(_: u32) -> u32 {
    std::process::id()
}

#[test]
#[ignore = "run by `parallel_backend_mpi_routes_calls_that_name_no_backend`"]
fn runs_where_parallel_backend_says() {
    assert_eq!(std::env::var("PARALLEL_BACKEND").as_deref(), Ok("mpi"));
    let pids: Vec<u32> = parallel::par_map!(pid, 0..10u32);
    assert!(pids.iter().all(|&pid| pid != std::process::id()));
}
