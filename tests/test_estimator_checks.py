"""scikit-learn's estimator checks on the classifiers, through the pipeline they live in.

The classifiers take the front end's ``ChunkedFeatures``, not the 2-D arrays the
checks generate; a ``Pipeline`` of ``LogMel3DTransformer`` (which reads each row
of a 2-D array as one signal) and a tiny network is what scikit-learn can drive.
The checks that fail for every ``Pipeline`` (it fits its steps in place) are
replaced by the same checks written against the classifier itself, below.
"""

import functools
import pickle
import warnings

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import DataConversionWarning
from sklearn.pipeline import Pipeline
from sklearn.utils.estimator_checks import estimator_checks_generator
from skorch.exceptions import DeviceWarning

from sklearn_ser import ACRNNClassifier, ADCRNNClassifier, LogMel3DTransformer
from sklearn_ser.nn import autocast_dtype

TINY = dict(module__conv_channels=4, module__dilated_channels=8, module__linear_units=16,
            module__lstm_units=8, module__embedding_dim=8, module__dropout=0.0)
TINY_ACRNN = dict(module__conv_channels=4, module__stacked_channels=8, module__n_stacked=2,
                  module__linear_units=16, module__lstm_units=8, module__embedding_dim=8)
TRAINING = dict(lr=1e-2, max_epochs=10, batch_size=16, train_split=None, random_state=0,
                verbose=0)


def tiny_pipeline(cls=ADCRNNClassifier):
    widths = TINY if cls is ADCRNNClassifier else TINY_ACRNN
    return Pipeline([("features", LogMel3DTransformer(chunk_frames=16)),
                     ("clf", cls(**widths, **TRAINING))])


# Exemptions, each with its reason.
EXPECTED_FAILED_CHECKS = {
    # Every Pipeline fails these two (a StandardScaler + LogisticRegression one
    # too): it fits the estimators in its `steps` in place. The classifier's own
    # versions are test_fit_changes_no_public_attribute and
    # test_fit_leaves_the_parameters_as_they_were below.
    "check_estimators_overwrite_params": "Pipeline fits its steps in place",
    "check_dont_overwrite_parameters": "Pipeline fits its steps in place",
    # The front end takes signals of any length (LogMel3DTransformer's exemptions).
    "check_n_features_in": "rows are signals of any length: no fixed feature count",
    "check_n_features_in_after_fitting": "signals of any length are valid: no n_features_in_",
    # It checks accuracy (passed) and then that predict refuses another feature
    # count, which is a longer signal here; its later probability checks are
    # test_classifier.py's test_aggregation_of_chunk_probabilities.
    "check_classifiers_train": "a signal of another length is valid input, not an error",
}


def check_id(value):
    """Test ids that stay the same from run to run (parametrize_with_checks puts
    the estimator's repr in them, which holds a set of skorch's in hash order)."""
    if isinstance(value, Pipeline):
        return type(value[-1]).__name__
    if isinstance(value, functools.partial):
        options = ",".join(f"{key}={option}" for key, option in value.keywords.items())
        return value.func.__name__ + (f"({options})" if options else "")
    return None


@pytest.mark.parametrize(
    "estimator, check",
    [case for cls in (ADCRNNClassifier, ACRNNClassifier)
     for case in estimator_checks_generator(tiny_pipeline(cls), mark="xfail",
                                            expected_failed_checks=EXPECTED_FAILED_CHECKS)],
    ids=check_id,
)
# The checks' rows are signals of a few samples, shorter than one 25-ms frame:
# the ShortSignalWarning they raise is the front end doing its job.
@pytest.mark.filterwarnings("ignore::sklearn_ser.exceptions.ShortSignalWarning")
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def features():
    rng = np.random.default_rng(0)
    signals = [rng.standard_normal(8000) * (0.05 if i % 2 else 0.5) for i in range(12)]
    X = LogMel3DTransformer(chunk_frames=16, n_mels=20).fit_transform(signals)
    return X, np.array(["calm", "loud"] * 6)


def public_attributes(estimator):
    return {k: v for k, v in vars(estimator).items()
            if not (k.startswith("_") or k.endswith("_"))}


@pytest.mark.parametrize("cls", [ADCRNNClassifier, ACRNNClassifier])
def test_fit_changes_no_public_attribute(cls, features):
    # scikit-learn's check_dont_overwrite_parameters, on the classifier itself:
    # fit adds or changes only attributes that start or end with "_".
    clf = clone(tiny_pipeline(cls)[-1]).set_params(max_epochs=1)
    before = public_attributes(clf)
    clf.fit(*features)
    after = public_attributes(clf)
    assert after.keys() == before.keys()
    assert [k for k in before if after[k] is not before[k]] == []
    assert vars(clf)["device"] == "auto"  # the parameter; device_ is where it runs
    assert clf.device_ == ("cuda" if torch.cuda.is_available() else "cpu")
    assert clf.device == clf.device_  # what skorch reads to move the data


@pytest.mark.parametrize("cls", [ADCRNNClassifier, ACRNNClassifier])
def test_fit_leaves_the_parameters_as_they_were(cls, features):
    # scikit-learn's check_estimators_overwrite_params, on the classifier itself
    clf = clone(tiny_pipeline(cls)[-1]).set_params(max_epochs=1)
    before = {k: joblib.hash(v) for k, v in clf.get_params().items()}
    clf.fit(*features)
    after = {k: joblib.hash(v) for k, v in clf.get_params().items()}
    assert after.keys() == before.keys()  # no state of fit's among the parameters
    assert [k for k in before if after[k] != before[k]] == []
    assert "random_stream" not in repr(clf)


def test_training_leaves_torchs_own_generator_alone(features):
    clf = clone(tiny_pipeline()[-1]).set_params(max_epochs=2, batch_size=4)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    clf.fit(*features)
    clf.partial_fit(*features)
    assert torch.equal(torch.rand(3), expected)


def test_a_prediction_between_partial_fits_does_not_change_the_training(features):
    # A DataLoader draws a seed from torch's generator; the classifier's stream is
    # its own, so predicting between two partial_fits changes nothing.
    X, y = features

    def two_calls(predict_between):
        clf = clone(tiny_pipeline()[-1]).set_params(max_epochs=1, batch_size=4)
        clf.partial_fit(X, y)
        if predict_between:
            clf.predict(X)
        clf.partial_fit(X, y)
        return clf.predict_proba(X)

    np.testing.assert_array_equal(two_calls(True), two_calls(False))


def test_a_numpy_integer_random_state_seeds_like_the_int(features):
    # parameter grids are often numpy arrays: np.int64(3) must act as 3
    def fitted_proba(random_state):
        clf = clone(tiny_pipeline()[-1]).set_params(max_epochs=1, random_state=random_state)
        clf.fit(*features).partial_fit(*features)
        return clf.predict_proba(features[0])

    np.testing.assert_array_equal(fitted_proba(np.int64(3)), fitted_proba(3))


def test_random_state_none_uses_torchs_generator_as_seeded(features):
    def fitted_proba(global_seed):
        torch.manual_seed(global_seed)
        clf = clone(tiny_pipeline()[-1]).set_params(max_epochs=1, random_state=None)
        return clf.fit(*features).predict_proba(features[0])

    np.testing.assert_array_equal(fitted_proba(7), fitted_proba(7))
    assert not np.array_equal(fitted_proba(7), fitted_proba(8))  # the caller's seed decides


def test_labels_follow_scikit_learns_rules(features):
    X, y = features
    clf = clone(tiny_pipeline()[-1]).set_params(max_epochs=1)
    expected = clf.fit(X, y).predict_proba(X)
    with pytest.warns(DataConversionWarning, match="column-vector y"):
        proba = clf.fit(X, y[:, None]).predict_proba(X)
    np.testing.assert_array_equal(proba, expected)
    numbers = np.where(y == "calm", 0.0, 1.0)
    with pytest.raises(ValueError, match="Input y contains NaN"):
        clf.fit(X, np.r_[numbers[:-1], np.nan])
    with pytest.raises(ValueError, match="Input y contains infinity"):
        clf.fit(X, np.r_[numbers[:-1], np.inf])
    with pytest.raises(ValueError, match="at least 2 classes, but y holds only 1 class"):
        clf.fit(X, np.full(len(y), "calm"))
    with pytest.raises(ValueError, match=r"1-D with one label per utterance: got shape \(12, 2\)"):
        clf.fit(X, np.c_[y, y])
    # an object array with a missing label or labels of two kinds: named as y's fault
    # (numpy's sort failed with "'<' not supported between 'NoneType' and 'str'")
    class NA:  # pandas.NA's behaviour, without pandas: its truth value is ambiguous
        def __ne__(self, other):
            return self

        def __bool__(self):
            raise TypeError("boolean value of NA is ambiguous")

    for missing in (None, np.nan, NA()):
        bad = y.astype(object)
        bad[3] = missing
        with pytest.raises(ValueError, match=r"y has no label \(None, NaN or NA\) for 1 "
                                             r"utterance\(s\), at positions \[3\]"):
            clf.fit(X, bad)
    bad = y.astype(object)
    bad[3] = 1
    # a ValueError, as scikit-learn's "Mix of label input types" for a list
    with pytest.raises(ValueError, match="y must hold labels of one kind"):
        clf.fit(X, bad)


def test_a_2d_object_array_of_non_numbers_is_a_type_error():
    X = np.random.default_rng(0).uniform(size=(4, 400)).astype(object)
    X[0, 0] = {"foo": "bar"}
    with pytest.raises(TypeError, match=r"must hold numbers.*argument must be a string"):
        LogMel3DTransformer().fit(X)
    X[0, 0] = "abc"
    with pytest.raises(ValueError, match=r"must hold numbers.*could not convert"):
        LogMel3DTransformer().fit(X)


def test_a_device_that_changes_on_loading_brings_its_own_autocast(features):
    # A net saved on a GPU (device="cuda", precision="auto": bfloat16 there)
    # and unpickled on a CPU runs on the CPU with the CPU's autocast choice.
    if torch.cuda.is_available():
        pytest.skip("needs a machine without CUDA")
    clf = clone(tiny_pipeline()[-1]).set_params(max_epochs=1).fit(*features)
    clf.__dict__["device"] = "cuda"  # as if built there
    clf.device_, clf.autocast_dtype_ = "cuda", torch.bfloat16
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeviceWarning)  # skorch's note: cuda -> cpu
        loaded = pickle.loads(pickle.dumps(clf))
    assert loaded.device_ == "cpu" and str(loaded.device) == "cpu"
    assert loaded.autocast_dtype_ == autocast_dtype("auto", "cpu")
    assert loaded.predict_proba(features[0]).shape == (12, 2)


def test_load_params_that_map_no_device_keep_auto_working(features, tmp_path):
    # skorch writes a device into `device` only when it loads tensors: loading a
    # history alone must leave device="auto" and device_ as they were
    clf = clone(tiny_pipeline()[-1]).set_params(max_epochs=1).fit(*features)
    expected = clf.predict_proba(features[0])
    clf.save_params(f_history=tmp_path / "history.json", f_params=tmp_path / "params.pt")
    clf.load_params(f_history=tmp_path / "history.json")
    assert vars(clf)["device"] == "auto" and clf.device_ in ("cpu", "cuda")
    clf.load_params(f_params=tmp_path / "params.pt")
    assert vars(clf)["device"] == "auto" and clf.device_ in ("cpu", "cuda")
    np.testing.assert_array_equal(clf.predict_proba(features[0]), expected)


def test_device_is_a_string_whatever_form_it_was_given_in(features):
    clf = clone(tiny_pipeline()[-1]).set_params(max_epochs=1).fit(*features)
    clf.set_params(device=torch.device("cpu"))
    assert clf.device_ == "cpu" and isinstance(clf.device_, str)
    built = clone(clf).fit(*features)  # given as a torch.device from the start
    assert built.device_ == "cpu" and isinstance(built.device_, str)
