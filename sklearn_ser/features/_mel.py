"""The triangular Mel filterbank of the paper's eq. 2-3, as psf's ``get_filterbanks`` builds it."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..utils.docstrings import Substitution
from ._param_docs import FRONT_END_DOCS
from ._params import FRONT_END_DEFAULTS as _DEFAULTS
from ._params import check_front_end

__all__ = ["hz_to_mel", "mel_centres", "mel_filterbank", "mel_to_hz", "sparse_projection"]


def hz_to_mel(frequency_hz):
    """Mel scale of the paper's eq. 3: ``m = 2595 log10(1 + f / 700)``.

    Parameters
    ----------
    frequency_hz : float or array-like
        Frequencies, in Hz.

    Returns
    -------
    mel : np.ndarray or np.float64
        The same frequencies in Mel, float64, of the input's shape.
    """
    return 2595.0 * np.log10(1.0 + np.asarray(frequency_hz, dtype=np.float64) / 700.0)


def mel_to_hz(mel):
    """Inverse of :func:`hz_to_mel`: ``f = 700 (10^(m / 2595) - 1)``.

    Parameters
    ----------
    mel : float or array-like
        Points of the Mel scale.

    Returns
    -------
    frequency_hz : np.ndarray or np.float64
        The same points in Hz, float64, of the input's shape.
    """
    return 700.0 * (10.0 ** (np.asarray(mel, dtype=np.float64) / 2595.0) - 1.0)


def _mel_points(n_mels, f_min, f_max):
    """The ``n_mels + 2`` edges and centres of the filters, evenly spaced in Mel."""
    return np.linspace(hz_to_mel(f_min), hz_to_mel(f_max), n_mels + 2)


@Substitution(**FRONT_END_DOCS)
def mel_centres(*, n_mels=_DEFAULTS["n_mels"], f_min=_DEFAULTS["f_min"],
                f_max=_DEFAULTS["f_max"]):
    """Nominal centre of every Mel band: ``n_mels`` points evenly spaced on the Mel
    scale strictly between ``f_min`` and ``f_max``.

    Parameters
    ----------
    {n_mels}
    {f_min_f_max}

    Returns
    -------
    centres : np.ndarray [shape=(n_mels,)], float64, Hz
        Before the filterbank rounds them down to FFT bins
        (:func:`mel_filterbank` peaks at ``floor((n_fft + 1) * centre /
        sample_rate)``).

    Raises
    ------
    ValueError
        Naming every bad argument, e.g. ``f_min`` not below ``f_max``.
    """
    check_front_end(dict(n_mels=n_mels, f_min=f_min, f_max=f_max), caller="mel_centres")
    return mel_to_hz(_mel_points(int(n_mels), float(f_min), float(f_max))[1:-1])


@lru_cache(maxsize=32)
def _mel_filterbank_cached(sample_rate, n_fft, n_mels, f_min, f_max):
    mel_points = _mel_points(n_mels, f_min, f_max)
    # psf rounds the filter edges down to FFT bins: floor((n_fft + 1) f / sr).
    edges = np.floor((n_fft + 1) * mel_to_hz(mel_points) / sample_rate)
    left, centre, right = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    bins = np.arange(n_fft // 2 + 1, dtype=np.float64)[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        rising = np.where((bins >= left) & (bins < centre), (bins - left) / (centre - left), 0.0)
        falling = np.where(
            (bins >= centre) & (bins < right), (right - bins) / (right - centre), 0.0
        )
    weights = rising + falling
    weights.setflags(write=False)
    return weights


#: The largest filterbank (n_mels x bins) kept in the cache: 8 MiB, so the cache of
#: 32 parameter sets stays within 256 MiB even at n_fft=2**16 and 256 filters
#: (67 MiB each), which are built again when asked for.
_MAX_CACHED_WEIGHTS = 1 << 20


def _filterbank(sample_rate, n_fft, n_mels, f_min, f_max):
    """:func:`_mel_filterbank_cached`, bypassing the cache for a large filterbank."""
    build = _mel_filterbank_cached if n_mels * (n_fft // 2 + 1) <= _MAX_CACHED_WEIGHTS \
        else _mel_filterbank_cached.__wrapped__
    return build(sample_rate, n_fft, n_mels, f_min, f_max)


@Substitution(**FRONT_END_DOCS)
def mel_filterbank(
    *,
    sample_rate=_DEFAULTS["sample_rate"],
    n_fft=_DEFAULTS["n_fft"],
    n_mels=_DEFAULTS["n_mels"],
    f_min=_DEFAULTS["f_min"],
    f_max=_DEFAULTS["f_max"],
):
    """Triangular Mel filterbank (paper eq. 2-3), as built by psf's ``get_filterbanks``.

    Parameters
    ----------
    {sample_rate}
    {n_fft}
    {n_mels}
    {f_min_f_max}

    Returns
    -------
    weights : np.ndarray [shape=(n_mels, n_fft // 2 + 1)], read-only
        Filter ``m`` rises linearly from bin ``f(m-1)`` to 1 at ``f(m)`` and falls
        back to 0 at ``f(m+1)`` (eq. 2). Cached per parameter set (up to 2**20
        weights: a larger one is built again each time).

    Raises
    ------
    ValueError
        Naming every bad argument, e.g. ``f_max`` above ``sample_rate / 2``.
    """
    check_front_end(
        dict(sample_rate=sample_rate, n_fft=n_fft, n_mels=n_mels, f_min=f_min, f_max=f_max),
        caller="mel_filterbank",
    )
    return _filterbank(int(sample_rate), int(n_fft), int(n_mels), float(f_min), float(f_max))


@lru_cache(maxsize=32)
def sparse_projection(sample_rate, n_fft, n_mels, f_min, f_max, dtype):
    """The filterbank divided by ``n_fft``, as a read-only CSR matrix ``(n_mels, n_bins)``.

    A triangular filterbank is mostly zeros (438 of the paper's 40 x 257
    weights are not), and scipy's CSR product sums each frame's bins in one
    fixed order, with no BLAS kernel whose blocking depends on the frame's
    position: the Mel energies of a frame are the same bits in any batch.
    The arguments are taken as checked (by the caller), and cached on.
    """
    import scipy.sparse

    weights = _filterbank(sample_rate, n_fft, n_mels, f_min, f_max)
    projection = scipy.sparse.csr_matrix((weights / n_fft).astype(dtype))
    for array in (projection.data, projection.indices, projection.indptr):
        array.setflags(write=False)
    return projection
