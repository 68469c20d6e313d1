"""`ChunkedFeatures`: the front end's output, one entry per utterance."""

from __future__ import annotations

import numpy as np

__all__ = ["ChunkedFeatures", "chunk_count", "front_end_difference"]


def front_end_difference(expected, given):
    """The settings in which two front ends' records differ.

    Parameters
    ----------
    expected, given : dict or None
        ``{name: value}`` records, as ``ChunkedFeatures.front_end`` holds them;
        None (no record) agrees with anything.

    Returns
    -------
    difference : str
        ``"name=given (not expected), ..."`` by name, or ``""`` when they agree.
    """
    if expected is None or given is None:
        return ""
    names = sorted(set(expected) | set(given))
    return ", ".join(f"{name}={given.get(name)!r} (not {expected.get(name)!r})"
                     for name in names if given.get(name) != expected.get(name))


def chunk_count(lengths, size, hop):
    """Number of chunks of ``size`` starting every ``hop`` that cover an utterance.

    ``1 + ceil(max(n - size, 0) / hop)``: chunks start at ``0, hop, 2 hop,
    ...`` until one reaches the end (the last is padded). With ``hop > size``
    the gaps between chunks are skipped, and no chunk starts at or past the
    end, which caps the count at ``ceil(n / hop)``. An utterance shorter than
    ``size`` gives one chunk. The front end counts chunks in frames, the
    timeline counts windows in samples.

    Parameters
    ----------
    lengths : int or array-like of int
        Utterance lengths (frames or samples), each >= 1.
    size, hop : int
        Chunk length and hop between chunk starts, in the same unit, >= 1.

    Returns
    -------
    n_chunks : np.ndarray of int64, shaped like ``lengths``
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    covering = 1 + (np.maximum(lengths - size, 0) + hop - 1) // hop
    starting_inside = (lengths + hop - 1) // hop
    return np.maximum(np.minimum(covering, starting_inside), 1)


def _ranges(starts, lengths):
    """Concatenation of ``arange(s, s + n)`` for each pair, without a Python loop."""
    lengths = np.asarray(lengths, dtype=np.int64)
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    owner_start = np.repeat(np.asarray(starts, dtype=np.int64) - np.concatenate(
        [[0], np.cumsum(lengths)[:-1]]), lengths)
    return owner_start + np.arange(total)


class ChunkedFeatures:
    """Ragged sequence of per-utterance chunk stacks, stored flat.

    Utterance ``i`` is cut into ``n_chunks[i]`` chunks of ``chunk_frames``
    frames; all chunks of all utterances sit in one contiguous float32 array,
    so a 10-minute outlier costs its own chunks and nothing more (no padding
    of every utterance to the longest).

    It behaves like a 1-D sequence of utterances: ``len(X)`` is the number of
    utterances, ``X[i]`` is utterance ``i``'s chunks as an array of shape
    ``(n_chunks[i], 3, chunk_frames, n_mels)`` (a view, first chunk first), and
    indexing with a slice, integer array or boolean mask returns a new
    ``ChunkedFeatures`` of those utterances, which is what scikit-learn's
    ``_safe_indexing`` (cross-validation, ``train_test_split``) relies on.

    Parameters
    ----------
    chunks : np.ndarray [shape=(n_chunks_total, n_channels, chunk_frames, n_mels)]
        All chunks, utterance after utterance, in torch's (N, C, H, W) order
        with H the time axis. Padding frames hold 0 (the normalised mean).
    offsets : np.ndarray [shape=(n_utterances + 1,)], int
        Utterance ``i`` owns ``chunks[offsets[i]:offsets[i + 1]]``.
    n_frames : np.ndarray [shape=(n_chunks_total,)], int
        Number of real (not padding) frames at the start of each chunk.
    front_end : dict or None, default=None
        The settings of the front end that made the chunks (its
        :data:`~sklearn_ser.features.FEATURE_PARAMS`): a classifier records
        them in ``fit`` and refuses chunks from a front end with other
        settings. None (chunks made by hand) is not checked.
    speakers : np.ndarray [shape=(n_utterances,)], int, or None, default=None
        The speaker of every utterance as codes ``0..n_speakers - 1``, which
        a front end with ``normalize="speaker"`` records from ``groups``
        (a classifier with ``batchnorm_statistics="speaker"`` reads them);
        None when unknown.

    Attributes
    ----------
    n_chunks : np.ndarray [shape=(n_utterances,)]
        Chunks per utterance (at least 1 each).
    chunk_owner : np.ndarray [shape=(n_chunks_total,)]
        Index of the utterance each chunk belongs to.
    """

    def __init__(self, chunks, offsets, n_frames, *, front_end=None, speakers=None):
        chunks = np.asarray(chunks)
        offsets = np.asarray(offsets, dtype=np.int64)
        n_frames = np.asarray(n_frames, dtype=np.int64)
        if chunks.ndim != 4:
            raise ValueError(
                f"chunks must be 4-D (chunks, channels, frames, mels), got {chunks.shape}"
            )
        if offsets.ndim != 1 or offsets.size < 1 or offsets[0] != 0 or offsets[-1] != len(chunks):
            raise ValueError("offsets must start at 0 and end at the number of chunks")
        if np.any(np.diff(offsets) < 1):
            empty = np.flatnonzero(np.diff(offsets) < 1)
            raise ValueError(
                "offsets must increase: every utterance holds at least one chunk, but "
                f"utterance(s) {empty[:10].tolist()} hold none (or offsets go backwards)"
            )
        if n_frames.shape != (len(chunks),):
            raise ValueError(f"n_frames must have shape ({len(chunks)},), got {n_frames.shape}")
        self.chunks = chunks
        self.offsets = offsets
        self.n_frames = n_frames
        self.front_end = None if front_end is None else dict(front_end)
        if speakers is not None:
            speakers = np.asarray(speakers)
            if speakers.shape != (len(offsets) - 1,) or speakers.dtype.kind not in "iu":
                raise ValueError(f"speakers must be {len(offsets) - 1} integer codes, one per "
                                 f"utterance, got {speakers.dtype} of shape {speakers.shape}")
        self.speakers = speakers

    # -- sequence protocol -------------------------------------------------
    def __len__(self):
        return len(self.offsets) - 1

    @property
    def shape(self):
        """``(n_utterances,)``: a 1-D sequence, as scikit-learn's indexing expects."""
        return (len(self),)

    @property
    def ndim(self):
        return 1

    @property
    def dtype(self):
        return self.chunks.dtype

    @property
    def chunk_shape(self):
        """``(n_channels, chunk_frames, n_mels)`` of every chunk."""
        return self.chunks.shape[1:]

    @property
    def n_chunks(self):
        return np.diff(self.offsets)

    @property
    def chunk_owner(self):
        return np.repeat(np.arange(len(self)), self.n_chunks)

    def __getitem__(self, key):
        if isinstance(key, tuple):
            # scikit-learn indexes arrays as X[key, ...]
            if len(key) == 2 and key[1] is Ellipsis:
                key = key[0]
            else:
                raise IndexError(f"ChunkedFeatures takes one index over utterances, got {key!r}")
        if isinstance(key, (int, np.integer)):
            n = len(self)
            if not -n <= key < n:
                raise IndexError(f"utterance index {key} out of range for {n} utterances")
            key = int(key) % n
            return self.chunks[self.offsets[key] : self.offsets[key + 1]]
        index = np.arange(len(self))[key]
        counts = self.n_chunks[index]
        rows = _ranges(self.offsets[:-1][index], counts)
        speakers = getattr(self, "speakers", None)  # None in pickles of older versions
        return ChunkedFeatures(
            self.chunks[rows], np.concatenate([[0], np.cumsum(counts)]), self.n_frames[rows],
            front_end=getattr(self, "front_end", None),
            speakers=None if speakers is None else speakers[index],
        )

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __array__(self, dtype=None, copy=None):
        padded, _ = self.to_padded()
        return padded if dtype is None else padded.astype(dtype)

    def __repr__(self):
        return (
            f"ChunkedFeatures(n_utterances={len(self)}, n_chunks_total={len(self.chunks)}, "
            f"chunk_shape={self.chunk_shape}, dtype={self.dtype})"
        )

    # -- conversions --------------------------------------------------------
    def to_padded(self):
        """Dense copy padded with empty chunks, and the mask of real chunks.

        Returns
        -------
        padded : np.ndarray [shape=(n_utterances, max_chunks, *chunk_shape)]
        chunk_mask : np.ndarray [shape=(n_utterances, max_chunks)], bool
            True where a chunk is real.
        """
        max_chunks = int(self.n_chunks.max()) if len(self) else 0
        position = np.arange(len(self.chunks)) - np.repeat(self.offsets[:-1], self.n_chunks)
        padded = np.zeros((len(self), max_chunks, *self.chunk_shape), dtype=self.dtype)
        padded[self.chunk_owner, position] = self.chunks
        chunk_mask = np.zeros((len(self), max_chunks), dtype=bool)
        chunk_mask[self.chunk_owner, position] = True
        return padded, chunk_mask

    def frame_mask(self):
        """Boolean mask of real frames, shape ``(n_chunks_total, chunk_frames)``."""
        return np.arange(self.chunks.shape[2])[None, :] < self.n_frames[:, None]

    @classmethod
    def join_utterances(cls, parts):
        """Join several ``ChunkedFeatures`` of the same utterances: utterance
        ``i`` of the result holds the chunks of utterance ``i`` of every part,
        part after part (e.g. a recording's chunks, then its copies')."""
        parts = list(parts)
        n_utterances = len(parts[0]) if parts else 0
        if any(len(part) != n_utterances for part in parts):
            raise ValueError(f"cannot join the utterances of parts of different lengths: "
                             f"{[len(part) for part in parts]}")
        front_end = cls.concatenate(part[:1] for part in parts).front_end  # one front end
        counts = np.array([part.n_chunks for part in parts])  # (n_parts, n_utterances)
        offsets = np.concatenate([[0], np.cumsum(counts.sum(axis=0))])
        # each part's chunks of utterance i start after the earlier parts' chunks of i
        starts = offsets[:-1] + np.cumsum(counts, axis=0) - counts
        chunks = np.empty((offsets[-1], *parts[0].chunk_shape), parts[0].dtype)
        n_frames = np.empty(offsets[-1], parts[0].n_frames.dtype)
        for part, part_starts, part_counts in zip(parts, starts, counts, strict=True):
            rows = _ranges(part_starts, part_counts)
            chunks[rows] = part.chunks
            n_frames[rows] = part.n_frames
        return cls(chunks, offsets, n_frames, front_end=front_end,
                   speakers=getattr(parts[0], "speakers", None))

    @classmethod
    def concatenate(cls, parts):
        """Join several ``ChunkedFeatures`` (same chunk shape, same front end)
        utterance after utterance."""
        parts = list(parts)
        if not parts:
            raise ValueError("need at least one ChunkedFeatures to concatenate")
        front_ends = [getattr(p, "front_end", None) for p in parts]
        if any(front_end != front_ends[0] for front_end in front_ends):
            raise ValueError(
                "cannot concatenate chunks made by front ends with different settings: "
                + front_end_difference(front_ends[0], next(
                    front_end for front_end in front_ends if front_end != front_ends[0]))
            )
        counts = np.concatenate([p.n_chunks for p in parts])
        # each part's codes are its own: kept only when one part holds them all
        speakers = getattr(parts[0], "speakers", None) if len(parts) == 1 else None
        return cls(
            np.concatenate([p.chunks for p in parts]),
            np.concatenate([[0], np.cumsum(counts)]),
            np.concatenate([p.n_frames for p in parts]),
            front_end=front_ends[0], speakers=speakers,
        )
