"""Normalise the front end's frames and cut every utterance into zero-padded chunks."""

from __future__ import annotations

import numpy as np

from ._chunked import ChunkedFeatures, chunk_count

__all__ = ["chunk_groups", "chunk_layout", "standardize_speakers", "standardize_utterances"]


def chunk_layout(frame_offsets, *, chunk_frames, hop_frames, max_chunks):
    """Where every chunk of a group's utterances reads its frames.

    Parameters
    ----------
    frame_offsets : np.ndarray [shape=(n_utterances + 1,)]
        Utterance ``u`` owns frames ``frame_offsets[u]:frame_offsets[u + 1]``.
    chunk_frames, hop_frames : int
        Chunk length and hop between chunk starts, in frames.
    max_chunks : int or None
        Chunks kept per utterance (the first ones).

    Returns
    -------
    chunk_offsets : np.ndarray [shape=(n_utterances + 1,)]
        Utterance ``u`` owns chunks ``chunk_offsets[u]:chunk_offsets[u + 1]``.
    frame_index : np.ndarray [shape=(n_chunks, chunk_frames)]
        The group frame behind every chunk frame, and ``n_frames_total`` (one
        past the last frame) where the chunk is padded.
    real_frames : np.ndarray [shape=(n_chunks,)]
        Each chunk's real frames.
    """
    lengths = np.diff(frame_offsets)
    n_chunks = chunk_count(lengths, chunk_frames, hop_frames)
    if max_chunks is not None:
        n_chunks = np.minimum(n_chunks, max_chunks)
    chunk_offsets = np.concatenate([[0], np.cumsum(n_chunks)])
    owner = np.repeat(np.arange(len(lengths)), n_chunks)
    first_frame = (np.arange(chunk_offsets[-1]) - chunk_offsets[owner]) * hop_frames
    real_frames = np.clip(lengths[owner] - first_frame, 0, chunk_frames)
    frame_index = (frame_offsets[owner] + first_frame)[:, None] + np.arange(chunk_frames)
    frame_index[np.arange(chunk_frames)[None, :] >= real_frames[:, None]] = frame_offsets[-1]
    return chunk_offsets, frame_index, real_frames


def _moments(features, frame_offsets):
    """Per utterance and (channel, Mel bin): frame count, sum and sum of squares.

    Returns ``counts [shape=(n_utterances,)]`` and float64 ``total``,
    ``square [shape=(3, n_utterances, n_mels)]``.
    """
    starts, counts = frame_offsets[:-1], np.diff(frame_offsets)
    total = np.add.reduceat(features, starts, axis=1, dtype=np.float64)
    square = np.add.reduceat(features.astype(np.float64) ** 2, starts, axis=1)
    return counts, total, square


def _standardize(features, frame_offsets, counts, total, square):
    """Standardise each utterance of a group in place, with the moments given for
    it (its own, or its speaker's pooled ones): ``(x - mean) / std``, a
    near-constant bin only centred."""
    mean = total / counts[None, :, None]
    std = np.sqrt(np.maximum(square / counts[None, :, None] - mean**2, 0.0))
    std[std < 10 * np.finfo(np.float32).eps] = 1.0
    frames = np.diff(frame_offsets)
    features -= np.repeat(mean, frames, axis=1).astype(features.dtype)
    features /= np.repeat(std, frames, axis=1).astype(features.dtype)
    return features


def standardize_utterances(features, frame_offsets):
    """Standardise every utterance of a group with its own statistics, in place.

    Parameters
    ----------
    features : np.ndarray [shape=(3, n_frames_total, n_mels)], floating
        A group's features, utterance after utterance.
    frame_offsets : np.ndarray [shape=(n_utterances + 1,)]
        Utterance ``i`` owns frames ``frame_offsets[i]:frame_offsets[i + 1]``.

    Returns
    -------
    features : np.ndarray
        The same array: ``(x - mean_i) / std_i`` per channel and Mel bin over
        utterance ``i``'s frames (a near-constant bin is only centred).
    """
    return _standardize(features, frame_offsets, *_moments(features, frame_offsets))


def standardize_speakers(feature_groups, speaker_codes):
    """Standardise every utterance with the statistics of all its speaker's frames, in place.

    Parameters
    ----------
    feature_groups : list of (np.ndarray, np.ndarray)
        ``(features [shape=(3, n_frames_total, n_mels)], frame_offsets)`` per
        group of utterances, as :func:`~sklearn_ser.features.extract_utterances`
        returns them.
    speaker_codes : np.ndarray [shape=(n_utterances,)], int
        The speaker of every utterance, all groups' utterances in order, as
        codes ``0..n_speakers - 1``.

    Returns
    -------
    feature_groups : list of (np.ndarray, np.ndarray)
        The same groups: ``(x - mean_s) / std_s`` per channel and Mel bin,
        the statistics pooled over every frame of speaker ``s``'s utterances
        (a near-constant bin is only centred). A speaker with one utterance
        is standardised as :func:`standardize_utterances` does it.
    """
    moments = [_moments(features, offsets) for features, offsets in feature_groups]
    counts = np.concatenate([count for count, _, _ in moments])
    speaker_codes = np.asarray(speaker_codes)
    if speaker_codes.shape != counts.shape or speaker_codes.dtype.kind not in "iu" \
            or (len(speaker_codes) and speaker_codes.min() < 0):
        raise ValueError(f"speaker_codes must be {len(counts)} integers >= 0, one per "
                         f"utterance; got shape {speaker_codes.shape}, dtype "
                         f"{speaker_codes.dtype}")
    n_speakers = int(speaker_codes.max()) + 1 if len(speaker_codes) else 0
    pooled_counts = np.bincount(speaker_codes, weights=counts, minlength=n_speakers)
    pooled = []
    for part in (1, 2):  # sums, then sums of squares, over each speaker's utterances
        values = np.concatenate([moment[part] for moment in moments], axis=1)
        sums = np.zeros((values.shape[0], n_speakers, values.shape[2]))
        np.add.at(sums.transpose(1, 0, 2), speaker_codes, values.transpose(1, 0, 2))
        pooled.append(sums)
    start = 0
    for features, offsets in feature_groups:
        codes = speaker_codes[start : start + len(offsets) - 1]
        start += len(offsets) - 1
        _standardize(features, offsets, pooled_counts[codes], pooled[0][:, codes],
                     pooled[1][:, codes])
    return feature_groups


def chunk_groups(groups, *, mean, scale, chunk_frames, hop_frames, max_chunks):
    """Normalise and cut every utterance into zero-padded chunks.

    A list of groups (``fit_transform``) is written straight into one
    output array; a generator (``transform``, one group's raw features in
    memory at a time) is chunked group by group and joined at the end.

    Parameters
    ----------
    groups : list or iterator of (np.ndarray, np.ndarray)
        ``(features [shape=(3, n_frames_total, n_mels)], frame_offsets)`` per
        group of utterances.
    mean, scale : np.ndarray [shape=(3, n_mels)]
        Normalisation statistics: the output is ``(features - mean) / scale``.
    chunk_frames, hop_frames, max_chunks
        As in :func:`chunk_layout`.

    Returns
    -------
    X_out : ChunkedFeatures
        float32 chunks of shape ``(3, chunk_frames, n_mels)``.
    """
    mean = mean.astype(np.float32)[:, None, :]
    inv_scale = (1.0 / scale).astype(np.float32)[:, None, :]
    chunk_shape = (3, chunk_frames, mean.shape[2])
    layout = dict(chunk_frames=chunk_frames, hop_frames=hop_frames, max_chunks=max_chunks)

    def fill(features, frame_index, out):
        # Normalise the group's real frames once and append a zero frame,
        # which every padding position reads: one gather per channel then
        # writes each chunk whole, padding included.
        n_frames = features.shape[1]
        normalised = np.empty((features.shape[0], n_frames + 1, features.shape[2]),
                              np.float32)
        np.subtract(features, mean, out=normalised[:, :n_frames])
        normalised[:, :n_frames] *= inv_scale
        normalised[:, n_frames] = 0.0
        for channel, source in enumerate(normalised):
            np.take(source, frame_index, axis=0, out=out[:, channel], mode="clip")

    if isinstance(groups, list):
        layouts = [chunk_layout(frame_offsets, **layout) for _, frame_offsets in groups]
        starts = np.cumsum([0] + [len(real) for _, _, real in layouts])
        chunks = np.empty((starts[-1], *chunk_shape), np.float32)
        for (features, _), (_, frame_index, _), start, stop in zip(
            groups, layouts, starts[:-1], starts[1:], strict=True
        ):
            fill(features, frame_index, chunks[start:stop])
        counts = np.concatenate([np.diff(offsets) for offsets, _, _ in layouts])
        return ChunkedFeatures(
            chunks,
            np.concatenate([[0], np.cumsum(counts)]),
            np.concatenate([real for _, _, real in layouts]),
        )
    parts = []
    for features, frame_offsets in groups:
        chunk_offsets, frame_index, real_frames = chunk_layout(frame_offsets, **layout)
        chunks = np.empty((len(real_frames), *chunk_shape), np.float32)
        fill(features, frame_index, chunks)
        parts.append(ChunkedFeatures(chunks, chunk_offsets, real_frames))
    return parts[0] if len(parts) == 1 else ChunkedFeatures.concatenate(parts)
