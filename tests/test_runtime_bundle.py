"""ONNX export (:mod:`sklearn_ser.export`) and the light predictor (:mod:`sklearn_ser.runtime`).

The oracle is the fitted torch ``Pipeline`` itself: a bundle must give its
probabilities (within 1e-4, float32), its timeline, and its errors; and the
runtime must run in a process where PyTorch, skorch and scikit-learn cannot
be imported at all.
"""

import json
import os
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest
import soundfile as sf
from sklearn.exceptions import NotFittedError

pytest.importorskip("onnxruntime")

from sklearn_ser.datasets import make_emotional_speech
from sklearn_ser.exceptions import ModelFileError
from sklearn_ser.export import export_onnx
from sklearn_ser.pipeline import build_pipeline
from sklearn_ser.runtime import (
    MANIFEST_MEMBER,
    NETWORK_MEMBER,
    is_bundle,
    load_bundle,
)
from sklearn_ser.timeline import predict_timeline

TOLERANCE = 1e-4


def _fit(model="adcrnn", **params):
    X, y, _ = make_emotional_speech(16, n_classes=3, duration=1.2, random_state=0)
    steps = {name: params.pop(name) for name in list(params) if "__" in name}
    pipe = build_pipeline(model=model, width="tiny", max_epochs=1, chunk_frames=50,
                          batch_size=8, verbose=0, precision="float32", **params)
    return pipe.set_params(**steps).fit(X, y), X


@pytest.fixture(scope="module")
def fitted():
    return _fit()


@pytest.fixture(scope="module")
def bundle_path(fitted, tmp_path_factory):
    return export_onnx(fitted[0], tmp_path_factory.mktemp("bundle") / "model.onnx.zip")


@pytest.fixture(scope="module")
def test_audio():
    X, _, _ = make_emotional_speech(5, n_classes=3, duration=2.3, random_state=7)
    return list(X)


@pytest.mark.parametrize("model, params", [
    ("adcrnn", {}),
    ("acrnn", {}),
    ("adcrnn", {"features__normalize": "utterance", "chunk_hop_frames": 25}),
])
def test_bundle_gives_the_pipelines_probabilities(model, params, tmp_path, test_audio):
    pipe, _ = _fit(model, **params)
    bundle = load_bundle(export_onnx(pipe, tmp_path / "m.onnx.zip"))
    np.testing.assert_array_equal(bundle.classes_, pipe.classes_)
    expected = pipe.predict_proba(test_audio)
    np.testing.assert_allclose(bundle.predict_proba(test_audio), expected, atol=TOLERANCE)
    np.testing.assert_array_equal(bundle.predict(test_audio), pipe.predict(test_audio))


@pytest.mark.parametrize("aggregate", ["frame-weighted", "geometric"])
def test_bundle_keeps_the_aggregation_rule(fitted, aggregate, tmp_path, test_audio):
    pipe = fitted[0]
    pipe[-1].set_params(aggregate=aggregate)
    try:
        bundle = load_bundle(export_onnx(pipe, tmp_path / "m.onnx.zip"))
        expected = pipe.predict_proba(test_audio)
    finally:
        pipe[-1].set_params(aggregate="mean")
    assert bundle.aggregate == aggregate
    np.testing.assert_allclose(bundle.predict_proba(test_audio), expected, atol=TOLERANCE)


def test_bundle_takes_paths_pairs_and_any_batch_size(fitted, bundle_path, tmp_path,
                                                     test_audio):
    pipe = fitted[0]
    path = tmp_path / "a.wav"
    sf.write(path, test_audio[0], 22050)  # another rate: resampled by the same front end
    sources = [str(path), (test_audio[1], 16000)]
    for batch_size in (1, 3):
        bundle = load_bundle(bundle_path, batch_size=batch_size, n_threads=1)
        np.testing.assert_allclose(bundle.predict_proba(sources), pipe.predict_proba(sources),
                                   atol=TOLERANCE)


def test_bundle_timeline_is_the_pipelines(fitted, bundle_path, tmp_path):
    pipe = fitted[0]
    signal = np.concatenate(make_emotional_speech(4, n_classes=3, duration=1.5,
                                                  random_state=2)[0])
    path = tmp_path / "long.wav"
    sf.write(path, signal, 16000, subtype="FLOAT")
    ours = list(load_bundle(bundle_path).timeline(path, hop_seconds=0.7))
    theirs = list(predict_timeline(pipe, path, hop_seconds=0.7))
    assert [(a, b) for a, b, _ in ours] == [(a, b) for a, b, _ in theirs]
    np.testing.assert_allclose([p for *_, p in ours], [p for *_, p in theirs], atol=TOLERANCE)


def test_bundle_names_a_bad_audio_file_as_the_pipeline_does(fitted, bundle_path, tmp_path):
    bad = tmp_path / "not_audio.wav"
    bad.write_bytes(b"plain text, not audio")
    with pytest.raises(ValueError) as ours:
        load_bundle(bundle_path).predict_proba([str(bad)])
    with pytest.raises(ValueError) as theirs:
        fitted[0].predict_proba([str(bad)])
    assert type(ours.value) is type(theirs.value)
    assert str(ours.value) == str(theirs.value)


def test_runtime_runs_where_torch_skorch_and_sklearn_cannot_be_imported(
        fitted, bundle_path, tmp_path, test_audio):
    np.save(tmp_path / "audio.npy", np.stack([s[:30000] for s in test_audio]))
    expected = fitted[0].predict_proba([s[:30000] for s in test_audio])
    script = textwrap.dedent(f"""
        import importlib.abc, sys

        class Refuse(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("torch", "skorch", "sklearn"):
                    raise ImportError(f"{{name}} is not installed here")

        sys.meta_path.insert(0, Refuse())
        import numpy as np
        from sklearn_ser.runtime import load_bundle

        audio = np.load({str(tmp_path / "audio.npy")!r})
        bundle = load_bundle({str(bundle_path)!r})
        np.save({str(tmp_path / "proba.npy")!r}, bundle.predict_proba(list(audio)))
        print(sorted(m for m in ("torch", "skorch", "sklearn") if m in sys.modules))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=120, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
    np.testing.assert_allclose(np.load(tmp_path / "proba.npy"), expected, atol=TOLERANCE)


def test_importing_sklearn_ser_loads_neither_torch_nor_sklearn():
    script = ("import sys, sklearn_ser, sklearn_ser.features, sklearn_ser.io, "
              "sklearn_ser.timeline, sklearn_ser.runtime; "
              "print(sorted(m for m in ('torch', 'skorch', 'sklearn') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# -- what cannot be exported ---------------------------------------------------------------

def test_export_refuses_what_it_cannot_export(fitted, tmp_path):
    pipe = fitted[0]
    with pytest.raises(ValueError, match="Pipeline of two steps"):
        export_onnx(pipe[-1], tmp_path / "x")
    with pytest.raises(ValueError, match="soft vote"):
        export_onnx(build_pipeline(width="tiny", n_seeds=2), tmp_path / "x")
    with pytest.raises(ValueError, match="opset=99"):
        export_onnx(pipe, tmp_path / "x", opset=99)
    unfitted = build_pipeline(width="tiny")
    with pytest.raises(NotFittedError, match="not initialized"):
        export_onnx(unfitted, tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_export_refuses_a_custom_nonlinearity_and_float_labels(tmp_path):
    X, y, _ = make_emotional_speech(8, n_classes=2, duration=1.0, random_state=0)
    pipe = build_pipeline(width="tiny", max_epochs=1, chunk_frames=50, batch_size=4,
                          verbose=0).fit(X, y == y[0])
    with pytest.raises(ValueError, match="all strings or all integers"):
        export_onnx(pipe, tmp_path / "x")
    pipe[-1].set_params(predict_nonlinearity=lambda output: output[0].softmax(-1))
    with pytest.raises(ValueError, match="predict_nonlinearity"):
        export_onnx(pipe, tmp_path / "x")


def test_export_into_a_missing_folder_names_it(fitted, tmp_path):
    with pytest.raises(FileNotFoundError, match="folder"):
        export_onnx(fitted[0], tmp_path / "missing" / "m.onnx.zip")


# -- hostile bundles -------------------------------------------------------------------------

def _members(path):
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _write(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _tampered(bundle_path, tmp_path, change):
    members = _members(bundle_path)
    manifest = json.loads(members[MANIFEST_MEMBER])
    change(manifest)
    members[MANIFEST_MEMBER] = json.dumps(manifest).encode()
    return _write(tmp_path / "tampered.zip", members)


@pytest.mark.parametrize("change, fragment", [
    (lambda m: m["front_end"].update(n_fft=2**24), "n_fft=16777216 is outside"),
    (lambda m: m["front_end"].update(sample_rate=10**7), "sample_rate=10000000"),
    (lambda m: m["front_end"].update(chunk_hop_frames=1, chunk_frames=50), "chunk_hop_frames=1"),
    (lambda m: m["front_end"].pop("n_mels"), "front_end must hold"),
    (lambda m: m["front_end"].update(normalize="speaker"), "normalize='speaker'"),
    (lambda m: m["normalization"].update(scale=[[0.0] * 40] * 3), "normalization 'scale'"),
    (lambda m: m["normalization"].update(mean=[[1.0]] * 3), "normalization 'mean'"),
    (lambda m: m.update(classes=["a", "a", "b"]), "unique labels"),
    (lambda m: m.update(classes=["a", 1, "b"]), "all strings or all integers"),
    (lambda m: m.update(aggregate="median"), "aggregate='median'"),
    (lambda m: m.update(format_version=9), "newer than this sklearn_ser reads"),
    (lambda m: m.update(format="something.else"), "does not declare format"),
    (lambda m: m.update(classes=["a", "b"]), "network takes"),
])
def test_a_tampered_manifest_is_refused_naming_the_file(bundle_path, tmp_path, change, fragment):
    path = _tampered(bundle_path, tmp_path, change)
    with pytest.raises(ModelFileError, match=r"tampered\.zip") as info:
        load_bundle(path)
    assert fragment in str(info.value)


@pytest.mark.parametrize("damage, fragment", [
    (lambda m, p: _write(p, m, zipfile.ZIP_DEFLATED), "compressed"),
    (lambda m, p: _write(p, {MANIFEST_MEMBER: m[MANIFEST_MEMBER]}), "expected the members"),
    (lambda m, p: _write(p, {**m, NETWORK_MEMBER: b"not onnx"}), "onnxruntime cannot read"),
    (lambda m, p: _write(p, {**m, MANIFEST_MEMBER: b'{"a": NaN}'}), "NaN"),
    (lambda m, p: _write(p, {**m, MANIFEST_MEMBER: b"[" * 100_000}), "nests deeper"),
    (lambda m, p: p.write_bytes(p.read_bytes()[:1000]) and p, "not a zip archive"),
])
def test_a_damaged_bundle_is_refused_naming_the_file(bundle_path, tmp_path, damage, fragment):
    path = tmp_path / "damaged.zip"
    path.write_bytes(bundle_path.read_bytes())
    damage(_members(bundle_path), path)
    with pytest.raises(ModelFileError, match=r"damaged\.zip") as info:
        load_bundle(path)
    assert fragment in str(info.value)
    assert "weights_only" not in str(info.value)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "model.onnx.zip"
    os.mkfifo(fifo)
    with pytest.raises(ModelFileError, match="named pipe"):
        load_bundle(fifo)
    assert not is_bundle(fifo)


def test_is_bundle_tells_a_bundle_from_a_model_file(fitted, bundle_path, tmp_path):
    from sklearn_ser.persistence import save_model

    assert is_bundle(bundle_path)
    assert not is_bundle(save_model(fitted[0], tmp_path / "model.sser"))
    assert not is_bundle(tmp_path / "missing")


@pytest.mark.parametrize("params, fragment", [
    ({"n_threads": 0}, "n_threads=0"), ({"batch_size": 0}, "batch_size=0"),
    ({"batch_size": True}, "batch_size=True"),
])
def test_load_bundle_checks_its_arguments(bundle_path, params, fragment):
    with pytest.raises(ValueError, match=fragment):
        load_bundle(bundle_path, **params)
