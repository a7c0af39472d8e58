"""The stencil benchmark's Dask reference (docs/benchmarks.md, "Stencil").

The same work as jacobi.pasm, as a Dask user writes it: a 4096 x 4096 f32
grid made on the workers of a LocalCluster (3 worker processes, 1 thread
each), split in row blocks, one per worker; 50 Jacobi steps (argv[2] to
change it), each a `map_overlap` with a halo of one row (the boundary stays
fixed, every interior element becomes 0.25 * ((left + right) + (up + down))
in float32, in that order, as jacobi.pasm computes it); then the sum and a
few elements read. Two ways a Dask user writes the loop, timed in turn on the
same cluster:
  each: the grid persisted after every step (Dask's advice for iterative
        algorithms: each step is computed and kept on the workers, as
        Polymer's launches are);
  once: the 50 steps built lazily and persisted once at the end.
Called by jacobi_bench (argv[1]: timed rounds, default 1; argv[3]: the grid's
side, default 4096, smaller for a check by hand); prints one `key value...`
line per figure. `--check` compares one run with plain NumPy on a small grid.

The elements are the same float32 bits as Polymer's (same operations, same
order, no fused multiply-add); the sum is not: Dask sums the float32 grid in
binary64 (`sum(dtype=float64)`, NumPy's pairwise order), Polymer's `vsum` in
binary64 blocks, so the two sums agree to about 1e-12 relative, not to the
last bit. jacobi_bench compares the sum with a tolerance and the elements
exactly.
Exits 3 with a line on stderr when Dask is not installed.
"""
import sys
import time

try:
    import dask.array as da
    import numpy as np
    from dask.distributed import Client, LocalCluster
except ImportError as e:
    print(f"jacobi_dask: Dask is not installed ({e}); on Debian: apt-get install python3-distributed python3-dask python3-numpy",
          file=sys.stderr)
    sys.exit(3)

WORKERS = 3


def initial_block(side, rows):
    """Rows [rows[0], rows[1]) of the initial grid, as jacobi.pasm's `init`
    makes it: the top edge 1, the other edges 0, the interior
    ((row + 2 col) mod 8) / 8."""
    r = np.arange(rows[0], rows[1], dtype=np.int64)[:, None]
    c = np.arange(side, dtype=np.int64)[None, :]
    g = (((r + 2 * c) & 7) * np.float32(0.125)).astype(np.float32)
    g[:, 0] = 0
    g[:, side - 1] = 0
    g[r[:, 0] == side - 1, :] = 0
    g[r[:, 0] == 0, :] = 1
    return g


def initial(side, chunks):
    def make(block_info=None):
        return initial_block(side, block_info[None]["array-location"][0])
    return da.map_blocks(make, dtype=np.float32, chunks=chunks)


def step_block(b):
    """One Jacobi step over a row block with its halo rows (map_overlap,
    boundary 'none': a block at the grid's top or bottom has no halo row
    there, so its first or last row is the grid's fixed edge)."""
    y = b.copy()
    y[1:-1, 1:-1] = np.float32(0.25) * ((b[1:-1, :-2] + b[1:-1, 2:]) + (b[:-2, 1:-1] + b[2:, 1:-1]))
    return y


def step(x):
    return x.map_overlap(step_block, depth={0: 1, 1: 0}, boundary="none", dtype=np.float32)


def row_chunks(side):
    base, extra = divmod(side, WORKERS)
    return (tuple(base + (1 if i < extra else 0) for i in range(WORKERS)), (side,))


def samples(side):
    """Where jacobi.pasm prints four elements: near the hot edge, across the
    first block boundary, at the far corner."""
    return [side + side // 2 - 2, (side // 3) * side + side // 2 - 2, (side - 2) * side + side - 4]


def run(client, persist_each, iterations, side):
    """One timed run, end to end on an already started cluster."""
    t = time.perf_counter()
    x = initial(side, row_chunks(side)).persist()
    for _ in range(iterations):
        x = step(x)
        if persist_each:
            x = x.persist()
    x = x.persist()
    total = float(x.sum(dtype=np.float64).compute())
    flat = x.reshape(side * side)
    values = tuple(tuple(float(v) for v in flat[at:at + 4].compute()) for at in samples(side))
    return time.perf_counter() - t, total, values


def numpy_reference(iterations, side):
    g = initial_block(side, (0, side))
    for _ in range(iterations):
        g = step_block(g)
    flat = g.reshape(side * side)
    return float(g.sum(dtype=np.float64)), tuple(tuple(float(v) for v in flat[at:at + 4]) for at in samples(side))


def main():
    check = "--check" in sys.argv
    args = [a for a in sys.argv[1:] if a != "--check"]
    rounds = int(args[0]) if len(args) > 0 else 1
    iterations = int(args[1]) if len(args) > 1 else 50
    side = int(args[2]) if len(args) > 2 else 4096
    t = time.perf_counter()
    cluster = LocalCluster(n_workers=WORKERS, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    client.wait_for_workers(WORKERS)
    start_s = time.perf_counter() - t
    run(client, True, iterations, side)  # warm-up, untimed: imports, worker start-up costs
    times = {"each": [], "once": []}
    results = set()
    for _ in range(rounds):  # alternated, so a change in load moves both
        for way in times:
            s, total, values = run(client, way == "each", iterations, side)
            times[way].append(s)
            results.add((total, values))
    client.close()
    cluster.close()
    if len(results) != 1:
        print(f"jacobi_dask: MISMATCH: the runs gave {sorted(results)}", file=sys.stderr)
        sys.exit(1)
    total, values = results.pop()
    if check:
        ref_total, ref_values = numpy_reference(iterations, side)
        same = ref_values == values and abs(ref_total - total) <= 1e-12 * abs(ref_total)
        print(f"check against NumPy: {'same' if same else 'DIFFERENT'}: sum {ref_total!r}, elements {ref_values}")
        if not same:
            sys.exit(1)
    print(f"cluster_start_s {start_s:.4f}")
    for way, ts in times.items():
        print(f"{way}_s " + " ".join(f"{s:.4f}" for s in ts))
    print(f"sum {total!r}")
    for at, v in zip(samples(side), values):
        print(f"at {at} " + " ".join(repr(e) for e in v))


if __name__ == "__main__":
    main()
