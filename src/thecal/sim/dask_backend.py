"""Run population blocks on Dask (``dask.distributed``): a local cluster or an existing one.

:func:`map_blocks` sends one task per block of patients. Each task is the same pure function
the local backend calls (:func:`thecal.sim.population.run_block`) on the same block, and every
patient is drawn from its own random stream, so the results are identical to the local
backend's for the same seed, whatever the number of workers.

Without ``scheduler`` a ``LocalCluster`` is started for the call, bound to 127.0.0.1 (worker
processes, one thread each, no dashboard) and closed afterwards; the compiled cohort kernel is
made (or loaded from numba's cache) in this process first, so the workers load it from the
cache instead of each compiling it (≈ 20 s of CPU each on a fresh install). With ``scheduler`` (e.g.
``tcp://10.0.0.5:8786``) the call connects to that cluster; its workers need thecal installed
at the same version (docs/simulation.md, "Multi-node").
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def compile_kernel() -> None:
    """Compile the cohort kernel here, or load it from numba's on-disk cache: one patient,
    two hours (one signature serves every population)."""
    from thecal.physiology import sample
    from thecal.schedule import Schedule
    from thecal.sim.many import simulate_many

    simulate_many(sample("adult-spinal", 1, seed=0), Schedule.from_segments([(0.0, 1.0, 1.0)]),
                  end_h=2.0, summarise=("effect",), means=("effect",), engine="kernel")


def local_cluster(workers: int | None = None, *, processes: bool = True) -> Any:
    """A ``LocalCluster`` bound to 127.0.0.1 only: ``workers`` single-threaded workers."""
    from dask.distributed import LocalCluster

    n = workers or os.cpu_count() or 1
    return LocalCluster(n_workers=n, threads_per_worker=1, processes=processes,
                        host="127.0.0.1", protocol="tcp", scheduler_port=0,
                        dashboard_address=None, silence_logs=logging.ERROR)


def map_blocks(fn: Callable[..., T], spec: Any, ranges: list[tuple[int, int]], *,
               scheduler: str | None = None, workers: int | None = None,
               progress: Callable[[float], None] | None = None) -> list[T]:
    """``[fn(spec, lo, hi) for lo, hi in ranges]`` computed on Dask, in order."""
    from dask.distributed import Client, as_completed

    cluster = None
    try:
        if scheduler is None:
            compile_kernel()  # before the workers start: they find it in the cache
            cluster = local_cluster(workers)
            client = Client(cluster)
        else:
            try:
                client = Client(scheduler, timeout=10)
            except OSError as exc:
                from thecal.errors import InputError

                raise InputError(f"cannot reach the Dask scheduler at {scheduler!r}: {exc}",
                                 where="--scheduler",
                                 fix="give the address the scheduler prints, e.g. "
                                     "tcp://10.0.0.5:8786") from None
        try:
            shared = client.scatter(spec, broadcast=True)
            futures = client.map(fn, [shared] * len(ranges), [lo for lo, _ in ranges],
                                 [hi for _, hi in ranges], pure=False)
            total = sum(hi - lo for lo, hi in ranges) or 1
            size = dict(zip((f.key for f in futures), (hi - lo for lo, hi in ranges),
                            strict=True))
            done = 0
            for finished in as_completed(futures):
                done += size[finished.key]
                if progress is not None:
                    progress(done / total)
            return list(client.gather(futures))
        finally:
            client.close()
    finally:
        if cluster is not None:
            cluster.close()
