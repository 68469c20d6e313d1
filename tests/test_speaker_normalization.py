"""``LogMel3DTransformer(normalize="speaker")``: statistics pooled per speaker, the
speakers routed by scikit-learn's metadata routing, refused where they cannot reach."""

import itertools
import warnings
from pathlib import Path

import numpy as np
import pytest
import sklearn

from sklearn_ser import LogMel3DTransformer
from sklearn_ser.features import standardize_speakers, standardize_utterances

FRONT_END = dict(chunk_frames=400, n_mels=20)  # one chunk per utterance below


def voices(seed=0):
    """Six utterances of three 'speakers' with their own level and colouring."""
    rng = np.random.default_rng(seed)
    signals, speakers = [], []
    for speaker, (gain, f0) in {"ann": (0.05, 140.0), "bob": (0.4, 300.0),
                                "cy": (0.2, 220.0)}.items():
        for _ in range(2):
            n = int(rng.uniform(0.6, 1.4) * 16000)
            t = np.arange(n) / 16000
            signals.append(gain * (np.sin(2 * np.pi * f0 * t) + 0.3 * rng.standard_normal(n)))
            speakers.append(speaker)
    return signals, np.array(speakers)


def real_frames(X, raw_lengths):
    """Utterance ``i``'s real frames ``(3, n_frames_i, n_mels)`` from one-chunk output."""
    return [np.asarray(X[i])[0][:, :n] for i, n in enumerate(raw_lengths)]


def test_pooled_statistics_match_a_direct_computation():
    rng = np.random.default_rng(1)
    # two groups, five utterances, speakers a b a | c b
    lengths = [[7, 4, 9], [5, 6]]
    groups = [(rng.standard_normal((3, sum(ls), 4)) * 3 + 1, np.concatenate([[0], np.cumsum(ls)]))
              for ls in lengths]
    speakers = np.array([0, 1, 0, 2, 1])
    utterances = [features[:, a:b] for features, offsets in groups
                  for a, b in itertools.pairwise(offsets)]
    expected = []
    for u, frames in enumerate(utterances):
        pooled = np.concatenate([utterances[v] for v in np.flatnonzero(speakers == speakers[u])],
                                axis=1)
        mean, std = pooled.mean(axis=1, keepdims=True), pooled.std(axis=1, keepdims=True)
        expected.append((frames - mean) / std)
    standardize_speakers(groups, speakers)
    got = [features[:, a:b] for features, offsets in groups
           for a, b in itertools.pairwise(offsets)]
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-10)


def test_a_speaker_of_one_utterance_is_standardised_as_by_utterance():
    rng = np.random.default_rng(2)
    features = rng.standard_normal((3, 11, 5)) * 2 - 1
    offsets = np.array([0, 11])
    by_speaker = standardize_speakers([(features.copy(), offsets)], np.array([0]))[0][0]
    np.testing.assert_allclose(by_speaker, standardize_utterances(features.copy(), offsets))


def test_each_speaker_is_standardised_by_their_own_frames():
    signals, speakers = voices()
    raw = LogMel3DTransformer(normalize=False, **FRONT_END).fit_transform(signals)
    lengths = raw.n_frames
    X = LogMel3DTransformer(normalize="speaker", **FRONT_END).fit_transform(
        signals, groups=speakers)
    frames = real_frames(X, lengths)
    for speaker in np.unique(speakers):
        pooled = np.concatenate([frames[i] for i in np.flatnonzero(speakers == speaker)], axis=1)
        np.testing.assert_allclose(pooled.mean(axis=1), 0.0, atol=2e-4)
        np.testing.assert_allclose(pooled.std(axis=1), 1.0, atol=2e-3)
    # the oracle: numpy's statistics over the unnormalised features of each speaker
    raw_frames = real_frames(raw, lengths)
    for i, speaker in enumerate(speakers):
        pooled = np.concatenate([raw_frames[j] for j in np.flatnonzero(speakers == speaker)],
                                axis=1).astype(np.float64)
        expected = (raw_frames[i] - pooled.mean(axis=1, keepdims=True)) \
            / pooled.std(axis=1, keepdims=True)
        np.testing.assert_allclose(frames[i], expected, atol=2e-3)


def test_prediction_uses_only_that_speakers_audio():
    signals, speakers = voices()
    front_end = LogMel3DTransformer(normalize="speaker", **FRONT_END).fit(signals,
                                                                          groups=speakers)
    together = front_end.transform(signals, groups=speakers)
    bob = np.flatnonzero(speakers == "bob")
    alone = front_end.transform([signals[i] for i in bob], groups=["bob"] * len(bob))
    for position, i in enumerate(bob):
        np.testing.assert_array_equal(np.asarray(alone[position]), np.asarray(together[i]))
    # the speaker's name is only a key: renamed, the same numbers
    renamed = front_end.transform(signals, groups=np.unique(speakers, return_inverse=True)[1])
    np.testing.assert_array_equal(renamed.chunks, together.chunks)


@pytest.mark.parametrize("groups, match", [
    (None, r"normalize='speaker' needs the speaker of every utterance, groups=.*"
           r"enable_metadata_routing=True.*cross_validate_report"),
    (["a", "b"], r"groups has shape \(2,\); expected one speaker per utterance, shape \(6,\)"),
    (["a", None, "a", "b", "b", "b"], r"groups\[1\] is None: every utterance needs a speaker"),
    (["a", float("nan"), "a", "b", "b", "b"], r"groups\[1\] is nan"),
    (["a", "a", ["b"], "b", "b", "b"], r"groups\[2\] is a list, not a speaker id"),
])
def test_bad_speakers_are_named_before_any_audio_is_read(groups, match):
    signals, _ = voices()
    front_end = LogMel3DTransformer(normalize="speaker", **FRONT_END)
    with pytest.raises(ValueError, match=r"LogMel3DTransformer.fit_transform: " + match):
        front_end.fit_transform(["no such file.wav"] * 4 + signals[:2], groups=groups)


def test_a_single_path_is_named_before_the_speakers():
    front_end = LogMel3DTransformer(normalize="speaker", **FRONT_END)
    with pytest.raises(TypeError, match=r"got a single path 'a.wav'; wrap it in a list"):
        front_end.fit(["a.wav"][0], groups=["x"] * 5)


def test_other_normalisations_ignore_the_speakers():
    signals, speakers = voices()
    for normalize in (True, False, "utterance"):
        front_end = LogMel3DTransformer(normalize=normalize, **FRONT_END)
        np.testing.assert_array_equal(
            front_end.fit_transform(signals, groups=speakers).chunks,
            front_end.fit_transform(signals).chunks)


def _tiny_pipeline():
    from sklearn_ser.pipeline import build_pipeline

    pipe = build_pipeline(width="tiny", max_epochs=2, chunk_frames=50, batch_size=4, verbose=0)
    return pipe.set_params(features__normalize="speaker")


def test_a_pipeline_routes_the_speakers_to_fit_and_predict():
    signals, speakers = voices()
    y = np.array(["calm", "angry"] * 3)
    with sklearn.config_context(enable_metadata_routing=True), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a tiny corpus: the small-data advice
        pipe = _tiny_pipeline().fit(signals, y, groups=speakers)
        proba = pipe.predict_proba(signals, groups=speakers)
        features = pipe[0].transform(signals, groups=speakers)
        np.testing.assert_allclose(proba, pipe[-1].predict_proba(features))
        assert pipe.predict(signals, groups=speakers).shape == (6,)
        with pytest.raises(ValueError, match=r"transform: normalize='speaker' needs"):
            pipe.predict(signals)


def test_cross_validate_report_routes_each_folds_speakers():
    from sklearn_ser.evaluation import cross_validate_report

    signals, speakers = voices()
    y = np.array(["calm", "angry"] * 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with sklearn.config_context(enable_metadata_routing=True):
            report = cross_validate_report(_tiny_pipeline(), signals, y, groups=speakers,
                                           cv="loso")
            # the oracle: each fold by hand, the test speaker's statistics from their audio
            for fold, test in enumerate(report["test_index"]):
                train = np.setdiff1d(np.arange(6), test)
                pipe = _tiny_pipeline().fit([signals[i] for i in train], y[train],
                                            groups=speakers[train])
                expected = pipe.predict_proba([signals[i] for i in test],
                                              groups=speakers[test])
                np.testing.assert_allclose(report["probabilities"][fold], expected, atol=1e-6)
        # without routing the speakers cannot reach the front end: named, with the fix
        with pytest.raises(ValueError, match=r"enable_metadata_routing=True"):
            cross_validate_report(_tiny_pipeline(), signals, y, groups=speakers, cv="loso")


def _fitted():
    signals, speakers = voices()
    with sklearn.config_context(enable_metadata_routing=True), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _tiny_pipeline().fit(signals, ["calm", "angry"] * 3, groups=speakers)


def test_saved_and_loaded_it_keeps_normalising_by_speaker(tmp_path):
    from sklearn_ser.persistence import load_model, save_model

    signals, speakers = voices()
    pipe = _fitted()
    with sklearn.config_context(enable_metadata_routing=True):
        loaded = load_model(save_model(pipe, tmp_path / "model.skser"))
        assert loaded[0].normalize == "speaker"
        np.testing.assert_allclose(loaded.predict_proba(signals, groups=speakers),
                                   pipe.predict_proba(signals, groups=speakers), atol=1e-6)


def test_export_and_timeline_refuse_it(tmp_path):
    import soundfile as sf

    from sklearn_ser.export import export_onnx
    from sklearn_ser.timeline import predict_timeline

    signals, _ = voices()
    pipe = _fitted()
    with pytest.raises(ValueError, match=r"normalize='speaker'.*a bundle predicts each file"):
        export_onnx(pipe, tmp_path / "model.onnx.zip")
    path = tmp_path / "long.wav"
    sf.write(path, np.concatenate(signals), 16000)
    with pytest.raises(ValueError, match=r"normalize='speaker' needs all of a speaker's audio"):
        predict_timeline(pipe, path)


def test_an_iterator_of_sources_is_read_once():
    signals, speakers = voices()
    expected = LogMel3DTransformer(normalize="speaker", **FRONT_END).fit_transform(
        signals, groups=speakers)
    front_end = LogMel3DTransformer(normalize="speaker", **FRONT_END)
    got = front_end.fit_transform(iter(signals), groups=speakers)
    np.testing.assert_array_equal(got.chunks, expected.chunks)
    np.testing.assert_array_equal(front_end.transform(iter(signals), groups=speakers).chunks,
                                  expected.chunks)


def test_standardize_speakers_takes_integer_codes_only():
    features = np.ones((3, 4, 2))
    offsets = np.array([0, 2, 4])
    for codes in ([0.0, 1.0], [0, -1], [0]):
        with pytest.raises(ValueError, match=r"speaker_codes must be 2 integers >= 0"):
            standardize_speakers([(features.copy(), offsets)], np.array(codes))


def test_cross_validate_report_refuses_before_the_folds_what_cannot_reach_the_speakers():
    from sklearn_ser.evaluation import cross_validate_report

    signals, speakers = voices()
    y = np.array(["calm", "angry"] * 3)
    with pytest.raises(ValueError, match=r"call sklearn.set_config\(enable_metadata_routing"):
        cross_validate_report(_tiny_pipeline(), signals, y, groups=speakers, cv=2)
    with sklearn.config_context(enable_metadata_routing=True):
        with pytest.raises(ValueError, match=r"needs the speaker of every sample: pass groups="):
            cross_validate_report(_tiny_pipeline(), signals, y, cv=2)


def test_worker_processes_get_the_speakers_too():
    from sklearn_ser.evaluation import cross_validate_report

    signals, speakers = voices()
    y = np.array(["calm", "angry"] * 3)
    with warnings.catch_warnings(), sklearn.config_context(enable_metadata_routing=True):
        warnings.simplefilter("ignore")
        one = cross_validate_report(_tiny_pipeline(), signals, y, groups=speakers, cv="loso")
        two = cross_validate_report(_tiny_pipeline(), signals, y, groups=speakers, cv="loso",
                                    n_jobs=2)
    np.testing.assert_allclose(two["probabilities"], one["probabilities"], atol=1e-6)


def test_explain_timeline_and_export_commands_refuse_it(tmp_path, capsys):
    from sklearn_ser.cli import main
    from sklearn_ser.explain import explain
    from sklearn_ser.persistence import save_model

    signals, _ = voices()
    pipe = _fitted()
    with pytest.raises(ValueError, match=r"explain reads one utterance.*normalize='speaker'"):
        explain(pipe, signals[0])
    model = save_model(pipe, tmp_path / "model.skser")
    import soundfile as sf

    sf.write(tmp_path / "a.wav", signals[0], 16000)
    for command in (["timeline", str(model), str(tmp_path / "a.wav")],
                    ["explain", str(model), str(tmp_path / "a.wav"), "--format", "json"],
                    ["export", str(model), str(tmp_path / "bundle")]):
        assert main(command) != 0
        err = capsys.readouterr().err
        assert "normalises each speaker with all their utterances" in err
        assert "predict --same-speaker" in err


def _predicted(capsys, *args, code=0):
    """The probabilities ``sklearn-ser predict --format json`` prints, by file, and
    what it wrote on stderr."""
    import json

    from sklearn_ser.cli import main

    assert main(["predict", *args, "--format", "json"]) == code
    out, err = capsys.readouterr()
    return {row["file"]: np.array(list(row["probabilities"].values()))
            for row in json.loads(out)}, err


def test_the_command_line_trains_it_and_predicts_a_speakers_files_together(tmp_path, capsys):
    import json

    import soundfile as sf

    from sklearn_ser.cli import main
    from sklearn_ser.persistence import load
    from sklearn_ser.pipeline import build_pipeline

    assert build_pipeline(normalize="speaker", verbose=0)[0].normalize == "speaker"
    assert build_pipeline(verbose=0)[0].normalize is True
    args = ["--dataset", "demo", "--n-samples", "24", "--width", "tiny", "--max-epochs", "1",
            "-q", "--normalize", "speaker", "--precision", "float32", "--batch-size", "4"]
    assert main(["cross-validate", *args, "--cv", "loso", "--output", str(tmp_path / "cv")]) == 0
    report = json.loads((tmp_path / "cv" / "report.json").read_text())
    assert report["training"]["normalize"] == "speaker"
    assert not sklearn.get_config()["enable_metadata_routing"]  # left as it was
    path = tmp_path / "m.skser"
    assert main(["train", *args, "--out", str(path)]) == 0
    capsys.readouterr()
    assert not sklearn.get_config()["enable_metadata_routing"]

    signals, _ = voices()
    files = []
    for i, signal in enumerate(signals[:4]):
        files.append(str(tmp_path / "corpus" / ("calm", "angry")[i % 2] / f"u{i}.wav"))
        Path(files[-1]).parent.mkdir(parents=True, exist_ok=True)
        sf.write(files[-1], signal, 16000)
    (tmp_path / "broken.wav").write_bytes(b"RIFF not audio")
    # without the flag the model is refused, naming the flag
    assert main(["predict", str(path), *files]) == 1
    assert "pass --same-speaker with all the files of one speaker" in capsys.readouterr().err

    # the oracle: the loaded pipeline given all four files as one speaker's
    model = load(path)
    with sklearn.config_context(enable_metadata_routing=True):
        expected = model.predict_proba(files, groups=np.zeros(4, dtype=int))
        alone = model.predict_proba(files[:1], groups=[0])
    got, _ = _predicted(capsys, str(path), *files, "--same-speaker")
    np.testing.assert_allclose(np.array([got[f] for f in files]), expected, atol=1e-6)
    assert not np.allclose(alone[0], expected[0], atol=1e-4)  # the statistics pool them all

    # an unreadable file is named and skipped; the others pool without it
    got, err = _predicted(capsys, str(path), files[0], str(tmp_path / "broken.wav"),
                          *files[1:], "--same-speaker", code=1)
    assert f"skipping {tmp_path / 'broken.wav'}" in err
    assert sorted(got) == sorted(files)
    np.testing.assert_allclose(np.array([got[f] for f in files]), expected, atol=1e-6)

    # a corpus without speakers cannot train it
    assert main(["train", "--dataset", "folder", "--root", str(tmp_path / "corpus"), "-q",
                 "--normalize", "speaker", "--out", str(tmp_path / "n.skser")]) == 2
    assert "--normalize speaker needs the speaker of every file: pass --groups REGEX" \
        in capsys.readouterr().err
    assert main(["cross-validate", "--dataset", "demo", "--normalize", "median"]) == 2
    assert "invalid choice: 'median' (choose from global, none, utterance, speaker)" \
        in capsys.readouterr().err


def test_a_vote_of_such_networks_predicts_a_speakers_files_together(tmp_path, capsys):
    import soundfile as sf

    from sklearn_ser.cli import main
    from sklearn_ser.persistence import load

    path = tmp_path / "vote.skser"
    assert main(["train", "--dataset", "demo", "--n-samples", "16", "--width", "tiny",
                 "--max-epochs", "1", "-q", "--normalize", "speaker", "--precision", "float32",
                 "--batch-size", "4", "--n-seeds", "2", "--out", str(path)]) == 0
    signals, _ = voices()
    files = [str(tmp_path / f"u{i}.wav") for i in range(3)]
    for name, signal in zip(files, signals, strict=False):
        sf.write(name, signal, 16000)
    capsys.readouterr()
    model = load(path)
    assert len(model[-1].estimators_) == 2
    with sklearn.config_context(enable_metadata_routing=True):
        expected = model.predict_proba(files, groups=np.zeros(3, dtype=int))
    got, _ = _predicted(capsys, str(path), *files, "--same-speaker")
    np.testing.assert_allclose(np.array([got[f] for f in files]), expected, atol=1e-6)


def test_same_speaker_is_refused_for_a_model_without_speaker_normalisation(tmp_path, capsys):
    import soundfile as sf

    from sklearn_ser.cli import main
    from sklearn_ser.persistence import save_model

    signals, _ = voices()
    pipe = _tiny_pipeline().set_params(features__normalize=True)
    pipe.fit(signals, np.array(["calm", "angry"] * 3))
    model = save_model(pipe, tmp_path / "model.skser")
    sf.write(tmp_path / "a.wav", signals[0], 16000)
    assert main(["predict", str(model), str(tmp_path / "a.wav"), "--same-speaker"]) == 2
    assert "--same-speaker is for a model trained with --normalize speaker" \
        in capsys.readouterr().err


def test_only_the_word_speaker_normalizes_by_speaker():
    from sklearn_ser.features import normalizes_by_speaker

    assert normalizes_by_speaker("speaker")
    for value in (True, False, "utterance", np.bool_(True), None):
        assert not normalizes_by_speaker(value)
