"""Hostile model files and mismatched front ends: every limit holds when a file is
loaded, every failure is a ModelFileError naming the file, and a classifier never
runs silently behind a front end it was not fitted behind.

Each test's name starts with its kind: ``crash_or_hang``, ``silent`` or ``confusing``.
"""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from sklearn.pipeline import Pipeline

from sklearn_ser import ADCRNNClassifier, LogMel3DTransformer
from sklearn_ser.exceptions import SklearnSerError
from sklearn_ser.persistence import ModelFileError, load_model, save_model

RATE = 16000
TINY = dict(module__conv_channels=2, module__dilated_channels=4, module__linear_units=8,
            module__lstm_units=4, module__embedding_dim=4, max_epochs=1, batch_size=4,
            random_state=0, verbose=0)


def signals(n=6, seed=0):
    rng = np.random.default_rng(seed)
    return [0.1 * rng.standard_normal(int(RATE * 0.8)) for _ in range(n)]


LABELS = ["anger", "joy"] * 3


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    pipe = Pipeline([("features", LogMel3DTransformer(chunk_frames=40, n_mels=16)),
                     ("clf", ADCRNNClassifier(**TINY))]).fit(signals(), LABELS)
    return pipe, save_model(pipe, tmp_path_factory.mktemp("model") / "model.sser")


def rewrite(path, target, edit):
    """A copy of a model file with ``edit(text)`` applied to its metadata.json text."""
    with zipfile.ZipFile(path) as archive:
        contents = {name: archive.read(name) for name in archive.namelist()}
    contents["metadata.json"] = edit(contents["metadata.json"].decode()).encode()
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in contents.items():
            archive.writestr(name, data)
    return target


def set_param(step, name, value):
    def edit(text):
        document = json.loads(text)
        document["steps"][step]["params"][name] = value
        return json.dumps(document)
    return edit


def set_raw(step, name, raw):
    """Put JSON text ``raw`` (which json.dumps cannot write) as a parameter's value."""
    def edit(text):
        document = json.loads(text)
        document["steps"][step]["params"][name] = "@@RAW@@"
        return json.dumps(document).replace('"@@RAW@@"', raw)
    return edit


def refused(saved, tmp_path, edit, message):
    path = rewrite(saved[1], tmp_path / "tampered.sser", edit)
    with pytest.raises(ModelFileError, match=message) as info:
        load_model(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, ValueError) and isinstance(info.value, SklearnSerError)
    return info.value


# -- crash or hang ---------------------------------------------------------------------------

LIMITS = {
    "a chunk hop of one frame": (  # loaded, then asked 40x the memory at predict
        set_param(0, "chunk_hop_frames", 1), r"chunk_hop_frames=1 must be >= chunk_frames/8"),
    "a huge sample rate and FFT": (
        lambda text: set_param(0, "n_fft", 2**18)(set_param(0, "sample_rate", 10**7)(text)),
        r"sample_rate=10000000 is outside the supported range 1,000 to 384,000.*"
        r"n_fft=262144 is outside the supported range 1 to 65,536"),
    "a huge max_chunks": (set_param(0, "max_chunks", 10**12), r"max_chunks=1000000000000 is "
                                                              r"outside"),
    "delta over a million frames": (set_param(0, "delta_width", 10**6), r"delta_width=1000000"),
    "a frame of an hour": (set_param(0, "frame_seconds", 3600.0), r"frame_seconds=3600\.0"),
    "batch_size -1 (every chunk at once)": (
        set_param(1, "batch_size", -1), r"batch_size=-1 must be an int in the range \[1, 4096\]"),
    "a huge DataLoader batch": (
        set_param(1, "iterator_valid__batch_size", 10**9), r"iterator_valid__batch_size="),
}


@pytest.mark.parametrize("case", list(LIMITS))
def test_crash_or_hang_limits_hold_when_a_model_file_is_loaded(case, saved, tmp_path):
    edit, message = LIMITS[case]
    refused(saved, tmp_path, edit, message)


# -- silent: a classifier behind another front end ------------------------------------------

def test_silent_a_classifier_refuses_chunks_of_another_sample_rate():
    """Only the chunk shape was compared: 8 kHz features went through a 16 kHz model."""
    wide = LogMel3DTransformer(chunk_frames=40, n_mels=16)
    narrow = LogMel3DTransformer(chunk_frames=40, n_mels=16, sample_rate=8000, f_max=4000.0)
    clf = ADCRNNClassifier(**TINY).fit(wide.fit_transform(signals()), LABELS)
    assert clf.front_end_ == wide.feature_settings()
    chunks = narrow.fit_transform(signals())
    assert chunks.chunk_shape == (3, 40, 16)  # the same shape: the old check let it through
    with pytest.raises(ValueError, match=r"other settings than the one ADCRNNClassifier was "
                                         r"fitted behind: f_max=4000\.0 \(not 8000\.0\), "
                                         r"sample_rate=8000 \(not 16000\)"):
        clf.predict(chunks)
    with pytest.raises(ValueError, match=r"sample_rate=8000 \(not 16000\)"):
        Pipeline([("features", narrow), ("clf", clf)]).predict(signals(2))
    with pytest.raises(ValueError, match=r"hop_seconds=0\.02 \(not 0\.01\)"):
        clf.partial_fit(LogMel3DTransformer(chunk_frames=40, n_mels=16, hop_seconds=0.02)
                        .fit_transform(signals()), LABELS)
    # what does not change a frame is no reason to refuse: overlapping chunks at predict
    overlapping = LogMel3DTransformer(chunk_frames=40, n_mels=16, chunk_hop_frames=20,
                                      trim_zeros=True).fit(signals())
    assert clf.predict(overlapping.transform(signals(2))).shape == (2,)


def test_silent_the_front_end_record_travels_with_the_model_file(saved, tmp_path):
    pipe, path = saved
    loaded = load_model(path)
    assert loaded[-1].front_end_ == pipe[0].feature_settings()
    # a file whose classifier was fitted behind other settings than its front end's
    def other_rate(text):
        document = json.loads(text)
        document["steps"][0]["params"].update(sample_rate=8000, f_max=4000.0)
        return json.dumps(document)
    refused(saved, tmp_path, other_rate, r"fitted behind a front end with other settings "
                                         r"than the file's: .*sample_rate=8000 \(not 16000\)")
    # files written before the record load as they did
    def no_record(text):
        document = json.loads(text)
        del document["steps"][1]["fitted"]["front_end_"]
        return json.dumps(document)
    older = load_model(rewrite(path, tmp_path / "older.sser", no_record))
    assert older[-1].front_end_ is None
    np.testing.assert_array_equal(older.predict_proba(signals(2)), pipe.predict_proba(signals(2)))


# -- confusing: the toolkit's error, naming the file, for any tampered value -----------------

TAMPERED = {
    "JSON nested 100,000 deep": (set_raw(0, "window", "[" * 100_000 + "]" * 100_000),
                                 r"metadata\.json nests deeper than 16 levels"),
    "JSON nested 100 deep": (set_raw(0, "window", "[" * 100 + "]" * 100),
                             r"nests deeper than 16 levels"),
    "a 5000-digit integer": (set_raw(0, "n_mels", "9" * 5000), r"an integer of 5000 digits"),
    "NaN": (set_raw(1, "lr", "NaN"), r"holds NaN"),
    "Infinity": (set_raw(0, "f_min", "-Infinity"), r"holds -Infinity"),
    "a float beyond range": (set_raw(0, "preemphasis", "1e400"), r"beyond the range of a float"),
    "a negative size": (set_param(0, "n_mels", -3), r"'n_mels' parameter .* Got -3"),
    "a size as text": (set_param(0, "n_fft", "512"), r"'n_fft' parameter .* Got '512'"),
    "a size as a list": (set_param(0, "sample_rate", [16000]),
                         r"'sample_rate' parameter .* Got \[16000\]"),
    "an integer beyond 64 bits": (set_param(1, "max_epochs", 2**70), r"integer of 22 digits"),
    "a front-end record of objects": (
        lambda text: text.replace('"front_end_": {', '"front_end_": {"x": [1], ', 1),
        r"front_end_ must map"),
}


@pytest.mark.parametrize("case", list(TAMPERED))
def test_confusing_tampered_values_are_model_file_errors(case, saved, tmp_path):
    edit, message = TAMPERED[case]
    error = refused(saved, tmp_path, edit, message)
    assert not isinstance(error.__cause__, RecursionError | OverflowError) or "nests" in str(error)


# -- the same limits where the estimators are built by hand --------------------------------

def test_crash_or_hang_front_end_limits_hold_at_fit_and_in_the_functions():
    from sklearn_ser.features import deltas, frame_signal, log_mel_spectrogram_batch

    one_signal = signals(1)  # 0.8 s
    with pytest.raises(ValueError, match=r"LogMel3DTransformer: sample_rate=10000000 is outside "
                                         r"the supported range 1,000 to 384,000; n_fft=262144"):
        LogMel3DTransformer(sample_rate=10**7, n_fft=2**18).fit(one_signal)
    with pytest.raises(ValueError, match=r"chunk_hop_frames=1 must be >= chunk_frames/8 = 38"):
        LogMel3DTransformer(chunk_hop_frames=1).fit(one_signal)
    with pytest.raises(ValueError, match=r"n_mels=<an integer of 16610 bits> is outside"):
        LogMel3DTransformer(n_mels=10**5000).fit(one_signal)  # too long even to print
    with pytest.raises(ValueError, match=r"log_mel_spectrogram_batch: n_fft=1048576 is outside"):
        log_mel_spectrogram_batch(one_signal, n_fft=2**20)
    with pytest.raises(ValueError, match=r"deltas: width=1000000000 is outside"):
        deltas(np.zeros((10, 3)), width=10**9)
    with pytest.raises(ValueError, match=r"frame_signal: frame_length=1000000000000 is outside"):
        frame_signal(np.zeros(10), 10**12, 1)
    # the largest FFT allowed runs in blocks of 2**20 samples, not of 512 frames
    log_mel, _ = log_mel_spectrogram_batch(one_signal, n_fft=2**16, frame_seconds=1.0,
                                           hop_seconds=0.5)
    assert log_mel.shape == (1, 40) and np.isfinite(log_mel).all()


def test_crash_or_hang_batch_sizes_are_bounded_when_set_by_hand(saved):
    chunks = saved[0][0].transform(signals(2))
    with pytest.raises(ValueError, match=r"batch_size=-1 must be an int in the range "
                                         r"\[1, 4096\]"):
        ADCRNNClassifier(**{**TINY, "batch_size": -1}).fit(chunks, ["anger", "joy"])
    clf = saved[0][-1]
    with pytest.raises(ValueError, match=r"iterator_valid__batch_size=1000000 must be"):
        clf.set_params(iterator_valid__batch_size=10**6)
    assert clf.batch_size == 4 and "iterator_valid__batch_size" not in vars(clf)
