"""Utterance labels of the classifiers: :mod:`sklearn_ser.nn._labels`."""

import numpy as np
import pytest
from sklearn.exceptions import DataConversionWarning
from sklearn.preprocessing import LabelEncoder

from sklearn_ser.nn._labels import check_labels, encode_labels, infer_classes, sorted_labels


@pytest.mark.parametrize("labels", [["sad", "angry", "happy", "angry"], [3, 1, 2, 1],
                                    np.array([True, False, True, True])])
def test_encoding_matches_label_encoder(labels):
    classes = infer_classes(labels, None, estimator_name="X")
    oracle = LabelEncoder().fit(labels)
    np.testing.assert_array_equal(classes, oracle.classes_)
    np.testing.assert_array_equal(encode_labels(labels, classes), oracle.transform(labels))
    assert encode_labels(labels, classes).dtype == np.int64


def test_classes_given_decide_and_are_sorted():
    classes = infer_classes(["b", "b"], ["c", "a", "b"], estimator_name="X")
    assert classes.tolist() == ["a", "b", "c"]
    with pytest.raises(ValueError, match="lists a label more than once"):
        sorted_labels(["a", "b", "a"])
    with pytest.raises(ValueError, match=r"X needs samples of at least 2 classes.*1 class"):
        infer_classes(["a", "a"], None, estimator_name="X")


def test_unknown_labels_are_named():
    with pytest.raises(ValueError, match=r"unknown to the classifier: \['fear'\]"):
        encode_labels(["fear", "sad"], np.array(["angry", "sad"]))


def test_bad_label_arrays_are_named():
    with pytest.raises(ValueError, match=r"X\.fit needs y"):
        check_labels(None, 3, caller="X.fit")
    with pytest.raises(ValueError, match=r"got shape \(2,\) for 3 utterances"):
        check_labels(["a", "b"], 3, caller="X.fit")
    with pytest.raises(ValueError, match=r"no label \(None, NaN or NA\) for 1 .* \[1\]"):
        check_labels(np.array(["a", None, "b"], dtype=object), 3, caller="X.fit")
    with pytest.raises(ValueError, match="NaN"):
        check_labels([1.0, np.nan, 2.0], 3, caller="X.fit")
    with pytest.raises(ValueError, match=r"(?i)mix"):
        check_labels(["a", 1, "b"], 3, caller="X.fit")
    with pytest.warns(DataConversionWarning):
        y = check_labels(np.array([["a"], ["b"]]), 2, caller="X.fit")
    assert y.tolist() == ["a", "b"]
