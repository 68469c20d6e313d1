"""``class_weight`` of the chunked classifiers: the weights, the loss they make, and
their way through build_pipeline, the command line and a model file."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.base import clone
from sklearn.utils.class_weight import compute_class_weight

from sklearn_ser import ADCRNNClassifier, LogMel3DTransformer
from sklearn_ser.nn._class_weight import class_weights
from sklearn_ser.persistence import load, save
from sklearn_ser.pipeline import build_pipeline

TINY = dict(module__conv_channels=4, module__dilated_channels=8, module__linear_units=16,
            module__lstm_units=8, module__embedding_dim=8, module__dropout=0.0,
            lr=3e-3, max_epochs=2, batch_size=8, train_split=None, random_state=0, verbose=0)


@pytest.fixture(scope="module")
def imbalanced():
    """Three loud utterances and nine quiet ones, 0.3 to 1.4 s: one to six 20-frame chunks."""
    rng = np.random.default_rng(0)
    signals = [rng.standard_normal(int(16000 * (0.3 + 0.1 * i))) * (0.5 if i < 3 else 0.05)
               for i in range(12)]
    X = LogMel3DTransformer(chunk_frames=20, n_mels=20).fit_transform(signals)
    return X, np.array(["loud"] * 3 + ["quiet"] * 9)


def test_balanced_is_scikit_learns_balanced_over_the_chunks(imbalanced):
    X, y = imbalanced
    n_chunks = np.diff(X.offsets)
    assert len(set(n_chunks)) > 1  # the chunks, not the utterances, are counted
    oracle = compute_class_weight("balanced", classes=np.array(["loud", "quiet"]),
                                  y=np.repeat(y, n_chunks))
    np.testing.assert_allclose(
        class_weights("balanced", y, n_chunks, np.array(["loud", "quiet"]), caller="c"), oracle)
    # a class without chunks (named in classes only) weighs 1; the others as if it were absent
    weights = class_weights("balanced", y, n_chunks, np.array(["calm", "loud", "quiet"]),
                            caller="c")
    np.testing.assert_allclose(weights, [1.0, *oracle])


def test_a_dict_names_weights_by_label_and_the_rest_weigh_one():
    y, n_chunks, classes = np.array(["a", "b", "c"]), np.ones(3), np.array(["a", "b", "c"])
    np.testing.assert_array_equal(class_weights({"b": 2.5}, y, n_chunks, classes, caller="c"),
                                  [1.0, 2.5, 1.0])
    assert class_weights(None, y, n_chunks, classes, caller="c") is None
    with pytest.raises(ValueError, match=r"Net: class_weight names \['d'\], which are not"):
        class_weights({"d": 1.0}, y, n_chunks, classes, caller="Net")
    for bad in (0, -1.0, float("nan"), float("inf"), "2", True):
        with pytest.raises(ValueError, match="must be a positive finite number"):
            class_weights({"a": bad}, y, n_chunks, classes, caller="Net")


def test_the_loss_is_the_class_weighted_cross_entropy(imbalanced):
    X, y = imbalanced
    clf = ADCRNNClassifier(**TINY, class_weight="balanced", criterion__aux=None).fit(X, y)
    expected = compute_class_weight("balanced", classes=clf.classes_,
                                    y=np.repeat(y, np.diff(X.offsets)))
    np.testing.assert_allclose(clf.class_weight_, expected)
    np.testing.assert_allclose(clf.criterion_.class_weight.numpy(), expected, rtol=1e-6)
    logits = torch.randn(5, 2)
    target = torch.tensor([0, 1, 1, 0, 1])
    oracle = F.cross_entropy(logits, target, weight=torch.tensor(expected, dtype=torch.float32))
    torch.testing.assert_close(clf.criterion_(logits, target), oracle)
    # without class_weight, the cross-entropy is unweighted, as before
    plain = ADCRNNClassifier(**TINY, criterion__aux=None).fit(X, y)
    assert plain.class_weight_ is None and plain.criterion_.class_weight is None


def test_the_weights_change_training_and_follow_a_refit(imbalanced):
    X, y = imbalanced
    balanced = ADCRNNClassifier(**TINY, class_weight="balanced").fit(X, y)
    plain = ADCRNNClassifier(**TINY).fit(X, y)
    assert not np.allclose(balanced.predict_proba(X), plain.predict_proba(X))
    # set_params and a new fit recompute them from the new data
    balanced.set_params(class_weight={"loud": 4.0}).fit(X, y)
    np.testing.assert_array_equal(balanced.class_weight_, [4.0, 1.0])
    np.testing.assert_array_equal(balanced.criterion_.class_weight.numpy(), [4.0, 1.0])
    assert clone(balanced).class_weight == {"loud": 4.0}


def test_partial_fit_weighs_the_classes_of_its_first_call(imbalanced):
    X, y = imbalanced
    clf = ADCRNNClassifier(**TINY, class_weight="balanced")
    clf.partial_fit(X, y, classes=["calm", "loud", "quiet"])
    assert clf.class_weight_[0] == 1.0  # no chunk of "calm" yet
    first = clf.class_weight_.copy()
    clf.partial_fit(X, y)  # later calls train on with the same weights
    np.testing.assert_array_equal(clf.class_weight_, first)


def test_bad_class_weights_are_named(imbalanced):
    X, y = imbalanced
    with pytest.raises(ValueError, match=r"class_weight='balance' must be a str among"):
        ADCRNNClassifier(**TINY, class_weight="balance").fit(X, y)
    with pytest.raises(ValueError, match=r"class_weight='balance' must be a str among"):
        ADCRNNClassifier(**TINY, class_weight="balance").partial_fit(X, y)
    with pytest.raises(ValueError, match="class_weight and criterion__class_weight are both"):
        ADCRNNClassifier(**TINY, class_weight="balanced",
                         criterion__class_weight=[1.0, 2.0]).fit(X, y)
    with pytest.raises(TypeError, match="class_weight='balanced'"):
        ADCRNNClassifier(**TINY).fit(X, y, sample_weight=np.ones(len(y)))
    with pytest.raises(ValueError, match=r"build_pipeline: class_weight='even' must be"):
        build_pipeline(class_weight="even")


def test_a_model_file_keeps_the_weights(imbalanced, tmp_path):
    X, y = imbalanced
    clf = ADCRNNClassifier(**TINY, class_weight="balanced").fit(X, y)
    save(clf, tmp_path / "model.skops")
    loaded = load(tmp_path / "model.skops")
    assert loaded.class_weight == "balanced"
    np.testing.assert_allclose(loaded.class_weight_, clf.class_weight_, rtol=1e-6)
    torch.testing.assert_close(loaded.criterion_.class_weight, clf.criterion_.class_weight)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    loaded.partial_fit(X, y)  # and trains on with them


def test_build_pipeline_passes_class_weight_to_the_classifier():
    assert build_pipeline(verbose=0)[-1].class_weight is None  # every recipe: off
    assert build_pipeline(class_weight="balanced", verbose=0)[-1].class_weight == "balanced"
    vote = build_pipeline(class_weight="balanced", n_seeds=2, verbose=0)[-1]
    assert [net.class_weight for _, net in vote.estimators] == ["balanced", "balanced"]


def test_a_classifier_pickled_before_class_weight_existed_still_works(imbalanced):
    X, y = imbalanced
    fitted = ADCRNNClassifier(**TINY).fit(X, y)
    state = fitted.__getstate__()
    del state["class_weight"]  # what an older build pickled
    older = ADCRNNClassifier.__new__(ADCRNNClassifier)
    older.__setstate__(state)
    assert older.class_weight is None and older.get_params()["class_weight"] is None
    np.testing.assert_array_equal(older.predict_proba(X), fitted.predict_proba(X))
    clone(older).fit(X, y)


def test_a_model_file_keeps_weights_given_by_integer_labels(tmp_path):
    # a dict with integer keys is not a parameter the file can hold: it is
    # dropped, and the weights, kept with the fitted state, still train on
    rng = np.random.default_rng(1)
    signals = [rng.standard_normal(8000) * (0.5 if i < 3 else 0.05) for i in range(12)]
    X = LogMel3DTransformer(chunk_frames=20, n_mels=20).fit_transform(signals)
    y = np.array([1] * 3 + [0] * 9)
    clf = ADCRNNClassifier(**TINY, class_weight={1: 3.0}).fit(X, y)
    save(clf, tmp_path / "model.skops")
    loaded = load(tmp_path / "model.skops")
    assert loaded.class_weight is None
    np.testing.assert_array_equal(loaded.class_weight_, [1.0, 3.0])
    np.testing.assert_array_equal(loaded.criterion_.class_weight.numpy(), [1.0, 3.0])
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
