"""The Python side of `compare_mpi` (bench/src/compare_mpi.rs): mpi4py.futures' MPIPoolExecutor
on the same workloads as `parallel`'s MPI backend, printed as one JSON line on stdout.

    mpirun -n 3 python -m mpi4py.futures mpi_compare.py

Rank 0 runs this script; the other ranks serve the executor. Knobs (environment): REPEATS (3),
ROUNDS (2000), ITEMS (100000), CALLS (2000), PAYLOADS (100), CPU_CALLS_PER_WORKER (8).
"""
import json
import os
import statistics
import time

from mpi4py.futures import MPIPoolExecutor

REPEATS = int(os.environ.get("REPEATS", "3"))
ROUNDS = int(os.environ.get("ROUNDS", "2000"))
ITEMS = int(os.environ.get("ITEMS", "100000"))
CALLS = int(os.environ.get("CALLS", "2000"))
PAYLOADS = int(os.environ.get("PAYLOADS", "100"))
CPU_CALLS_PER_WORKER = int(os.environ.get("CPU_CALLS_PER_WORKER", "8"))


def square(x):
    return x * x


def size_of(blob):
    return len(blob)


def busy_10ms(_):
    end = time.perf_counter() + 0.010
    spins = 0
    while time.perf_counter() < end:
        spins += 1
    return spins


def median_seconds(run, repeats=REPEATS):
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main():
    with MPIPoolExecutor() as pool:
        workers = pool.num_workers
        list(pool.map(square, range(1000)))
        rounds = []
        for i in range(ROUNDS):
            start = time.perf_counter()
            assert pool.submit(square, i).result() == i * i
            rounds.append(time.perf_counter() - start)
        chunk = max(1, ITEMS // (8 * workers))
        mapped = median_seconds(lambda: sum(pool.map(square, range(ITEMS), chunksize=chunk)))
        unbatched = median_seconds(lambda: sum(pool.map(square, range(CALLS))))
        blobs = [bytes(1 << 20) for _ in range(PAYLOADS)]
        payload = median_seconds(lambda: sum(pool.map(size_of, blobs)))
        cpu_calls = CPU_CALLS_PER_WORKER * workers
        cpu = median_seconds(lambda: list(pool.map(busy_10ms, range(cpu_calls))))
        print(json.dumps({
            "tool": "mpi4py.futures",
            "workers": workers,
            "round_trip_us": statistics.median(rounds) * 1e6,
            "map_us_per_item": mapped / ITEMS * 1e6,
            "unbatched_us_per_call": unbatched / CALLS * 1e6,
            "payload_gb_per_s": PAYLOADS * (1 << 20) / payload / 1e9,
            "cpu_speedup": cpu_calls * 0.010 / cpu,
        }), flush=True)


if __name__ == "__main__":
    main()
