"""Building blocks shared by :class:`ADCRNN` and :class:`ACRNN`.

Both networks have the same shape: a convolutional front end that maps a 3-D
log-Mel chunk (static, delta, delta-delta) to a feature map of shape
``(batch, channels, time, freq)``, then the same recurrent back end (Pham, Dang
and Nguyen, JAEC 2020, Sec. 3; Chen et al., IEEE SPL 2018, Sec. II):

1. a linear layer applied at every time step to the ``channels * freq``
   features (:class:`FrameLinear`),
2. a bidirectional LSTM,
3. attention pooling over time (paper eq. 13-14, :class:`AttentionPooling`),
4. a fully connected embedding layer and the classifier
   (:class:`EmbeddingClassifier`).

:class:`AttentiveCRNN` holds that back end and the ``forward`` /
``intermediate_shapes`` logic once; a model only builds its front end.
"""

from __future__ import annotations

import torch
from torch import nn

from ..utils.validation import is_integer, is_number

__all__ = [
    "LEAKY_RELU_SLOPE",
    "AttentionPooling",
    "AttentiveCRNN",
    "ConvBlock",
    "EmbeddingClassifier",
    "FrameLinear",
    "check_sizes",
]

#: Negative slope of every LeakyReLU in both papers.
LEAKY_RELU_SLOPE = 0.01


class ConvBlock(nn.Sequential):
    """2-D convolution, optional batch norm, LeakyReLU(0.01), optional dropout.

    Parameters
    ----------
    in_channels, out_channels : int
        Feature maps in and out.
    kernel_size : int or tuple of int
        ``(time, freq)`` extent of the kernel, in frames and Mel bins.
    padding : int or tuple of int, default=0
        Zero padding on each side; ``0`` is TensorFlow's VALID, ``dilation *
        (kernel_size - 1) // 2`` its SAME for odd kernels.
    dilation : int, default=1
        Spacing between kernel taps.
    batch_norm : bool, default=True
        Batch-normalise the convolution output. The convolution then has no
        bias, since the batch norm shift makes it redundant.
    dropout : float, default=0.0
        Element-wise dropout probability after the activation (0 adds no layer).

    Notes
    -----
    Input ``(batch, in_channels, time, freq)``, output ``(batch, out_channels,
    time', freq')`` with the usual convolution arithmetic.
    """

    def __init__(
        self,
        in_channels,
        out_channels,
        *,
        kernel_size,
        padding=0,
        dilation=1,
        batch_norm=True,
        dropout=0.0,
    ):
        layers = [
            nn.Conv2d(
                in_channels,
                out_channels,
                kernel_size,
                padding=padding,
                dilation=dilation,
                bias=not batch_norm,
            )
        ]
        if batch_norm:
            layers.append(nn.BatchNorm2d(out_channels))
        layers.append(nn.LeakyReLU(LEAKY_RELU_SLOPE))
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        super().__init__(*layers)


class FrameLinear(nn.Module):
    """Linear layer applied at every time step, then batch norm and LeakyReLU.

    The ``channels x freq`` slice of the feature map at time ``t`` is flattened
    (channel-major) and mapped to ``out_features``; the batch norm statistics
    run over batch and time, as in Chen et al.'s code (``batch_norm_wrapper``
    on the ``(batch * time, features)`` matrix).

    Parameters
    ----------
    in_features : int
        ``channels * freq`` of the incoming feature map.
    out_features : int
        Units of the linear layer (512 in ADCRNN, 768 in ACRNN).

    Notes
    -----
    Input ``(batch, channels, time, freq)``; output ``(batch, time,
    out_features)``. The linear layer has no bias (the batch norm shift
    replaces it).
    """

    def __init__(self, in_features, out_features):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features, bias=False)
        self.norm = nn.BatchNorm1d(out_features)
        self.activation = nn.LeakyReLU(LEAKY_RELU_SLOPE)

    def forward(self, feature_map):
        frames = feature_map.permute(0, 2, 1, 3).flatten(2)  # (batch, time, channels * freq)
        projected = self.linear(frames)
        # BatchNorm1d normalises dim 1, so time goes last for the statistics.
        normalised = self.norm(projected.transpose(1, 2)).transpose(1, 2)
        return self.activation(normalised)


class AttentionPooling(nn.Module):
    """Attention pooling over time (Pham et al. eq. 13-14, as in Chen et al.'s text).

    .. math::

        \\beta_t = \\frac{\\exp(W \\cdot h_t)}{\\sum_{\\tau} \\exp(W \\cdot h_\\tau)},
        \\qquad a = \\sum_t \\beta_t h_t

    with ``W`` a learned vector (here ``nn.Linear(n_features, 1)``, whose bias
    cancels in the softmax but is kept so the layer is a plain linear score).

    Parameters
    ----------
    n_features : int
        Size of ``h_t`` (twice the LSTM units for a BiLSTM).

    Notes
    -----
    ``forward(h)`` takes ``h`` of shape ``(batch, time, n_features)`` and
    returns ``(a, beta)`` with shapes ``(batch, n_features)`` and ``(batch,
    time)``. The softmax is taken in at least float32 even under autocast,
    so the weights sum to one to float32 precision.
    """

    def __init__(self, n_features):
        super().__init__()
        self.score = nn.Linear(n_features, 1)

    def forward(self, h):
        scores = self.score(h).squeeze(-1)
        weights = torch.softmax(scores.to(torch.promote_types(scores.dtype, torch.float32)), dim=1)
        pooled = torch.einsum("bt,btf->bf", weights.to(h.dtype), h)
        return pooled, weights


class EmbeddingClassifier(nn.Module):
    """FC1 (the embedding) and FC2 (the logits).

    ``embedding = LeakyReLU(FC1(a))``, ``logits = FC2(dropout(embedding))``.
    The center losses see the embedding before dropout, so the distances they
    penalise are the ones the model has at inference; dropout only regularises
    the classifier, as in Chen et al.'s code (``fully1`` -> dropout -> ``fully2``).

    Parameters
    ----------
    in_features : int
        Size of the attention output.
    embedding_dim : int
        Units of FC1 (64 in both papers).
    n_classes : int
        Number of emotion classes.
    dropout : float
        Dropout probability between FC1 and FC2.

    Notes
    -----
    ``forward(a)`` with ``a`` of shape ``(batch, in_features)`` returns
    ``(logits, embedding)`` of shapes ``(batch, n_classes)`` and ``(batch,
    embedding_dim)``.
    """

    def __init__(self, in_features, *, embedding_dim, n_classes, dropout):
        super().__init__()
        self.fc1 = nn.Linear(in_features, embedding_dim)
        self.activation = nn.LeakyReLU(LEAKY_RELU_SLOPE)
        self.dropout = nn.Dropout(dropout)
        self.fc2 = nn.Linear(embedding_dim, n_classes)

    def forward(self, pooled):
        embedding = self.activation(self.fc1(pooled))
        return self.fc2(self.dropout(embedding)), embedding


def check_sizes(network, *, dropout, pool_size, may_be_zero=(), **sizes):
    """Refuse sizes a network cannot be built with, naming the parameter.

    Parameters
    ----------
    network : str
        The network's name, for the message.
    dropout : float
        A probability in [0, 1).
    pool_size : tuple of int
        ``(time, freq)`` pooling, two positive integers.
    may_be_zero : tuple of str, default=()
        Names among ``sizes`` that may also be 0 (a layer count).
    **sizes : int
        Every other size (channels, units, layer counts), each a positive integer.

    Returns
    -------
    pool_size : tuple of int
    """
    def refuse(name, value, what):
        raise ValueError(f"{network}: {name}={value!r} must be {what} "
                         f"(module__{name} on a classifier)")

    for name, value in sizes.items():
        lowest = 0 if name in may_be_zero else 1
        if not is_integer(value) or value < lowest:
            refuse(name, value, "an integer >= 0" if lowest == 0 else "a positive integer")
    if not is_number(dropout) or not 0 <= dropout < 1:
        refuse("dropout", dropout, "a probability in [0, 1)")
    try:
        pool = tuple(pool_size)
    except TypeError:
        pool = ()
    if len(pool) != 2 or any(not is_integer(v) or v < 1 for v in pool):
        refuse("pool_size", pool_size, "two positive integers (time, freq)")
    return tuple(int(v) for v in pool)


def _table_shape(tensor):
    """Shape of one sample in the papers' table layout (time, freq, channels)."""
    shape = tuple(tensor.shape[1:])
    if len(shape) == 3:  # torch (channels, time, freq) -> table (time, freq, channels)
        return (shape[1], shape[2], shape[0])
    return shape


class AttentiveCRNN(nn.Module):
    """Convolutional front end + FrameLinear + BiLSTM + attention + FC1 + FC2.

    Subclasses build ``self.frontend``: an ``nn.ModuleDict`` of named stages,
    applied in insertion order, mapping ``(batch, in_channels, time, n_mels)`` to
    ``(batch, channels, time', freq')``, then call :meth:`_build_backend`.

    Attributes
    ----------
    n_mels, n_classes, embedding_dim : int
        The constructor's values, so a wrapper (e.g. a skorch net sizing the
        criterion's ``n_features``) can read them from the built module.
    min_frames : int
        The shortest chunk (in frames) the front end leaves at least one
        time step of; the classifiers check their chunks against it in ``fit``.
    time_pool, frame_offset : int
        How the recurrent layer's time steps map onto the input's frames:
        step ``t`` covers the frames ``frame_offset + time_pool * t`` to
        ``frame_offset + time_pool * (t + 1) - 1`` (the pooling's window, moved
        by the frames a VALID convolution drops at the start).

    Notes
    -----
    ``forward(x)`` returns ``(logits, embedding)``; with
    ``return_attention=True`` it returns ``(logits, embedding, attention)``,
    the attention weights having shape ``(batch, time')`` and summing to one
    over time.
    """

    def _build_backend(
        self, *, map_features, linear_units, lstm_units, embedding_dim, n_classes, dropout
    ):
        self.n_classes = n_classes
        self.embedding_dim = embedding_dim
        self.frame_linear = FrameLinear(map_features, linear_units)
        self.bilstm = nn.LSTM(linear_units, lstm_units, batch_first=True, bidirectional=True)
        self.attention = AttentionPooling(2 * lstm_units)
        self.head = EmbeddingClassifier(
            2 * lstm_units, embedding_dim=embedding_dim, n_classes=n_classes, dropout=dropout
        )

    def _run(self, x, trace=None):
        for name, stage in self.frontend.items():
            x = stage(x)
            if trace is not None:
                trace[name] = _table_shape(x)
        frames = self.frame_linear(x)
        hidden, _ = self.bilstm(frames)
        pooled, weights = self.attention(hidden)
        logits, embedding = self.head(pooled)
        if trace is not None:
            for name, tensor in [
                ("frame_linear", frames),
                ("bilstm", hidden),
                ("attention", pooled),
                ("embedding", embedding),
                ("logits", logits),
            ]:
                trace[name] = _table_shape(tensor)
        return logits, embedding, weights

    def forward(self, x, return_attention=False):
        """Logits and embedding of a batch of 3-D log-Mel chunks.

        Parameters
        ----------
        x : torch.Tensor [shape=(batch, in_channels, n_frames, n_mels)]
            Static, delta and delta-delta log-Mel chunks (NCHW: time is H,
            Mel bins are W).
        return_attention : bool, default=False
            Also return the attention weights ``beta`` of eq. 13.

        Returns
        -------
        logits : torch.Tensor [shape=(batch, n_classes)]
        embedding : torch.Tensor [shape=(batch, embedding_dim)]
            FC1 output, the feature the center losses act on.
        attention : torch.Tensor [shape=(batch, time')], if ``return_attention``
            Attention weights over the time steps after pooling; float32
            (float64 for a float64 model).
        """
        logits, embedding, weights = self._run(x)
        if return_attention:
            return logits, embedding, weights
        return logits, embedding

    @torch.no_grad()
    def intermediate_shapes(self, x):
        """Per-sample shape after every stage, in the papers' table layout.

        Parameters
        ----------
        x : torch.Tensor [shape=(batch, in_channels, n_frames, n_mels)]

        Returns
        -------
        shapes : dict of str to tuple of int
            Ordered from input to output; feature maps as ``(time, freq,
            channels)`` (Table 1 of Pham et al.), sequences as ``(time,
            features)``, vectors as ``(features,)``. The batch axis is omitted.
        """
        trace = {}
        self._run(x, trace=trace)
        return trace
