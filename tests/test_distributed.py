"""Dask: a grid search and the front end on a local cluster give the single-process results."""

import os
import signal
from contextlib import contextmanager

import joblib
import numpy as np
import pytest

pytest.importorskip("distributed")
torch = pytest.importorskip("torch")

from distributed import get_task_stream  # noqa: E402
from sklearn.model_selection import GridSearchCV, StratifiedKFold  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402

from sklearn_ser import ADCRNNClassifier, LogMel3DTransformer  # noqa: E402
from sklearn_ser.datasets import make_emotional_speech  # noqa: E402
from sklearn_ser.distributed import (  # noqa: E402
    THREAD_VARIABLES,
    TorchThreads,
    limit_torch_threads,
    local_cluster,
    torch_threads_per_worker,
)

N_WORKERS = 2
TINY = dict(
    module__conv_channels=4, module__dilated_channels=8, module__linear_units=16,
    module__lstm_units=8, module__embedding_dim=8, module__dropout=0.0,
)


@contextmanager
def deadline(seconds):
    """Fail with TimeoutError instead of hanging (SIGALRM; pytest runs tests in the main thread).

    The limits are generous (a hang, not a slow machine, is what they catch):
    a 60-s limit once expired in a full run with both cores busy.
    """

    def expire(signum, frame):
        raise TimeoutError(f"test took longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def torch_threads(n_threads):
    previous = torch.get_num_threads()
    torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def client():
    # One torch thread per worker, as in the reference runs: float32 round-off
    # then does not depend on the core count of the machine running the test.
    with local_cluster(N_WORKERS, torch_threads=1, timeout=30) as client:
        yield client


def worker_torch_state():
    """Run in a worker's task thread: its torch thread count after a parallel op."""
    x = torch.ones(256, 256)
    (x @ x).sum()
    return torch.get_num_threads(), os.environ.get("OMP_NUM_THREADS")


def per_worker(client, function):
    workers = sorted(client.scheduler_info()["workers"])
    return [client.submit(function, pure=False, workers=[w]).result() for w in workers]


# -- thread sizing -----------------------------------------------------------

@pytest.mark.parametrize(
    ("n_workers", "threads_per_worker", "n_cores", "expected"),
    [(2, 1, 2, 1), (1, 1, 2, 2), (3, 1, 2, 1), (2, 2, 8, 2), (4, 1, 16, 4), (3, 1, 8, 2)],
)
def test_torch_threads_per_worker_fills_the_cores_once(
    n_workers, threads_per_worker, n_cores, expected
):
    n = torch_threads_per_worker(n_workers, threads_per_worker=threads_per_worker,
                                 n_cores=n_cores)
    assert n == expected
    assert n * threads_per_worker * n_workers <= n_cores or n == 1


def test_bad_counts_are_named():
    with pytest.raises(ValueError, match="n_threads=0"):
        limit_torch_threads(0)
    with pytest.raises(ValueError, match="n_workers=0"):
        torch_threads_per_worker(0)
    with pytest.raises(ValueError, match="processes=True"):
        with local_cluster(1, processes=False):
            pass


def test_plugin_sets_the_variables_torch_reads():
    class FakeNanny:
        env = {"OMP_NUM_THREADS": "1", "OTHER": "x"}

    plugin = limit_torch_threads(3)
    assert isinstance(plugin, TorchThreads) and plugin.restart
    nanny = FakeNanny()
    plugin.setup(nanny)
    assert nanny.env == {"OMP_NUM_THREADS": "3", "MKL_NUM_THREADS": "3", "OTHER": "x"}


def test_local_cluster_shares_the_cores_and_limit_applies_to_running_workers():
    saved = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    with deadline(180), local_cluster(1, timeout=30) as client:
        (address,) = client.scheduler_info()["workers"]
        assert address.startswith("tcp://127.0.0.1:")
        assert client.scheduler.address.startswith("tcp://127.0.0.1:")
        # The default share of a 1-worker cluster is every core, checked in
        # the task thread, where torch reads its count.
        assert per_worker(client, worker_torch_state) == [
            (torch_threads_per_worker(1), str(torch_threads_per_worker(1)))
        ]
        # A running worker whose thread has already used torch: the plugin
        # restarts it with the new count. (torch caps a count read from the
        # environment at the cores, so the test lowers it.)
        client.register_plugin(limit_torch_threads(1))
        client.wait_for_workers(1, timeout=30)
        assert per_worker(client, worker_torch_state) == [(1, "1")]
    # dask's nannies write OMP_NUM_THREADS=1 etc. into this process before
    # spawning; local_cluster puts the old values back.
    assert {name: os.environ.get(name) for name in THREAD_VARIABLES} == saved


def test_workers_run_one_torch_thread_each(client):
    assert per_worker(client, worker_torch_state) == [(1, "1")] * N_WORKERS


# -- the front end on dask -----------------------------------------------------

def test_front_end_on_dask_is_bit_identical(client):
    rng = np.random.default_rng(0)
    # 70 utterances: three groups of 32 files, so the work really is split.
    signals = [0.1 * rng.standard_normal(int(rng.integers(2000, 6000))) for _ in range(70)]
    reference = LogMel3DTransformer(chunk_frames=20, n_mels=20, n_jobs=1)
    expected = reference.fit_transform(signals)
    expected_again = reference.transform(signals[::-1])

    front_end = LogMel3DTransformer(chunk_frames=20, n_mels=20, n_jobs=-1)
    with deadline(180), joblib.parallel_backend("dask"), get_task_stream(client) as stream:
        got = front_end.fit_transform(signals)
        got_again = front_end.transform(signals[::-1])  # the lazy, generator path

    assert sum("_extract_group" in task["key"] for task in stream.data) >= 2
    np.testing.assert_array_equal(front_end.mean_, reference.mean_)
    np.testing.assert_array_equal(front_end.scale_, reference.scale_)
    for ours, theirs in ((got, expected), (got_again, expected_again)):
        np.testing.assert_array_equal(ours.chunks, theirs.chunks)
        np.testing.assert_array_equal(ours.offsets, theirs.offsets)
        np.testing.assert_array_equal(ours.n_frames, theirs.n_frames)


# -- grid search on dask -------------------------------------------------------

def make_search(n_jobs):
    pipe = Pipeline([
        ("features", LogMel3DTransformer(chunk_frames=30, n_mels=20, n_jobs=1)),
        # device="auto" (the default): dask pickles the unfitted clones it sends
        ("clf", ADCRNNClassifier(**TINY, lr=3e-3, max_epochs=2, batch_size=8, train_split=None,
                                 random_state=0, verbose=0, precision="float32")),
    ])
    grid = {"clf__lr": [1e-3, 1e-2], "clf__module__conv_channels": [2, 4]}
    # Log loss, continuous in the weights, is the sharp test; accuracy rides along.
    return GridSearchCV(pipe, grid, cv=StratifiedKFold(2),
                        scoring={"nll": "neg_log_loss", "acc": "accuracy"}, refit="nll",
                        n_jobs=n_jobs)


def test_grid_search_on_dask_matches_the_single_process_run(client):
    X, y, _ = make_emotional_speech(12, n_classes=2, duration=0.6, random_state=0)
    with deadline(180):
        with torch_threads(1):  # this process alone, as each worker: one thread
            reference = make_search(n_jobs=1).fit(X, y)
        with joblib.parallel_backend("dask"), get_task_stream(client) as stream:
            search = make_search(n_jobs=-1).fit(X, y)

    # Each of the 2 workers trained candidates of its own.
    assert len({task["worker"] for task in stream.data}) == N_WORKERS
    assert search.best_params_ == reference.best_params_
    assert len(search.cv_results_["params"]) == 4
    for key in ("split0_test_nll", "split1_test_nll", "split0_test_acc", "split1_test_acc",
                "mean_test_nll", "rank_test_nll"):
        np.testing.assert_array_equal(search.cv_results_[key], reference.cv_results_[key],
                                      err_msg=key)
    # Log losses differ between candidates: the comparison is not of constants.
    assert len(set(reference.cv_results_["mean_test_nll"])) == 4
    np.testing.assert_array_equal(search.predict_proba(X), reference.predict_proba(X))
