"""Batch normalisation by each speaker's own statistics at prediction
(``batchnorm_statistics="speaker"``, AdaBN)."""

import copy

import numpy as np
import pytest
import sklearn
import torch
from sklearn.pipeline import Pipeline

from sklearn_ser import LogMel3DTransformer
from sklearn_ser.datasets import make_emotional_speech
from sklearn_ser.features import ChunkedFeatures


def _data(n=24, seed=0):
    rng = np.random.default_rng(seed)
    chunks = rng.standard_normal((n, 3, 40, 16), dtype=np.float32)
    speakers = np.arange(n) % 3
    chunks += speakers[:, None, None, None].astype(np.float32)  # each speaker shifted
    return (ChunkedFeatures(chunks, np.arange(n + 1), np.full(n, 40), speakers=speakers),
            np.array(["calm", "angry"] * (n // 2)))


def _batchnorms(module):
    return [m for m in module.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]


def test_the_statistics_are_those_of_a_training_pass_over_the_speakers_chunks(tiny_adcrnn):
    from sklearn_ser.nn import speaker_statistics

    X, y = _data()
    clf = tiny_adcrnn().set_params(batch_size=4).fit(X, y)
    part = X[np.flatnonzero(X.speakers == 1)]
    # the oracle: torch's own training-mode batch norm, one batch of all the chunks,
    # taking each layer's statistics whole (momentum 1; no dropout in this network)
    oracle = copy.deepcopy(clf.module_).train()
    for layer in _batchnorms(oracle):
        layer.momentum = 1.0
    with torch.no_grad():
        oracle(torch.as_tensor(part.chunks))
    before = copy.deepcopy(clf.module_.state_dict())
    with speaker_statistics(clf, clf.chunk_dataset(part)):
        layers = _batchnorms(clf.module_)
        assert len(layers) == 6
        for got, expected in zip(layers, _batchnorms(oracle), strict=True):
            # the oracle's later layers see inputs normalised by the biased variance
            torch.testing.assert_close(got.running_mean, expected.running_mean,
                                       rtol=2e-3, atol=2e-4)
            torch.testing.assert_close(got.running_var, expected.running_var,
                                       rtol=2e-3, atol=2e-4)
    for name, value in clf.module_.state_dict().items():  # restored afterwards
        torch.testing.assert_close(value, before[name])


def test_each_speaker_is_predicted_with_their_own_statistics(tiny_adcrnn):
    X, y = _data()
    clf = tiny_adcrnn().set_params(batch_size=4).fit(X, y)
    trained = clf.predict_proba(X)
    clf.set_params(batchnorm_statistics="speaker", batchnorm_prior_chunks=0.0)
    together = clf.predict_proba(X)
    assert not np.allclose(together, trained, atol=1e-3)
    for code in range(3):
        alone = clf.predict_proba(X[np.flatnonzero(X.speakers == code)])
        np.testing.assert_allclose(together[X.speakers == code], alone, atol=1e-5)
    # the batches do not change the statistics
    np.testing.assert_allclose(clf.set_params(batch_size=7).predict_proba(X), together,
                               atol=1e-5)
    # nor are they kept: the training statistics predict as before
    np.testing.assert_allclose(clf.set_params(batchnorm_statistics="training").predict_proba(X),
                               trained, atol=1e-6)


def test_it_needs_the_speakers_and_names_a_bad_value(tiny_adcrnn):
    X, y = _data()
    clf = tiny_adcrnn().set_params(batch_size=4).fit(X, y)
    bare = ChunkedFeatures(X.chunks, X.offsets, X.n_frames)
    with pytest.raises(ValueError, match=r"batchnorm_statistics='speaker' .* do not say whose"):
        clf.set_params(batchnorm_statistics="speaker").predict(bare)
    with pytest.raises(ValueError, match="batchnorm_statistics"):
        clf.set_params(batchnorm_statistics="utterance")


def test_the_chunks_keep_their_speakers_through_indexing_and_joining():
    X, _ = _data(6)
    np.testing.assert_array_equal(X[[4, 1]].speakers, [1, 1])
    np.testing.assert_array_equal(X[X.speakers == 2].speakers, [2, 2])
    joined = ChunkedFeatures.join_utterances([X, X])
    np.testing.assert_array_equal(joined.speakers, X.speakers)
    # two calls' codes are their own: concatenating them forgets the speakers
    assert ChunkedFeatures.concatenate([X, X]).speakers is None
    with pytest.raises(ValueError, match="speakers must be 6 integer codes"):
        ChunkedFeatures(X.chunks, X.offsets, X.n_frames, speakers=["a"] * 6)


def test_a_speaker_normalising_pipeline_routes_the_speakers_to_the_network(tiny_adcrnn):
    signals, labels, speakers = make_emotional_speech(12, n_classes=2, n_speakers=3,
                                                      duration=1.0, random_state=0)
    front = LogMel3DTransformer(normalize="speaker", chunk_frames=40, verbose=0)
    np.testing.assert_array_equal(front.fit_transform(signals, groups=speakers).speakers,
                                  speakers)
    assert LogMel3DTransformer(chunk_frames=40, verbose=0).fit_transform(signals).speakers \
        is None
    pipe = Pipeline([("features", front),
                     ("clf", tiny_adcrnn(batchnorm_statistics="speaker").set_params(batch_size=4))])
    with sklearn.config_context(enable_metadata_routing=True):
        pipe.fit(signals, labels, groups=speakers)
        together = pipe.predict_proba(signals, groups=speakers)
        first = speakers == speakers[0]
        alone = pipe.predict_proba(signals[first], groups=speakers[first])
        one = pipe.predict_proba(signals[:1], groups=speakers[:1])
    # a speaker's files predict the same alone or among other speakers' files
    np.testing.assert_allclose(alone, together[first], atol=1e-5)
    assert not np.allclose(one[0], together[0], atol=1e-4)  # their statistics pool them all


def test_build_pipeline_normalises_the_batch_norm_by_speaker_with_the_front_end(tmp_path):
    from sklearn_ser.persistence import load, save_model
    from sklearn_ser.pipeline import build_pipeline

    assert build_pipeline(verbose=0)[-1].batchnorm_statistics == "training"
    assert build_pipeline(normalize="utterance", verbose=0)[-1].batchnorm_statistics \
        == "training"
    pipe = build_pipeline(normalize="speaker", width="tiny", max_epochs=1, batch_size=4,
                          chunk_frames=40, precision="float32", verbose=0)
    assert pipe[-1].batchnorm_statistics == "speaker"
    signals, labels, speakers = make_emotional_speech(12, n_classes=2, n_speakers=3,
                                                      duration=1.0, random_state=1)
    with sklearn.config_context(enable_metadata_routing=True):
        pipe.fit(signals, labels, groups=speakers)
        expected = pipe.predict_proba(signals, groups=speakers)
        loaded = load(save_model(pipe, tmp_path / "m.skser"))
        assert loaded[-1].batchnorm_statistics == "speaker"
        np.testing.assert_allclose(loaded.predict_proba(signals, groups=speakers), expected,
                                   atol=1e-6)


def test_the_speakers_statistics_are_shrunk_towards_trainings(tiny_adcrnn):
    from sklearn_ser.nn import speaker_statistics

    X, y = _data()
    clf = tiny_adcrnn().set_params(batch_size=4).fit(X, y)
    part = X[np.flatnonzero(X.speakers == 2)]
    dataset = clf.chunk_dataset(part)
    first = clf.module_.frontend.conv[1]  # the first layer the forward pass reaches
    trained = first.running_mean.clone(), first.running_var.clone()
    with speaker_statistics(clf, dataset):
        own = first.running_mean.clone(), first.running_var.clone()
    with speaker_statistics(clf, dataset, prior_chunks=24.0):
        a = len(part.chunks) / (len(part.chunks) + 24.0)
        torch.testing.assert_close(first.running_mean, a * own[0] + (1 - a) * trained[0])
        torch.testing.assert_close(first.running_var, a * own[1] + (1 - a) * trained[1]
                                   + a * (1 - a) * (own[0] - trained[0]) ** 2)
    # a prior that outweighs any speaker leaves the training statistics
    clf.set_params(batchnorm_statistics="speaker", batchnorm_prior_chunks=1e12)
    np.testing.assert_allclose(clf.predict_proba(X),
                               clf.set_params(batchnorm_statistics="training").predict_proba(X),
                               atol=1e-6)
    with pytest.raises(ValueError, match="batchnorm_prior_chunks"):
        clf.set_params(batchnorm_prior_chunks=-1.0)


def test_a_classifier_pickled_before_the_new_parameters_gets_their_defaults():
    from sklearn_ser import ADCRNNClassifier

    state = ADCRNNClassifier(n_teachers=2, batchnorm_statistics="speaker").__getstate__()
    for name in ("class_weight", "n_teachers", "distill_temperature", "batchnorm_statistics",
                 "batchnorm_prior_chunks"):
        del state[name]
    old = ADCRNNClassifier.__new__(ADCRNNClassifier)
    old.__setstate__(state)
    assert (old.class_weight, old.n_teachers, old.distill_temperature,
            old.batchnorm_statistics, old.batchnorm_prior_chunks) == (None, 0, 2.0,
                                                                      "training", 30.0)
