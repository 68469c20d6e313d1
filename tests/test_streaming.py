"""A file read block by block: :func:`sklearn_ser.io.stream_audio`,
:func:`sklearn_ser.features.stream_chunks` and :func:`sklearn_ser.timeline.predict_file`.

The oracles are the whole-file paths: ``load_audio`` for the samples, the
front end's ``transform`` for the chunks, and the pipeline's
``predict_proba`` for the probabilities.
"""

import os
import tracemalloc

import numpy as np
import pytest
import soundfile as sf

from sklearn_ser import LogMel3DTransformer
from sklearn_ser.datasets import make_emotional_speech
from sklearn_ser.exceptions import (
    AudioFileError,
    InvalidSignalError,
    ShortSignalWarning,
    SignalRangeWarning,
)
from sklearn_ser.features import stream_chunks
from sklearn_ser.io import load_audio, stream_audio
from sklearn_ser.pipeline import build_pipeline
from sklearn_ser.timeline import predict_file, supports_predict_file


def _speech(seconds, rate, seed=0):
    """Noise with a rising tone, digital silence at both ends (for trim_zeros)."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * rate)) / rate
    signal = 0.2 * np.sin(2 * np.pi * (150 + 20 * t) * t) + 0.05 * rng.standard_normal(len(t))
    signal[: rate // 3] = 0.0
    signal[-rate // 5 :] = 0.0
    return signal


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Files whose reading exercises every stage: rates, channels, containers."""
    root = tmp_path_factory.mktemp("streaming")
    speech = _speech(9.3, 16000)
    made = {}
    for name, data, rate, subtype in [
        ("mono16k.wav", speech, 16000, "PCM_16"),
        ("stereo22k.wav", np.stack([_speech(9.3, 22050), _speech(9.3, 22050, 1)], 1), 22050,
         "PCM_24"),
        ("mono44k.flac", _speech(7.1, 44100), 44100, "PCM_16"),
        ("float8k.wav", _speech(5.0, 8000), 8000, "FLOAT"),
        ("short.wav", speech[6000:9000], 16000, "PCM_16"),
    ]:
        made[name] = root / name
        sf.write(made[name], data, rate, subtype=subtype)
    return made


@pytest.mark.parametrize("name", ["mono16k.wav", "stereo22k.wav", "mono44k.flac", "float8k.wav"])
@pytest.mark.parametrize("resampler", ["soxr", "scipy"])
@pytest.mark.parametrize("trim_zeros", [False, True])
def test_stream_audio_is_load_audio_block_by_block(files, name, resampler, trim_zeros):
    kwargs = dict(sample_rate=16000, resampler=resampler, dtype=np.float32,
                  trim_zeros=trim_zeros)
    expected = load_audio(files[name], **kwargs)
    ratio = 16000 / sf.info(files[name]).samplerate
    for block_samples in (997, 1 << 14):
        blocks = list(stream_audio(files[name], block_samples=block_samples, **kwargs))
        assert max(map(len, blocks)) < 3 * block_samples * ratio
        np.testing.assert_array_equal(np.concatenate(blocks), expected)


@pytest.mark.parametrize("bad, match", [
    ({"sample_rate": 500}, r"sample_rate=500 must be an int in the range \[1000, 384000\]"),
    ({"sample_rate": 16000.5}, "sample_rate=16000.5"),
    ({"resampler": "sinc"}, "resampler='sinc'"),
    ({"block_samples": 0}, "block_samples=0"),
    ({"dtype": np.int16}, "dtype=int16 must be float32 or float64"),
])
def test_stream_audio_checks_its_arguments_before_opening_the_file(files, bad, match):
    with pytest.raises(ValueError, match=match):
        stream_audio(files["mono16k.wav"], **{"sample_rate": 16000, **bad})


def test_stream_audio_leaves_no_file_open(files, recwarn):
    import gc

    blocks = stream_audio(files["mono16k.wav"], sample_rate=16000)
    blocks.close()  # before the first block: nothing was left open
    first = next(iter(stream_audio(files["mono16k.wav"], sample_rate=16000, block_samples=64)))
    assert len(first) == 64  # an abandoned generator closes its file when collected
    gc.collect()
    assert not [w for w in recwarn if issubclass(w.category, ResourceWarning)]


def test_stream_audio_names_the_file_at_fault(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nothing\.wav"):
        stream_audio(tmp_path / "nothing.wav", sample_rate=16000)
    text = tmp_path / "notes.wav"
    text.write_text("not audio at all, just text" * 10)
    with pytest.raises(AudioFileError, match=r"notes\.wav"):
        stream_audio(text, sample_rate=16000)
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "pipe.wav")
        with pytest.raises(AudioFileError, match=r"pipe\.wav"):
            stream_audio(tmp_path / "pipe.wav", sample_rate=16000)  # refused, not waited on
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(4000), 16000)
    with pytest.raises(InvalidSignalError, match=r"silent\.wav.*digital silence"):
        list(stream_audio(silent, sample_rate=16000, trim_zeros=True))
    one = tmp_path / "one.wav"
    sf.write(one, np.array([0.5]), 48000)
    with pytest.raises(InvalidSignalError, match=r"one\.wav: 1 samples at 48000 Hz leave none"):
        list(stream_audio(one, sample_rate=16000))


def _front_end(path, **params):
    return LogMel3DTransformer(**params).fit([path])


@pytest.mark.parametrize("name, params", [
    ("mono16k.wav", {}),
    ("mono16k.wav", {"chunk_frames": 200, "chunk_hop_frames": 70, "trim_zeros": True}),
    ("mono16k.wav", {"chunk_frames": 100, "chunk_hop_frames": 230}),  # gaps between chunks
    ("mono16k.wav", {"max_chunks": 2, "normalize": False}),
    ("mono16k.wav", {"normalize": "utterance", "precision": "float64"}),
    ("mono16k.wav", {"preemphasis": 0.0, "delta_width": 3, "window": "hamming"}),
    ("mono16k.wav", {"frame_seconds": 0.005, "hop_seconds": 0.012}),  # hop > frame
    ("stereo22k.wav", {"trim_zeros": True}),
    ("mono44k.flac", {"resampler": "scipy", "sample_rate": 8000, "f_max": 4000}),
    ("short.wav", {}),
])
def test_stream_chunks_are_transforms_chunks_bit_for_bit(files, name, params, monkeypatch):
    front_end = _front_end(files[name], **params)
    expected = front_end.transform([files[name]])
    # small blocks: frames, deltas and chunks straddle many block edges
    monkeypatch.setitem(stream_audio.__kwdefaults__, "block_samples", 1237)
    blocks = list(stream_chunks(files[name], front_end.get_params(), mean=front_end.mean_,
                                scale=front_end.scale_, chunks_per_block=3))
    assert all(len(chunks) <= 3 for chunks, _ in blocks)
    chunks = np.concatenate([chunks for chunks, _ in blocks])
    np.testing.assert_array_equal(chunks, expected.chunks)
    np.testing.assert_array_equal(np.concatenate([n for _, n in blocks]), expected.n_frames)


def test_stream_chunks_refuses_speaker_normalisation_and_warns_of_loud_audio(files, tmp_path):
    front_end = _front_end(files["mono16k.wav"])
    params, mean, scale = front_end.get_params(), front_end.mean_, front_end.scale_
    with pytest.raises(ValueError, match="normalize='speaker'"):
        stream_chunks(files["mono16k.wav"], {**params, "normalize": "speaker"},
                      mean=mean, scale=scale)
    for bad, kwargs, match in [
        ({"chunk_frames": 0}, {}, "chunk_frames"),
        ({"f_max": 9000.0}, {}, "f_max=9000.0 must be <= sample_rate/2"),
        ({}, {"chunks_per_block": 0}, "chunks_per_block=0"),
        ({}, {"mean": mean[:, :5]}, r"mean must be a finite array of shape \(3, 40\)"),
        ({}, {"scale": 0 * scale}, r"scale must be a finite array of shape \(3, 40\), > 0"),
    ]:
        with pytest.raises(ValueError, match=match):
            stream_chunks(files["mono16k.wav"], {**params, **bad},
                          **{"mean": mean, "scale": scale, **kwargs})
    with pytest.raises(ValueError, match=r"params lacks \['trim_zeros'\]"):
        stream_chunks(files["mono16k.wav"], {k: v for k, v in params.items()
                                             if k != "trim_zeros"}, mean=mean, scale=scale)
    tiny = tmp_path / "tiny.wav"
    sf.write(tiny, 0.1 * np.ones(200), 16000)
    with pytest.warns(ShortSignalWarning, match=r"tiny\.wav is no longer than one analysis"):
        list(stream_chunks(tiny, params, mean=mean, scale=scale))
    loud = tmp_path / "loud.wav"
    sf.write(loud, 300 * _speech(2.0, 16000), 16000, subtype="FLOAT")
    with pytest.warns(SignalRangeWarning, match="loud.wav"):
        list(stream_chunks(loud, front_end.get_params(), mean=front_end.mean_,
                           scale=front_end.scale_))


@pytest.fixture(scope="module")
def models():
    """A network and a soft vote of two, tiny, 1-s chunks, trained for one epoch."""
    X, y, _ = make_emotional_speech(24, n_classes=3, n_speakers=4, duration=1.0,
                                    random_state=0)
    params = dict(width="tiny", max_epochs=1, chunk_frames=100, batch_size=8,
                  precision="float32", verbose=0)
    return (build_pipeline("cpu", **params).fit(X, y),
            build_pipeline("cpu", n_seeds=2, **params).fit(X, y))


@pytest.mark.parametrize("which", [0, 1])
def test_predict_file_is_predict_proba_of_the_file(models, files, which):
    model = models[which]
    assert supports_predict_file(model)
    for name in ("stereo22k.wav", "mono44k.flac", "short.wav"):
        expected = model.predict_proba([files[name]])[0]
        # float32 convolutions round differently for other batch sizes
        np.testing.assert_allclose(predict_file(model, files[name], chunks_per_block=2),
                                   expected, rtol=1e-6, atol=1e-7)
    with pytest.raises(ValueError, match="chunks_per_block=0"):
        predict_file(model, files["short.wav"], chunks_per_block=0)


def test_predict_file_weighs_a_vote_as_the_vote_does(models, files):
    vote = models[1]
    vote.set_params(clf__weights=[1.0, 3.0])
    try:
        np.testing.assert_allclose(predict_file(vote, files["stereo22k.wav"]),
                                   vote.predict_proba([files["stereo22k.wav"]])[0],
                                   rtol=1e-6, atol=1e-7)
    finally:
        vote.set_params(clf__weights=None)


def test_predict_file_refuses_what_it_cannot_stream(models, files):
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import SVC

    from sklearn_ser.features import UtteranceStatistics

    X, y, _ = make_emotional_speech(12, n_classes=2, n_speakers=2, duration=1.0,
                                    random_state=1)
    pooled = make_pipeline(LogMel3DTransformer(chunk_frames=100), UtteranceStatistics(),
                           SVC()).fit(X, y)
    assert not supports_predict_file(pooled)
    with pytest.raises(ValueError, match=r"model\.predict_proba"):
        predict_file(pooled, files["short.wav"])
    with pytest.raises(ValueError, match="predict_file needs a Pipeline whose first step"):
        predict_file(make_pipeline(SVC()), files["short.wav"])
    unfitted = build_pipeline(width="tiny")
    assert not supports_predict_file(unfitted)


def _write_minutes(path, minutes, rate=16000):
    rng = np.random.default_rng(0)
    with sf.SoundFile(path, "w", samplerate=rate, channels=1, subtype="PCM_16") as out:
        for _ in range(6 * minutes):
            out.write(0.1 * rng.standard_normal(10 * rate))


def test_predict_file_memory_does_not_grow_with_the_file(models, tmp_path):
    model = models[0]
    peaks = {}
    for minutes in (3, 9):  # 3 minutes fill the blocks of 64 one-second chunks
        path = tmp_path / f"{minutes}min.wav"
        _write_minutes(path, minutes)
        tracemalloc.start()
        proba = predict_file(model, path)
        peaks[minutes] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert proba.shape == (3,)
    tracemalloc.start()
    model.predict_proba([path])
    whole = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peaks[9] < 1.1 * peaks[3]  # bounded by the blocks, not the length
    assert peaks[9] < whole / 4
