"""The Python side of `bench/compare.sh`: the reference workloads of ../shared/bench/python,
measured with multiprocessing.Pool, ProcessPoolExecutor and joblib (loky), printed as JSON lines
on stdout (progress goes to stderr). The Rust runner (bench/src/main.rs) starts this once per
workload, computes the figures from the raw seconds, and draws the table and the chart.

    python compare.py WORKLOAD        # info, overhead, startup, cpu, latency, payload or crash

Every record has `workload`, `tool` (one of the three tools, or `serial`), `variant` (what
exactly ran), `headline` (the row that stands for the tool in the summary table) and the raw
measurement: `seconds` (a median) with its `samples`, or for `crash` what the caller saw.

Knobs (environment): REPEATS (default 5), ITEMS (overhead, 100000), SLOW_REPEATS (the
chunksize=1 path of the overhead map, 3), WORKERS (cpu, "1,2"), CALLS (cpu, 200), CPU_REPEATS
(cpu, 3), ROUNDS (latency, 2000), PAYLOADS (payload, 100), PAYLOAD_MB (payload, 1).
"""
import json
import multiprocessing as mp
import os
import platform
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor

from tasks import cpu_work, die, nbytes, square

REPEATS = int(os.environ.get("REPEATS", "5"))
POOL, PPE, JOBLIB = "mp.Pool", "ProcessPoolExecutor", "joblib (loky)"


def emit(workload, tool, variant, headline=False, **fields):
    record = {"workload": workload, "tool": tool, "variant": variant, "headline": headline}
    record.update(fields)
    print(json.dumps(record), flush=True)
    seconds = fields.get("seconds")
    shown = f"{seconds * 1e3:.3f} ms" if seconds is not None else fields.get("outcome", "")
    print(f"  python {workload:<8} {variant:<55} {shown}", file=sys.stderr, flush=True)


def timed(fn, expected, repeats=REPEATS, warmup=1):
    """Median seconds of `repeats` runs of fn() after `warmup` untimed ones, and the samples.
    Every run must return `expected`."""
    for _ in range(warmup):
        assert fn() == expected
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - t0)
        assert result == expected
    return statistics.median(samples), samples


def info():
    try:
        import joblib
        from joblib.externals import loky

        joblib_version, loky_version = joblib.__version__, loky.__version__
    except ImportError:
        joblib_version = loky_version = None
    print(json.dumps({
        "workload": "info",
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "joblib": joblib_version,
        "loky": loky_version,
        "start_method": mp.get_start_method(),
        "cpu_count": os.cpu_count(),
    }), flush=True)


def overhead():
    """Bench 1: map x*x over ITEMS ints on warm 2-worker pools."""
    from joblib import Parallel, delayed

    n = int(os.environ.get("ITEMS", "100000"))
    slow = int(os.environ.get("SLOW_REPEATS", "3"))
    data = list(range(n))
    expected = [x * x for x in data]
    pool, ppe = mp.Pool(2), ProcessPoolExecutor(2)
    par = Parallel(n_jobs=2, backend="loky")
    pool.map(square, range(100))
    list(ppe.map(square, range(100)))
    par(delayed(square)(i) for i in range(100))
    cases = [
        ("serial", "[square(x) for x in data]", False, REPEATS,
         lambda: [square(x) for x in data]),
        (POOL, "Pool(2).map (default chunksize)", True, REPEATS,
         lambda: pool.map(square, data)),
        (PPE, "ProcessPoolExecutor(2).map (default chunksize=1)", True, slow,
         lambda: list(ppe.map(square, data))),
        (PPE, "ProcessPoolExecutor(2).map(chunksize=n/8)", False, REPEATS,
         lambda: list(ppe.map(square, data, chunksize=max(1, n // 8)))),
        (JOBLIB, "Parallel(n_jobs=2, backend='loky') (batch_size='auto')", True, slow,
         lambda: par(delayed(square)(x) for x in data)),
    ]
    for tool, variant, headline, repeats, fn in cases:
        # The pools are warm; the slow paths (seconds a run) get no extra warm-up run.
        warmup = 1 if repeats == REPEATS else 0
        seconds, samples = timed(fn, expected, repeats=repeats, warmup=warmup)
        emit("overhead", tool, variant, headline, seconds=seconds, samples=samples, items=n,
             workers=2)
    pool.close()
    pool.join()
    ppe.shutdown()


def startup():
    """Bench 2: create a 2-worker pool and get one trivial result; the first run (imports, a
    forkserver's launch) is reported apart from the median of the others."""
    from joblib import Parallel, delayed
    from joblib.externals import loky

    default = mp.get_start_method()

    def measure(make, run, close):
        samples, first = [], None
        for i in range(REPEATS + 1):
            t0 = time.perf_counter()
            pool = make()
            result = run(pool)
            elapsed = time.perf_counter() - t0
            close(pool)
            assert result == 4
            if i:
                samples.append(elapsed)
            else:
                first = elapsed
        return statistics.median(samples), samples, first

    def close_pool(pool):
        pool.close()
        pool.join()

    for method in [default] + [m for m in ("fork", "forkserver", "spawn") if m != default]:
        ctx = mp.get_context(method)
        seconds, samples, first = measure(lambda: ctx.Pool(2), lambda p: p.apply(square, (2,)),
                                          close_pool)
        emit("startup", POOL, f"Pool(2) [{method}] + apply()", method == default,
             seconds=seconds, samples=samples, first=first, workers=2)
        seconds, samples, first = measure(lambda: ProcessPoolExecutor(2, mp_context=ctx),
                                          lambda p: p.submit(square, 2).result(),
                                          lambda p: p.shutdown(wait=True))
        emit("startup", PPE, f"ProcessPoolExecutor(2) [{method}] + submit().result()",
             method == default, seconds=seconds, samples=samples, first=first, workers=2)

    def cold_joblib():
        # joblib keeps a reusable executor: shut it down so that the call starts it again.
        loky.get_reusable_executor(max_workers=2).shutdown(wait=True)
        return Parallel(n_jobs=2, backend="loky")

    seconds, samples, first = measure(cold_joblib,
                                      lambda p: p(delayed(square)(2) for _ in range(1))[0],
                                      lambda p: None)
    loky.get_reusable_executor(max_workers=2).shutdown(wait=True)
    emit("startup", JOBLIB, "Parallel(n_jobs=2) cold executor + 1 task", True, seconds=seconds,
         samples=samples, first=first, workers=2)


def calibrate(target=0.010):
    """The n for which cpu_work(n) takes about `target` seconds here, and its median time. Each
    step rescales n by the fastest of a few runs: on a busy machine a single run may include time
    when another process had the core."""
    def time_of(n):
        t0 = time.perf_counter()
        cpu_work(n)
        return time.perf_counter() - t0

    n = 10000
    while time_of(n) < 0.002:
        n *= 2
    for _ in range(3):
        n = int(n * target / min(time_of(n) for _ in range(5)))
    samples = [time_of(n) for _ in range(20)]
    return n, statistics.median(samples)


def cpu():
    """Bench 3: CALLS calls of a ~10 ms pure-Python loop, serially and on each worker count. The
    cases take turns, one run each per round, so that a burst of load from other processes on
    the machine does not land on one case only (the speedups compare cases with each other)."""
    from joblib import Parallel, delayed

    workers = [int(w) for w in os.environ.get("WORKERS", "1,2").split(",")]
    calls = int(os.environ.get("CALLS", "200"))
    repeats = int(os.environ.get("CPU_REPEATS", "3"))
    n, per_call = calibrate()
    args = [n] * calls
    expected = [cpu_work(n)] * calls
    common = {"calls": calls, "per_call": per_call, "n": n}

    cases = [("serial", "for loop", 1, lambda: [cpu_work(a) for a in args])]
    pools = []
    for w in workers:
        pool, ppe = mp.Pool(w), ProcessPoolExecutor(w)
        par = Parallel(n_jobs=w, backend="loky")
        pools.append((pool, ppe))
        warm = [1000] * (4 * w)
        pool.map(cpu_work, warm)
        list(ppe.map(cpu_work, warm))
        par(delayed(cpu_work)(a) for a in warm)
        # Default arguments bind this round's pools to the lambdas.
        cases += [
            (POOL, f"Pool({w}).map (default chunksize)", w,
             lambda pool=pool: pool.map(cpu_work, args)),
            (PPE, f"ProcessPoolExecutor({w}).map", w,
             lambda ppe=ppe: list(ppe.map(cpu_work, args))),
            (JOBLIB, f"Parallel(n_jobs={w}, backend='loky')"
             + (" (runs in the caller)" if w == 1 else ""), w,
             lambda par=par: par(delayed(cpu_work)(a) for a in args)),
        ]
    samples = [[] for _ in cases]
    for _ in range(repeats):
        for (_, _, _, fn), times in zip(cases, samples):
            t0 = time.perf_counter()
            result = fn()
            times.append(time.perf_counter() - t0)
            assert result == expected
    for (tool, variant, w, _), times in zip(cases, samples):
        emit("cpu", tool, variant, tool != "serial", seconds=statistics.median(times),
             samples=times, workers=w, **common)
    for pool, ppe in pools:
        pool.close()
        pool.join()
        ppe.shutdown()


def latency():
    """Bench 4: one submit -> result round trip on a warm 2-worker pool, ROUNDS times."""
    from joblib import Parallel, delayed
    from joblib.executor import get_memmapping_executor

    rounds = int(os.environ.get("ROUNDS", "2000"))

    def measure(workload_fn, count, warm=200):
        for _ in range(warm):
            workload_fn()
        samples = []
        for _ in range(count):
            t0 = time.perf_counter()
            workload_fn()
            samples.append(time.perf_counter() - t0)
        ordered = sorted(samples)
        return {"seconds": statistics.median(samples), "p90": ordered[int(0.9 * count)],
                "p99": ordered[min(count - 1, int(0.99 * count))],
                "mean": statistics.mean(samples), "rounds": count, "workers": 2}

    pool = mp.Pool(2)
    emit("latency", POOL, "Pool(2).apply_async(square, (2,)).get()", True,
         **measure(lambda: pool.apply_async(square, (2,)).get(), rounds))
    emit("latency", POOL, "Pool(2).apply(square, (2,))", False,
         **measure(lambda: pool.apply(square, (2,)), rounds))
    pool.close()
    pool.join()
    ppe = ProcessPoolExecutor(2)
    emit("latency", PPE, "ProcessPoolExecutor(2).submit(square, 2).result()", True,
         **measure(lambda: ppe.submit(square, 2).result(), rounds))
    ppe.shutdown()
    # The reusable loky executor that joblib's loky backend runs on, as joblib makes it.
    executor = get_memmapping_executor(2)
    emit("latency", JOBLIB, "joblib's loky executor submit(square, 2).result()", True,
         **measure(lambda: executor.submit(square, 2).result(), rounds))
    par = Parallel(n_jobs=2, backend="loky")
    emit("latency", JOBLIB, "Parallel(n_jobs=2)([delayed(square)(2)])", False,
         **measure(lambda: par(delayed(square)(2) for _ in range(1)), max(50, rounds // 10),
                   warm=20))


def payload():
    """Bench 5: map len() over PAYLOADS bytes objects of PAYLOAD_MB MB on warm 2-worker pools."""
    from joblib import Parallel, delayed

    items = int(os.environ.get("PAYLOADS", "100"))
    size = int(float(os.environ.get("PAYLOAD_MB", "1")) * (1 << 20))
    data = [os.urandom(size) for _ in range(items)]
    expected = [size] * items
    pool, ppe = mp.Pool(2), ProcessPoolExecutor(2)
    par = Parallel(n_jobs=2, backend="loky")
    pool.map(nbytes, [b"x"] * 10)
    list(ppe.map(nbytes, [b"x"] * 10))
    par(delayed(nbytes)(b"x") for _ in range(10))
    cases = [
        (POOL, "Pool(2).map (default chunksize)", True, lambda: pool.map(nbytes, data)),
        (POOL, "Pool(2).map(chunksize=1)", False, lambda: pool.map(nbytes, data, chunksize=1)),
        (PPE, "ProcessPoolExecutor(2).map", True, lambda: list(ppe.map(nbytes, data))),
        (JOBLIB, "Parallel(n_jobs=2, backend='loky')", True,
         lambda: par(delayed(nbytes)(b) for b in data)),
    ]
    for tool, variant, headline, fn in cases:
        seconds, samples = timed(fn, expected)
        emit("payload", tool, variant, headline, seconds=seconds, samples=samples, items=items,
             bytes=size * items, workers=2)
    pool.close()
    pool.join()
    ppe.shutdown()


def crash():
    """Bench 6: item 3 of 8 SIGKILLs its worker mid-map. What the caller sees, how long until it
    sees it (HANG when nothing comes within the 5 s guard), and whether the same pool object
    runs the next job."""
    from joblib import Parallel, delayed

    def attempt(run):
        t0 = time.perf_counter()
        try:
            result = run()
            return f"no error: {result}", time.perf_counter() - t0
        except mp.TimeoutError:
            return "HANG: the map never returns (5 s guard)", time.perf_counter() - t0
        except Exception as e:  # noqa: BLE001 - whatever the tool raises is the result
            return f"raises {type(e).__name__}", time.perf_counter() - t0

    def ok(outcome):
        return "works" if outcome.startswith("no error") else outcome

    pool = mp.Pool(2)
    pool.map(square, range(4))
    seen, seconds = attempt(lambda: pool.map_async(die, range(8)).get(timeout=5))
    after, _ = attempt(lambda: pool.map_async(square, range(8)).get(timeout=5))
    emit("crash", POOL, "Pool(2).map", True, outcome=seen, seconds=seconds, next_job=ok(after))
    pool.terminate()
    ppe = ProcessPoolExecutor(2)
    list(ppe.map(square, range(4)))
    seen, seconds = attempt(lambda: list(ppe.map(die, range(8), timeout=5)))
    after, _ = attempt(lambda: list(ppe.map(square, range(8), timeout=5)))
    emit("crash", PPE, "ProcessPoolExecutor(2).map", True, outcome=seen, seconds=seconds,
         next_job=ok(after))
    ppe.shutdown(wait=False)
    par = Parallel(n_jobs=2, backend="loky", timeout=5)
    par(delayed(square)(i) for i in range(4))
    seen, seconds = attempt(lambda: par(delayed(die)(i) for i in range(8)))
    after, _ = attempt(lambda: par(delayed(square)(i) for i in range(8)))
    emit("crash", JOBLIB, "Parallel(n_jobs=2, backend='loky')", True, outcome=seen,
         seconds=seconds, next_job=ok(after))


WORKLOADS = {"info": info, "overhead": overhead, "startup": startup, "cpu": cpu,
             "latency": latency, "payload": payload, "crash": crash}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in WORKLOADS:
        sys.exit(f"usage: {sys.argv[0]} {{{','.join(WORKLOADS)}}}")
    WORKLOADS[sys.argv[1]]()
