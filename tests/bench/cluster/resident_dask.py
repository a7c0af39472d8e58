"""The resident-data benchmark's Dask reference (docs/benchmarks.md, "Resident data").

The same work as resident.pasm, as a Dask user writes it: x and y created on
the workers of a LocalCluster (2 worker processes, 1 thread each) and
persisted there, 50 x `y = a*x + y` (argv[2] to change it), then the sum of y computed and its last
four elements read. Two ways a Dask user writes the loop, timed in turn on
the same cluster:
  each: y persisted after every iteration (Dask's advice for iterative
        algorithms: the graph stays one layer deep, each y is computed and
        kept on the workers, as Polymer's launches are);
  once: the 50 steps built lazily and y persisted once at the end (Dask
        fuses the 50 element-wise steps into one task per chunk).
Called by resident_bench (argv[1]: timed rounds, default 1); prints one `key value...` line per figure.
Exits 3 with a line on stderr when Dask is not installed.
"""
import sys
import time

try:
    import dask.array as da
    import numpy as np
    from dask.distributed import Client, LocalCluster
except ImportError as e:
    print(f"resident_dask: Dask is not installed ({e}); on Debian: apt-get install python3-distributed python3-dask python3-numpy",
          file=sys.stderr)
    sys.exit(3)

N = 4194304
A = 3


def run(client, persist_each, iterations):
    """One timed run, end to end on an already started cluster."""
    t = time.perf_counter()
    chunks = N // len(client.scheduler_info()["workers"])
    x = da.arange(N, dtype=np.int32, chunks=chunks).persist()
    y = da.ones(N, dtype=np.int32, chunks=chunks).persist()
    for _ in range(iterations):
        y = A * x + y
        if persist_each:
            y = y.persist()
    y = y.persist()
    total = int(y.sum().compute())
    tail = y[N - 4:].compute().tolist()
    return time.perf_counter() - t, total, tail


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    iterations = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    t = time.perf_counter()
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    client.wait_for_workers(2)
    start_s = time.perf_counter() - t
    run(client, True, iterations)  # warm-up, untimed: imports, worker start-up costs
    times = {"each": [], "once": []}
    results = set()
    for _ in range(rounds):  # alternated, so a change in load moves both
        for way in times:
            s, total, tail = run(client, way == "each", iterations)
            times[way].append(s)
            results.add((total, tuple(tail)))
    client.close()
    cluster.close()
    if len(results) != 1:
        print(f"resident_dask: MISMATCH: the runs gave {sorted(results)}", file=sys.stderr)
        sys.exit(1)
    print(f"cluster_start_s {start_s:.4f}")
    for way, ts in times.items():
        print(f"{way}_s " + " ".join(f"{s:.4f}" for s in ts))
    print(f"sum {total}")
    print("tail " + " ".join(str(v) for v in tail))


if __name__ == "__main__":
    main()
