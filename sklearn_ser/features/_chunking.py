"""Normalise the front end's frames and cut every utterance into zero-padded chunks."""

from __future__ import annotations

import numpy as np

from ._chunked import ChunkedFeatures, chunk_count

__all__ = ["chunk_groups", "chunk_layout"]


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
    starts, counts = frame_offsets[:-1], np.diff(frame_offsets)
    mean = np.add.reduceat(features, starts, axis=1, dtype=np.float64) / counts[None, :, None]
    square = np.add.reduceat(features.astype(np.float64) ** 2, starts, axis=1)
    std = np.sqrt(np.maximum(square / counts[None, :, None] - mean**2, 0.0))
    std[std < 10 * np.finfo(np.float32).eps] = 1.0
    features -= np.repeat(mean, counts, axis=1).astype(features.dtype)
    features /= np.repeat(std, counts, axis=1).astype(features.dtype)
    return features


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
