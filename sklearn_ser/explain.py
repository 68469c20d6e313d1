"""Where the model listened: attention over time for one prediction.

The networks pool their recurrent layer's outputs with softmax attention
(Pham et al. 2020, eq. 13-14): for every chunk, weights ``beta_t >= 0`` over
the time steps ``t``, summing to one. :func:`explain` runs a fitted pipeline
on one utterance and maps those weights back onto the front end's 10 ms
frames and onto seconds of the audio;
:func:`~sklearn_ser.evaluation.plot_explanation` draws them.

How a weight maps onto frames: the network pools time by ``p`` (2 for both
networks) before its recurrent layer, so step ``t`` of a chunk covers the
``p`` frames ``frame_offset + p * t`` to ``frame_offset + p * t + p - 1`` of
that chunk (``frame_offset`` is 1 for ADCRNN, whose first convolution drops a
frame at each end, and 0 for ACRNN). Each of these frames gets ``beta_t /
p``, so a chunk's frame weights still sum to one; frames no step covers (the
first and last of an ADCRNN chunk, an odd last frame) get 0.
"""

from __future__ import annotations

import numpy as np
import soundfile
import torch
from sklearn.ensemble import VotingClassifier
from sklearn.utils import Bunch

from .features import LogMel3DTransformer, normalizes_by_speaker, samples_per
from .io import load_audio, source_name
from .nn import ChunkedNeuralNetClassifier

__all__ = ["explain", "frame_attention"]


def frame_attention(step_weights, *, n_frames, time_pool, frame_offset):
    """Attention over time steps spread onto the frames each step covers.

    Parameters
    ----------
    step_weights : np.ndarray [shape=(n_chunks, n_steps)]
        Softmax weights of the recurrent layer's time steps, one row per chunk.
    n_frames : int
        Frames of a chunk (``chunk_frames``).
    time_pool : int
        Frames pooled into one step (the network's ``time_pool``).
    frame_offset : int
        First frame of step 0 (the network's ``frame_offset``).

    Returns
    -------
    weights : np.ndarray [shape=(n_chunks, n_frames)]
        ``weights[c, frame_offset + time_pool * t + k] = step_weights[c, t] /
        time_pool`` for ``k < time_pool``; 0 for frames no step covers. Each
        row keeps its sum.
    """
    step_weights = np.asarray(step_weights, dtype=np.float64)
    n_chunks, n_steps = step_weights.shape
    covered = n_steps * time_pool
    if frame_offset + covered > n_frames:
        raise ValueError(f"{n_steps} steps of {time_pool} frames from frame {frame_offset} "
                         f"do not fit in a chunk of {n_frames} frames")
    weights = np.zeros((n_chunks, n_frames))
    weights[:, frame_offset:frame_offset + covered] = np.repeat(step_weights / time_pool,
                                                                time_pool, axis=1)
    return weights


def _leading_silence(source, front_end):
    """Seconds of leading digital silence ``trim_zeros`` drops before the first frame
    (the front end trims at the source's own rate, before resampling)."""
    if not front_end.trim_zeros:
        return 0.0
    dtype = np.dtype(front_end.precision)
    if isinstance(source, (np.ndarray, list)):  # a bare signal is at the front end's rate
        rate, signal = front_end.sample_rate, np.asarray(source)
    elif isinstance(source, tuple):
        rate, signal = source[1], load_audio(source, sample_rate=None, dtype=dtype)
    else:  # a path or a binary file: its own rate, read where the stream stands
        position = source.tell() if hasattr(source, "tell") else None
        try:
            signal = load_audio(source, sample_rate=None, dtype=dtype)
            if position is not None:
                source.seek(position)
            rate = soundfile.info(source).samplerate
        finally:
            if position is not None:
                source.seek(position)
    nonzero = np.flatnonzero(signal)
    return float(nonzero[0] / rate) if nonzero.size else 0.0


def _networks(classifier):
    """The fitted networks whose attention and probabilities are averaged."""
    if isinstance(classifier, VotingClassifier):
        if classifier.voting != "soft":
            raise ValueError("explain needs a soft vote (voting='soft'), whose probabilities "
                             "are the mean of its networks'")
        return list(classifier.estimators_)
    if isinstance(classifier, ChunkedNeuralNetClassifier):
        return [classifier]
    raise TypeError(
        f"explain needs a pipeline ending in an ADCRNN or ACRNN classifier (or a soft vote of "
        f"them), not {type(classifier).__name__}"
    )


def _attention(network, chunks):
    """``(chunk probabilities, frame weights)`` of one network on ``chunks``, in
    batches of its ``batch_size`` and under its ``predict_precision``, as
    ``predict`` runs it."""
    module = network.module_
    if not all(hasattr(module, name) for name in ("time_pool", "frame_offset")):
        raise TypeError(f"{type(module).__name__} does not say how its attention steps map "
                        "onto frames (time_pool, frame_offset)")
    was_training = module.training
    module.eval()
    probabilities, steps = [], []
    try:
        with torch.no_grad():
            for first in range(0, len(chunks), network.batch_size):
                batch = torch.as_tensor(np.ascontiguousarray(chunks[first:first
                                                                    + network.batch_size]),
                                        dtype=torch.float32, device=network.device_)
                logits, _, weights = network.infer(batch, return_attention=True)
                probabilities.append(torch.softmax(logits.float(), dim=-1).cpu().numpy())
                steps.append(weights.float().cpu().numpy())
    finally:
        module.train(was_training)
    weights = frame_attention(np.concatenate(steps), n_frames=chunks.shape[2],
                              time_pool=module.time_pool, frame_offset=module.frame_offset)
    return np.concatenate(probabilities).astype(np.float64), weights


def explain(pipeline, audio):
    """What a fitted pipeline predicts for one utterance, chunk by chunk, and where
    its attention went.

    Parameters
    ----------
    pipeline : sklearn.pipeline.Pipeline
        Fitted: a :class:`~sklearn_ser.LogMel3DTransformer`, then an ADCRNN or
        ACRNN classifier or a soft ``VotingClassifier`` of them (a vote's
        attention is the mean of its networks').
    audio : str, os.PathLike, binary file, np.ndarray or (np.ndarray, int)
        One utterance, as the front end takes it.

    Returns
    -------
    explanation : sklearn.utils.Bunch
        - ``label``: the predicted label; ``classes``: the labels, the
          columns of the probabilities;
        - ``proba`` [shape=(n_classes,)]: the utterance's probabilities, as
          ``pipeline.predict_proba([audio])[0]``;
        - ``chunk_proba`` [shape=(n_chunks, n_classes)]: each chunk's;
        - ``chunk_start``, ``chunk_end`` [shape=(n_chunks,)]: each chunk's real
          frames in seconds of the audio (from the start of its first frame to
          the end of its last);
        - ``chunk_attention`` [shape=(n_chunks, chunk_frames)]: each chunk's
          weights over its frames, summing to one per chunk (padding frames
          of a last, short chunk included; see the module docstring for the
          mapping);
        - ``attention`` [shape=(n_frames,)]: the weights over the utterance's
          real frames, each frame's mean over the chunks that hold it;
        - ``frame_times`` [shape=(n_frames,)]: the centre of every frame, in
          seconds of the audio (leading silence dropped by ``trim_zeros``
          counted in);
        - ``log_mel`` [shape=(n_frames, n_mels)]: the normalised static
          log-Mel channel the network saw;
        - ``hop_seconds``, ``frame_seconds``: the front end's framing.

    Raises
    ------
    TypeError
        The pipeline does not end in one of the toolkit's networks.
    sklearn.exceptions.NotFittedError
        The pipeline is not fitted.
    """
    steps = getattr(pipeline, "steps", None)
    if not steps or len(steps) != 2 or not isinstance(steps[0][1], LogMel3DTransformer):
        raise TypeError("explain needs a fitted Pipeline([(name, LogMel3DTransformer), "
                        f"(name, classifier)]), got {type(pipeline).__name__}")
    front_end, classifier = steps[0][1], steps[1][1]
    if normalizes_by_speaker(front_end.normalize):
        raise ValueError("explain reads one utterance, and a front end with "
                         "normalize='speaker' needs all of its speaker's utterances")
    networks = _networks(classifier)
    features = front_end.transform([audio])
    chunks = np.asarray(features.chunks)
    parts = [_attention(network, chunks) for network in networks]
    # a vote's weights, as its predict_proba averages its networks
    vote_weights = getattr(classifier, "weights", None) if len(networks) > 1 else None
    chunk_proba = np.average([proba for proba, _ in parts], axis=0, weights=vote_weights)
    chunk_attention = np.average([weights for _, weights in parts], axis=0,
                                 weights=vote_weights)
    proba = classifier.predict_proba(features)[0]
    classes = np.asarray(classifier.classes_)

    hop = front_end.chunk_hop_frames or front_end.chunk_frames
    real = np.asarray(features.n_frames)
    starts = np.arange(len(chunks)) * hop
    n_frames = int(starts[-1] + real[-1])
    total, cover = np.zeros(n_frames), np.zeros(n_frames)
    log_mel = np.zeros((n_frames, chunks.shape[-1]))
    for start, length, weights, chunk in zip(starts, real, chunk_attention, chunks, strict=True):
        total[start:start + length] += weights[:length]
        cover[start:start + length] += 1
        log_mel[start:start + length] = chunk[0, :length]
    attention = total / np.maximum(cover, 1)

    hop_s = samples_per(front_end.hop_seconds, front_end.sample_rate) / front_end.sample_rate
    frame_s = samples_per(front_end.frame_seconds, front_end.sample_rate) / front_end.sample_rate
    offset = _leading_silence(audio, front_end)
    return Bunch(
        source=source_name(audio),
        label=classes[int(np.argmax(proba))],
        classes=classes,
        proba=proba,
        chunk_proba=chunk_proba,
        chunk_start=offset + starts * hop_s,
        chunk_end=offset + (starts + real - 1) * hop_s + frame_s,
        chunk_attention=chunk_attention,
        attention=attention,
        frame_times=offset + np.arange(n_frames) * hop_s + frame_s / 2,
        log_mel=log_mel,
        hop_seconds=hop_s,
        frame_seconds=frame_s,
    )
