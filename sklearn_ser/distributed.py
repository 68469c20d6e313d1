"""Dask helpers: grid searches and feature extraction on a cluster, without oversubscription.

scikit-learn's ``GridSearchCV(n_jobs=-1)`` and the front end's ``n_jobs`` both
run on joblib, so inside ``joblib.parallel_backend("dask")`` their tasks go
to the workers of a ``dask.distributed`` cluster: every worker trains its own
candidate. What joblib cannot see is PyTorch's own thread pool: each worker
process starts one, and ``n_workers`` pools of ``n_cores`` threads fight for
``n_cores`` cores. The helpers here size that pool:

- :func:`limit_torch_threads` returns a nanny plugin that starts every worker
  process with ``OMP_NUM_THREADS`` and ``MKL_NUM_THREADS`` set, which is what
  torch reads for its default thread count; it works on any cluster whose
  workers run under a nanny (``LocalCluster(processes=True)``, ``dask worker``,
  ``SSHCluster``, dask-kubernetes).
- :func:`local_cluster` starts a ``LocalCluster`` of worker processes on the
  loopback interface with the plugin registered before the first worker, so
  ``torch threads x worker threads x workers <= cores``.

Why the environment and not ``torch.set_num_threads`` on the workers: torch
reads the thread count once per thread, on that thread's first parallel
operation. ``client.run(torch.set_num_threads, n)`` or a ``WorkerPlugin``
runs in the worker's main thread, so a task thread that has already run torch
code keeps its old count (checked with distributed 2026.8 and torch 2.13).
"""

from __future__ import annotations

import os
from contextlib import contextmanager

from joblib import cpu_count

from .utils.validation import is_integer

try:
    import dask
    from distributed import Client, LocalCluster
    from distributed.diagnostics.plugin import NannyPlugin
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "sklearn_ser.distributed needs dask.distributed: "
        'pip install "sklearn-ser[distributed]" (or "dask[distributed]")'
    ) from exc

__all__ = ["TorchThreads", "limit_torch_threads", "local_cluster", "torch_threads_per_worker"]

#: Variables torch reads for its default intra-op thread count (MKL's wins).
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _check_positive_int(name, value):
    if not is_integer(value) or value < 1:
        raise ValueError(f"{name}={value!r} must be an integer >= 1")


def torch_threads_per_worker(n_workers, *, threads_per_worker=1, n_cores=None):
    """Torch threads each worker may use so that the cluster fills the cores once.

    ``max(1, n_cores // (n_workers * threads_per_worker))``: every one of a
    worker's ``threads_per_worker`` task threads runs its own torch thread
    team, so the product over the machine stays within ``n_cores``.

    Parameters
    ----------
    n_workers : int
        Worker processes on the machine.
    threads_per_worker : int, default=1
        Task threads per worker (dask's ``nthreads``).
    n_cores : int or None, default=None
        Cores to share; ``None`` means ``joblib.cpu_count()`` (which honours
        CPU affinity and cgroup quotas).

    Returns
    -------
    n_threads : int
        At least 1.
    """
    _check_positive_int("n_workers", n_workers)
    _check_positive_int("threads_per_worker", threads_per_worker)
    n_cores = cpu_count() if n_cores is None else n_cores
    _check_positive_int("n_cores", n_cores)
    return max(1, n_cores // (n_workers * threads_per_worker))


class TorchThreads(NannyPlugin):
    """Nanny plugin: start every worker process with ``n_threads`` torch threads.

    Sets ``OMP_NUM_THREADS`` and ``MKL_NUM_THREADS`` in the nanny's worker
    environment. Registered on running workers it restarts them
    (``restart = True``), since only a fresh process is sure to read the new
    value on every thread; workers that join later start with it.

    Parameters
    ----------
    n_threads : int
        Intra-op threads of torch in each worker process.
    """

    name = "sklearn-ser-torch-threads"
    restart = True

    def __init__(self, n_threads):
        self.n_threads = n_threads

    def setup(self, nanny):
        """Put the thread count in the environment the worker process starts with."""
        nanny.env.update(dict.fromkeys(THREAD_VARIABLES, str(self.n_threads)))


def limit_torch_threads(n_threads):
    """A plugin limiting torch to ``n_threads`` threads per worker, for any nanny cluster.

    Register it with ``client.register_plugin(limit_torch_threads(n))``;
    running workers restart (in-flight tasks are lost), later ones start
    limited. Workers started without a nanny (``dask worker --no-nanny``)
    are not affected: start them with ``OMP_NUM_THREADS`` set instead.

    Parameters
    ----------
    n_threads : int
        Torch intra-op threads per worker process, e.g. from
        :func:`torch_threads_per_worker`.

    Returns
    -------
    plugin : TorchThreads
    """
    _check_positive_int("n_threads", n_threads)
    return TorchThreads(n_threads)


@contextmanager
def local_cluster(
    n_workers=None, *, threads_per_worker=1, torch_threads=None, timeout=60.0, **cluster_kwargs
):
    """A ``Client`` on a ``LocalCluster`` of worker processes sized for torch.

    The scheduler, the nannies and the workers listen on 127.0.0.1 only; the
    Bokeh dashboard is off (dask still serves its small HTTP endpoints, such
    as ``/health``, on 127.0.0.1, port 8787 or the next free one). Every
    worker starts with ``torch_threads`` torch threads, by default
    ``torch_threads_per_worker(n_workers, threads_per_worker=...)``. On exit
    the client and the cluster are closed and the variables dask's nannies
    write into this process's environment before spawning workers
    (``distributed.nanny.pre-spawn-environ``: ``OMP_NUM_THREADS=1`` and
    others) are restored.

    Parameters
    ----------
    n_workers : int or None, default=None
        Worker processes; ``None`` means ``cpu_count() // threads_per_worker``.
    threads_per_worker : int, default=1
        Task threads per worker: 1 runs one fit per process at a time.
    torch_threads : int or None, default=None
        Torch threads per worker; ``None`` means the machine's share,
        :func:`torch_threads_per_worker`. Pin it (e.g. to 1, with
        ``torch.set_num_threads(1)`` in the reference run) to get results
        that repeat bit for bit across machines with other core counts.
    timeout : float, default=60.0
        Seconds to wait for the scheduler, for the workers to start, and for
        the cluster to close.
    **cluster_kwargs
        Passed on to ``dask.distributed.LocalCluster`` (e.g.
        ``memory_limit``); ``host`` and ``dashboard_address`` may be
        overridden, ``processes`` must stay True.

    Yields
    ------
    client : dask.distributed.Client

    Examples
    --------
    >>> import joblib
    >>> from sklearn.model_selection import GridSearchCV
    >>> with local_cluster(2) as client, joblib.parallel_backend("dask"):  # doctest: +SKIP
    ...     search = GridSearchCV(pipe, grid, n_jobs=-1).fit(X, y)
    """
    _check_positive_int("threads_per_worker", threads_per_worker)
    if n_workers is None:
        n_workers = max(1, cpu_count() // threads_per_worker)
    _check_positive_int("n_workers", n_workers)
    if torch_threads is None:
        torch_threads = torch_threads_per_worker(n_workers, threads_per_worker=threads_per_worker)
    plugin = limit_torch_threads(torch_threads)
    if not cluster_kwargs.pop("processes", True):
        raise ValueError(
            "local_cluster runs worker processes (processes=True): threads in this process "
            "share one torch thread pool that no plugin can size; use LocalCluster directly"
        )
    options = {"host": "127.0.0.1", "dashboard_address": None, **cluster_kwargs}
    touched = set(THREAD_VARIABLES) | set(dask.config.get("distributed.nanny.pre-spawn-environ"))
    saved_environ = {name: os.environ.get(name) for name in touched}
    # No workers yet: the plugin reaches every nanny before its worker spawns,
    # so nothing is started twice.
    cluster = LocalCluster(
        n_workers=0, threads_per_worker=threads_per_worker, processes=True, **options
    )
    try:
        with Client(cluster, timeout=timeout) as client:
            client.register_plugin(plugin)
            cluster.scale(n_workers)
            client.wait_for_workers(n_workers, timeout=timeout)
            yield client
    finally:
        cluster.close(timeout=timeout)
        for name, value in saved_environ.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
