"""sklearn_ser.timeline: windows over a long recording, each the pipeline's prediction.

The oracle is the pipeline itself: every window's probabilities must be
``predict_proba`` of that window's samples, mixed to mono at the file's rate.
"""

import copy
import math
import tracemalloc

import numpy as np
import pytest
import soundfile as sf

from sklearn_ser.datasets import make_emotional_speech
from sklearn_ser.pipeline import build_pipeline
from sklearn_ser.timeline import WINDOWS_PER_BLOCK, predict_timeline, window_bounds


@pytest.fixture(scope="module")
def model():
    """A tiny pipeline with 1-s chunks (100 frames), trained for one epoch in float32."""
    X, y, _ = make_emotional_speech(24, n_classes=2, n_speakers=4, duration=1.0,
                                    random_state=0)
    pipe = build_pipeline("paper", width="tiny", max_epochs=1, chunk_frames=100,
                          lr=3e-3, precision="float32", verbose=0)
    return pipe.fit(X, y)


def test_timeline_windows_are_the_pipeline_on_slices_of_the_file(model, tmp_path):
    # 22.05 kHz stereo: windows are cut in the file's samples, mixed and resampled each.
    rate, seconds, hop = 22050, 7.3, 0.4
    rng = np.random.default_rng(1)
    stereo = rng.standard_normal((round(seconds * rate), 2)).astype(np.float32) * 0.1
    path = tmp_path / "long.wav"
    sf.write(path, stereo, rate, subtype="FLOAT")
    rows = list(predict_timeline(model, path, hop_seconds=hop, windows_per_block=3))

    mono = stereo.mean(axis=1, dtype=np.float32)
    window = rate  # the model's chunk: 100 frames of 10 ms
    starts, stops = window_bounds(len(mono), window, round(hop * rate))
    assert len(rows) == len(starts) == 1 + math.ceil((len(mono) - window) / (hop * rate))
    windows = [(mono[a:b], rate) for a, b in zip(starts, stops, strict=True)]
    # Batched as the timeline batches them (3 per block): float32 convolutions
    # round differently for another batch size.
    expected = np.concatenate([model.predict_proba(windows[i : i + 3])
                               for i in range(0, len(windows), 3)])
    np.testing.assert_allclose([row[2] for row in rows], expected, rtol=1e-12)
    np.testing.assert_allclose([row[0] for row in rows], starts / rate)
    assert rows[-1][1] == pytest.approx(seconds)  # the last window ends with the file


@pytest.mark.parametrize("n_samples, window, hop", [
    (96000, 32000, 48000),  # 6 s, 2-s windows every 3 s: 0-2, 3-5 (no window at 6 s)
    (72000, 16000, 36000),  # 4.5 s, 1-s windows every 2.25 s: 0-1, 2.25-3.25
    (50, 20, 7), (50, 20, 20), (50, 20, 30), (50, 80, 7), (1, 20, 30), (60, 20, 20),
])
def test_window_bounds_never_start_a_window_at_or_past_the_end(n_samples, window, hop):
    starts, stops = window_bounds(n_samples, window, hop)
    expected = [0]  # windows every hop until one reaches the end, none past it
    while expected[-1] + window < n_samples and expected[-1] + hop < n_samples:
        expected.append(expected[-1] + hop)
    assert starts.tolist() == expected
    np.testing.assert_array_equal(stops, np.minimum(np.array(expected) + window, n_samples))
    assert (stops > starts).all()


def test_a_hop_longer_than_the_window_skips_the_gaps(model, tmp_path):
    # 4.5 s at 16 kHz, the model's 1-s window every 2.25 s: the third window
    # would start at 4.5 s, the end of the file, and is not made
    signal = np.random.default_rng(4).standard_normal(72000).astype(np.float32) * 0.1
    path = tmp_path / "gaps.wav"
    sf.write(path, signal, 16000, subtype="FLOAT")
    rows = list(predict_timeline(model, path, hop_seconds=2.25))
    assert [(row[0], row[1]) for row in rows] == [(0.0, 1.0), (2.25, 3.25)]
    expected = model.predict_proba([(signal[:16000], 16000), (signal[36000:52000], 16000)])
    np.testing.assert_allclose([row[2] for row in rows], expected, rtol=1e-12)


@pytest.fixture(scope="module")
def trimming(model):
    """The model with a front end that drops each signal's leading and trailing zeros."""
    return copy.deepcopy(model).set_params(features__trim_zeros=True)


def speech_then_silence(path, silence_samples, rate=22050):
    """Write 0.5 s of noise and ``silence_samples`` of digital silence; return the noise."""
    speech = np.random.default_rng(2).standard_normal(rate // 2).astype(np.float32) * 0.1
    sf.write(path, np.concatenate([speech, np.zeros(silence_samples, np.float32)]), rate,
             subtype="FLOAT")
    return speech


def test_a_trim_zeros_model_gives_nan_for_digital_silence(trimming, tmp_path):
    rate = 22050
    path = tmp_path / "pause.wav"
    speech = speech_then_silence(path, 3 * rate, rate)
    rows = list(predict_timeline(trimming, path, hop_seconds=1.0))
    assert [row[0] for row in rows] == [0.0, 1.0, 2.0, 3.0]
    # the first window is the speech, trimmed before resampling as a file would be
    np.testing.assert_allclose(rows[0][2], trimming.predict_proba([(speech, rate)])[0],
                               rtol=1e-12)
    assert all(np.isnan(row[2]).all() for row in rows[1:])


def test_a_file_no_longer_than_a_window_is_predict_proba_of_the_file(model, trimming,
                                                                     tmp_path):
    rate = 22050
    short = tmp_path / "short.wav"
    speech = speech_then_silence(short, rate // 4, rate)
    for pipe in (model, trimming):
        (row,) = predict_timeline(pipe, short)
        assert (row[0], row[1]) == (0.0, pytest.approx((len(speech) + rate // 4) / rate))
        np.testing.assert_array_equal(row[2], pipe.predict_proba([short])[0])


def write_long_wav(path, minutes, rate=16000):
    """A tone in noise written 10 s at a time (the test itself never holds the whole file)."""
    rng = np.random.default_rng(0)
    t = np.arange(10 * rate) / rate
    with sf.SoundFile(path, "w", samplerate=rate, channels=1, subtype="PCM_16") as out:
        for _ in range(6 * minutes):
            out.write(0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(len(t)))
    return 60 * minutes * rate


def test_timeline_memory_does_not_grow_with_the_file(model, tmp_path):
    peaks = {}
    for minutes in (1, 10):
        path = tmp_path / f"{minutes}min.wav"
        n_samples = write_long_wav(path, minutes)
        tracemalloc.start()
        n_rows = sum(1 for _ in predict_timeline(model, path, hop_seconds=1.0))
        peaks[minutes] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert n_rows == 60 * minutes
    whole_file_float32 = n_samples * 4  # 38.4 MB decoded at the front end's precision
    assert peaks[10] < whole_file_float32 / 4
    assert peaks[10] < 1.2 * peaks[1]  # bounded by the block, not the length
    assert WINDOWS_PER_BLOCK < n_rows


def test_a_hop_longer_than_the_window_reads_only_the_windows(model, tmp_path, monkeypatch):
    import soundfile as sf

    from sklearn_ser import timeline as timeline_module

    rate = 16000
    path = tmp_path / "long.wav"
    sf.write(path, 0.1 * np.sin(np.arange(rate * 60) / 7.0), rate)  # 60 s
    read = []
    original = timeline_module._read

    def counting(audio, start, stop, dtype):
        read.append(stop - start)
        return original(audio, start, stop, dtype)

    monkeypatch.setattr(timeline_module, "_read", counting)
    rows = list(timeline_module.predict_timeline(model, path, window_seconds=1.0,
                                                 hop_seconds=20.0))
    assert [(start, end) for start, end, _ in rows] == [(0.0, 1.0), (20.0, 21.0), (40.0, 41.0)]
    assert max(read) == rate  # one window at a time, never the 20 s between them
    with pytest.raises(ValueError, match="must be finite numbers > 0"):
        timeline_module.predict_timeline(model, path, hop_seconds=float("inf"))
