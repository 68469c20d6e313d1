"""Batch normalisation by each speaker's own statistics at prediction (AdaBN, Li et
al. 2018): the chunked classifiers' ``batchnorm_statistics="speaker"``."""

from __future__ import annotations

import contextlib

import numpy as np
import torch

__all__ = ["BATCHNORM_STATISTICS", "SpeakerBatchNormMixin", "speaker_statistics"]

#: ``batchnorm_statistics``' values: the running statistics of training, or each
#: speaker's own.
BATCHNORM_STATISTICS = ("training", "speaker")

_BATCHNORMS = (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d, torch.nn.BatchNorm3d)


class _Reached(Exception):
    """The forward pass reached the layer being measured: the rest is not needed."""


def _adaptable(module):
    return [layer for layer in module.modules()
            if isinstance(layer, _BATCHNORMS) and layer.running_mean is not None]


def _in_forward_order(net, dataset, layers):
    """``layers`` in the order the forward pass of the first batch reaches them."""
    order = []
    handles = [layer.register_forward_pre_hook(lambda layer, args: order.append(layer))
               for layer in layers]
    try:
        Xi, _ = next(iter(net.get_iterator(dataset, training=False)))
        net.infer(Xi)
    finally:
        for handle in handles:
            handle.remove()
    return list(dict.fromkeys(order))


def _input_moments(net, dataset, layer):
    """Per-channel mean and unbiased variance (float64) of ``layer``'s input over
    every chunk of ``dataset``, each batch's pass stopped at ``layer`` (float32 on
    an MPS device, which has no float64)."""
    sums = {}

    def measure(module, args):
        x = args[0].detach()
        x = x.float() if x.device.type == "mps" else x.double()
        dims = [d for d in range(x.dim()) if d != 1]
        sums["n"] = sums.get("n", 0) + x.numel() // x.shape[1]
        sums["sum"] = sums.get("sum", 0) + x.sum(dim=dims)
        sums["sq"] = sums.get("sq", 0) + (x * x).sum(dim=dims)
        raise _Reached

    handle = layer.register_forward_pre_hook(measure)
    try:
        for Xi, _ in net.get_iterator(dataset, training=False):
            with contextlib.suppress(_Reached):
                net.infer(Xi)
    finally:
        handle.remove()
    n = sums["n"]
    mean = sums["sum"] / n
    variance = ((sums["sq"] - n * mean * mean) / max(n - 1, 1)).clamp(min=0.0)
    return mean, variance


@contextlib.contextmanager
def speaker_statistics(net, dataset, *, prior_chunks=0.0):
    """The network's batch-norm layers normalise by the statistics of ``dataset``.

    Layer after layer, in the order the forward pass reaches them, each
    layer's running mean and variance become the per-channel mean ``m`` and
    unbiased variance ``v`` of its input over every chunk of ``dataset``, the
    layers before it already normalising by theirs, shrunk towards the
    training statistics ``(m0, v0)`` as if these were ``prior_chunks``
    chunks: with ``a = n / (n + prior_chunks)`` for ``n`` chunks, the mean
    ``a m + (1 - a) m0`` and the variance of that mixture, ``a v + (1 - a) v0
    + a (1 - a) (m - m0)**2``. The batches do not change the result (the
    sums are exact, in float64). The running statistics are restored when
    the block ends.

    Parameters
    ----------
    net : ChunkedNeuralNetClassifier
        A fitted classifier; its module stays in evaluation mode (no dropout).
    dataset : torch.utils.data.Dataset
        The chunks, e.g. ``net.chunk_dataset(X)`` of one speaker's utterances.
    prior_chunks : float, default=0.0
        The weight of the training statistics, in chunks; 0 takes the
        dataset's alone.
    """
    layers = _adaptable(net.module_)
    saved = [(layer.running_mean.clone(), layer.running_var.clone()) for layer in layers]
    own = len(dataset) / (len(dataset) + prior_chunks)
    try:
        with torch.no_grad():
            net.module_.eval()
            for layer in _in_forward_order(net, dataset, layers):
                mean, variance = _input_moments(net, dataset, layer)
                trained_mean = layer.running_mean.to(mean.dtype)
                layer.running_var.copy_(own * variance
                                        + (1 - own) * layer.running_var.to(mean.dtype)
                                        + own * (1 - own) * (mean - trained_mean) ** 2)
                layer.running_mean.copy_(own * mean + (1 - own) * trained_mean)
        yield
    finally:
        with torch.no_grad():
            for layer, (mean, variance) in zip(layers, saved, strict=True):
                layer.running_mean.copy_(mean)
                layer.running_var.copy_(variance)


class SpeakerBatchNormMixin:
    """``batchnorm_statistics`` of the chunked classifiers, a prediction-time option."""

    def _chunk_proba_by_speaker(self, X, predict):
        """``predict(X)``, the chunk probabilities of ``X`` (``ChunkedFeatures``), with
        ``batchnorm_statistics="speaker"`` one speaker at a time under
        :func:`speaker_statistics` of that speaker's chunks."""
        # prediction-time options, which set_params may have changed after fit
        self._validate_own_params(["batchnorm_statistics", "batchnorm_prior_chunks"])
        if self.batchnorm_statistics == "training":
            return predict(X)
        speakers = getattr(X, "speakers", None)
        if speakers is None:
            raise ValueError(
                f"{type(self).__name__}: batchnorm_statistics='speaker' normalises each "
                "speaker by their own chunks, but these chunks do not say whose they are: "
                "make them with a "
                "LogMel3DTransformer(normalize='speaker') given groups=speakers (in a "
                "Pipeline, under scikit-learn's metadata routing), or set "
                "batchnorm_statistics='training'"
            )
        owner = X.chunk_owner
        proba = None
        for code in np.unique(speakers):
            utterances = np.flatnonzero(speakers == code)
            part = X[utterances]
            with speaker_statistics(self, self.chunk_dataset(part),
                                    prior_chunks=self.batchnorm_prior_chunks):
                part_proba = predict(part)
            if proba is None:
                proba = np.empty((len(owner), part_proba.shape[1]), part_proba.dtype)
            proba[np.isin(owner, utterances)] = part_proba
        return proba
