"""Predicting from an ONNX bundle with numpy, soundfile, the resampler and onnxruntime."""

from __future__ import annotations

from numbers import Integral

import numpy as np

from ..exceptions import ModelFileError
from ..features import CHUNKS_PER_BLOCK, aggregate_chunk_proba, chunk_utterances, extract_utterances
from ..timeline import WINDOWS_PER_BLOCK, predict_file, predict_timeline
from ..utils.constraints import Interval
from ..utils.validation import check_params
from ._format import INPUT_NAME, OUTPUT_NAME, read_bundle

__all__ = ["Bundle", "load_bundle"]

#: Chunks put through the network together: bounds the memory of one run.
DEFAULT_BATCH_SIZE = 64
_CONSTRAINTS = {"batch_size": [Interval(Integral, 1, 4096, closed="both")],
                "n_threads": [Interval(Integral, 1, 1024, closed="both"), None]}


def load_bundle(path, *, n_threads=None, batch_size=DEFAULT_BATCH_SIZE):
    """Load an ONNX bundle written by :func:`sklearn_ser.export.export_onnx`.

    Parameters
    ----------
    path : str or os.PathLike or binary file object
        The bundle (``sklearn-ser export`` writes one).
    n_threads : int or None, default=None
        Threads onnxruntime runs the network on; ``None`` is onnxruntime's
        default (one per physical core).
    batch_size : int, default=64
        Chunks run through the network together.

    Returns
    -------
    bundle : Bundle

    Raises
    ------
    sklearn_ser.exceptions.ModelFileError
        The file is not a valid bundle, or onnxruntime cannot read its network;
        the message names the file.
    ImportError
        onnxruntime is not installed (``pip install onnxruntime``).
    """
    check_params({"n_threads": n_threads, "batch_size": batch_size}, _CONSTRAINTS,
                 caller="load_bundle")
    manifest, network = read_bundle(path)
    return Bundle(manifest, network, n_threads=n_threads, batch_size=batch_size, path=path)


class Bundle:
    """A trained model exported as ONNX, ready to predict without PyTorch or scikit-learn.

    Made by :func:`load_bundle`. Takes the same inputs as the fitted
    ``Pipeline`` it was exported from (paths, binary file objects, 1-D
    arrays at the front end's rate, ``(array, sample_rate)`` pairs), computes
    the features with the toolkit's own front end, and gives the same
    probabilities (within about 1e-6: float32 arithmetic in another order).

    Parameters
    ----------
    manifest : dict
        The bundle's checked ``bundle.json``, as
        :func:`~sklearn_ser.runtime.read_bundle` returns it.
    network : bytes
        The ONNX model.
    n_threads : int or None
        onnxruntime's threads; ``None`` is its default.
    batch_size : int
        Chunks run through the network together.
    path : str or os.PathLike or file object
        Where the bundle came from, for the messages.

    Attributes
    ----------
    classes_ : np.ndarray [shape=(n_classes,)]
        The labels, in the order of the probability columns.
    front_end_params : dict
        The front end's parameters (as ``LogMel3DTransformer.get_params()``).
    mean_, scale_ : np.ndarray [shape=(3, n_mels)]
        The front end's normalisation statistics.
    aggregate : str
        How an utterance's chunk probabilities are averaged.
    manifest : dict
        The bundle's ``bundle.json`` (toolkit version, network description).
    """

    def __init__(self, manifest, network, *, n_threads, batch_size, path):
        import onnxruntime

        self.manifest = manifest
        self.front_end_params = manifest["front_end"]
        self.mean_, self.scale_ = manifest["mean"], manifest["scale"]
        self.classes_ = manifest["classes"]
        self.aggregate = manifest["aggregate"]
        self.batch_size = batch_size
        options = onnxruntime.SessionOptions()
        if n_threads is not None:
            options.intra_op_num_threads = n_threads
            options.inter_op_num_threads = 1
        try:
            self._session = onnxruntime.InferenceSession(
                network, options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own types for a bad graph
            raise ModelFileError(f"{path!r}: onnxruntime cannot read the bundle's network "
                                 f"({type(exc).__name__}: {exc})") from exc
        inputs = {i.name: i.shape for i in self._session.get_inputs()}
        outputs = {o.name: o.shape for o in self._session.get_outputs()}
        chunk = [3, self.front_end_params["chunk_frames"], self.front_end_params["n_mels"]]
        if (list(inputs) != [INPUT_NAME] or inputs[INPUT_NAME][1:] != chunk
                or list(outputs) != [OUTPUT_NAME]
                or outputs[OUTPUT_NAME][1:] != [len(self.classes_)]):
            raise ModelFileError(
                f"{path!r}: the bundle's network takes {inputs} and gives {outputs}; its front "
                f"end needs {INPUT_NAME!r} of shape [batch, {', '.join(map(str, chunk))}] and "
                f"{OUTPUT_NAME!r} of shape [batch, {len(self.classes_)}]")

    def __repr__(self):
        return (f"Bundle(classes={self.classes_.tolist()}, architecture="
                f"{self.manifest['network'].get('architecture')!r})")

    def transform(self, X):
        """The normalised chunks of ``X``, as the pipeline's front end gives them.

        Returns
        -------
        X_out : ChunkedFeatures
            Chunks of shape ``(3, chunk_frames, n_mels)``, float32.
        """
        groups = extract_utterances(X, self.front_end_params, lazy=True)
        return chunk_utterances(groups, self.front_end_params, mean=self.mean_, scale=self.scale_)

    def predict_chunk_proba(self, chunks):
        """Class probabilities of every chunk.

        Parameters
        ----------
        chunks : np.ndarray [shape=(n_chunks, 3, chunk_frames, n_mels)]

        Returns
        -------
        proba : np.ndarray [shape=(n_chunks, n_classes)], float32
        """
        chunks = np.asarray(chunks, dtype=np.float32)
        out = np.empty((len(chunks), len(self.classes_)), np.float32)
        for start in range(0, len(chunks), self.batch_size):
            batch = np.ascontiguousarray(chunks[start : start + self.batch_size])
            out[start : start + len(batch)] = self._session.run(
                [OUTPUT_NAME], {INPUT_NAME: batch})[0]
        return out

    def predict_proba(self, X):
        """Class probabilities of every utterance of ``X``.

        Returns
        -------
        proba : np.ndarray [shape=(n_utterances, n_classes)]
            float64 rows that sum to 1; columns follow ``classes_``.
        """
        chunked = self.transform(X)
        chunk_proba = self.predict_chunk_proba(chunked.chunks)
        return aggregate_chunk_proba(chunk_proba, chunked.offsets, chunked.n_frames,
                                     aggregate=self.aggregate, where="Bundle")

    def predict(self, X):
        """The most probable label of every utterance of ``X``."""
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def predict_file(self, path, *, chunks_per_block=CHUNKS_PER_BLOCK):
        """Class probabilities of one audio file of any length, read block by block.

        As :func:`sklearn_ser.timeline.predict_file`: ``predict_proba([path])[0]``
        in memory bounded by the block, whatever the file's length.
        """
        return predict_file(self, path, chunks_per_block=chunks_per_block)

    def timeline(self, path, *, window_seconds=None, hop_seconds=1.0,
                 windows_per_block=WINDOWS_PER_BLOCK):
        """Class probabilities of sliding windows over a long file, read block by block.

        As :func:`sklearn_ser.timeline.predict_timeline` (same arguments and
        rows), in memory bounded by the block, whatever the file's length.
        """
        return predict_timeline(self, path, window_seconds=window_seconds,
                                hop_seconds=hop_seconds, windows_per_block=windows_per_block)
