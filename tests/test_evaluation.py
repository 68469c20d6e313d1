"""Evaluation helpers against hand computations and scikit-learn's own cross-validation."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from joblib import parallel_config
from sklearn.base import clone
from sklearn.ensemble import VotingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, balanced_accuracy_score, confusion_matrix
from sklearn.model_selection import (
    LeaveOneGroupOut,
    StratifiedGroupKFold,
    StratifiedKFold,
    cross_val_predict,
    cross_validate,
)
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC
from skorch.dataset import ValidSplit

from sklearn_ser import ADCRNNClassifier, LogMel3DTransformer
from sklearn_ser.evaluation import (
    SCORING,
    cross_validate_report,
    format_report,
    make_cv,
    plot_confusion_matrix,
    plot_log_mel_3d,
    uar_score,
)

LABELS = np.array(["anger", "neutral", "sadness"])


def toy_corpus(n=90, seed=0, drop_sadness_of_speaker=None):
    """Two noisy features that carry the class; 6 speakers who each portray every class."""
    rng = np.random.default_rng(seed)
    index = np.arange(n)
    y = LABELS[index % 3]
    groups = (index // 3) % 6
    X = np.stack([(index % 3 == 1) * 1.0, (index % 3 == 2) * 1.0], axis=1)
    X = X + rng.normal(scale=0.6, size=X.shape)
    if drop_sadness_of_speaker is not None:
        keep = ~((groups == drop_sadness_of_speaker) & (y == "sadness"))
        X, y, groups = X[keep], y[keep], groups[keep]
    return X, y, groups


# -- uar_score and SCORING ------------------------------------------------------------
def test_uar_is_the_mean_of_per_class_recalls_by_hand():
    y_true = ["a"] * 4 + ["b"] * 2 + ["c"] * 4
    y_pred = ["a", "a", "a", "b", "b", "c", "c", "c", "a", "a"]
    # recall(a) = 3/4, recall(b) = 1/2, recall(c) = 2/4; accuracy = 6/10.
    assert uar_score(y_true, y_pred) == pytest.approx((3 / 4 + 1 / 2 + 2 / 4) / 3)
    assert accuracy_score(y_true, y_pred) == pytest.approx(0.6)
    assert isinstance(uar_score(y_true, y_pred), float)


def test_scoring_in_cross_validate_gives_accuracy_and_uar():
    X, y, _ = toy_corpus()
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    scores = cross_validate(LogisticRegression(), X, y, cv=cv, scoring=SCORING)
    predictions = [
        (y[test], LogisticRegression().fit(X[train], y[train]).predict(X[test]))
        for train, test in cv.split(X, y)
    ]
    np.testing.assert_allclose(scores["test_uar"], [uar_score(*p) for p in predictions])
    np.testing.assert_allclose(scores["test_accuracy"], [accuracy_score(*p) for p in predictions])


# -- make_cv -----------------------------------------------------------------
@pytest.mark.parametrize("cv", [5, "10", np.int64(3)])
def test_integer_cv_is_a_shuffled_stratified_k_fold(cv):
    splitter = make_cv(cv, random_state=7)
    assert isinstance(splitter, StratifiedKFold)
    assert (splitter.n_splits, splitter.shuffle, splitter.random_state) == (int(cv), True, 7)


def test_loso_never_shares_a_speaker_and_tests_each_speaker_once():
    X, y, groups = toy_corpus()
    splitter = make_cv("LOSO", groups)
    assert isinstance(splitter, LeaveOneGroupOut)
    tested = []
    for train, test in splitter.split(X, y, groups):
        assert not set(groups[train]) & set(groups[test])
        assert len(set(groups[test])) == 1
        tested.append(groups[test][0])
    assert sorted(tested) == list(range(6))


@pytest.mark.parametrize("cv", ["group3", "group-3"])
def test_group_k_fold_keeps_speakers_whole_and_covers_every_sample(cv):
    X, y, groups = toy_corpus()
    splitter = make_cv(cv, groups, random_state=0)
    assert isinstance(splitter, StratifiedGroupKFold) and splitter.n_splits == 3
    tested = np.concatenate([test for _, test in splitter.split(X, y, groups)])
    for train, test in splitter.split(X, y, groups):
        assert not set(groups[train]) & set(groups[test])
    assert sorted(tested) == list(range(len(y)))


def test_a_splitter_object_is_used_as_given():
    splitter = StratifiedKFold(4)
    assert make_cv(splitter) is splitter


@pytest.mark.parametrize(
    ("cv", "groups", "match"),
    [
        ("loso", None, "groups is None"),
        ("group3", None, "groups is None"),
        ("group9", np.arange(12) % 6, "at least 9 speakers.*found 6.*group6"),
        ("loso", np.zeros(5), "at least 2 speakers"),
        ("bogus", None, "must be an integer k >= 2, 'loso' or 'groupK'"),
        (1, None, "k >= 2"),
        ("group1", np.arange(4), "k >= 2"),
    ],
)
def test_bad_cv_names_the_problem(cv, groups, match):
    with pytest.raises(ValueError, match=match):
        make_cv(cv, groups)


# -- cross_validate_report ------------------------------------------------------------
def test_report_agrees_with_scikit_learn_and_is_json():
    X, y, groups = toy_corpus()
    estimator = LogisticRegression()
    report = cross_validate_report(estimator, X, y, groups=groups, cv="group3", random_state=0)
    splitter = make_cv("group3", groups, random_state=0)
    scores = cross_validate(estimator, X, y, groups=groups, cv=splitter, scoring=SCORING)
    np.testing.assert_allclose(report.accuracy, scores["test_accuracy"])
    np.testing.assert_allclose(report.uar, scores["test_uar"])
    assert report.accuracy_mean == pytest.approx(scores["test_accuracy"].mean())
    assert report.uar_std == pytest.approx(scores["test_uar"].std())
    # The folds partition the samples: the summed matrix is cross_val_predict's.
    y_pred = cross_val_predict(estimator, X, y, groups=groups, cv=splitter)
    assert report.confusion_matrix == confusion_matrix(y, y_pred, labels=LABELS).tolist()
    assert np.sum(report.confusion_matrix) == len(y) == report.n_samples
    assert report.pooled_accuracy == pytest.approx(accuracy_score(y, y_pred))
    assert report.pooled_uar == pytest.approx(balanced_accuracy_score(y, y_pred))
    assert report.labels == LABELS.tolist()
    assert report.n_test == [len(test) for _, test in splitter.split(X, y, groups)]
    assert report.epochs == [None] * 3
    assert all(t >= 0 for t in report.fit_time + report.score_time)
    assert json.loads(json.dumps(report)) == dict(report)


def test_report_keeps_each_test_sample_prediction_as_cross_val_predict_does():
    X, y, groups = toy_corpus()
    splitter = make_cv("group3", groups, random_state=0)
    report = cross_validate_report(LogisticRegression(), X, y, groups=groups, cv=splitter)
    index = np.concatenate(report.test_index)
    assert sorted(index.tolist()) == list(range(len(y)))  # a partition, every sample once
    y_pred = cross_val_predict(LogisticRegression(), X, y, groups=groups, cv=splitter)
    proba = cross_val_predict(LogisticRegression(), X, y, groups=groups, cv=splitter,
                              method="predict_proba")
    assert np.concatenate(report.predictions).tolist() == y_pred[index].tolist()
    np.testing.assert_allclose(np.concatenate(report.probabilities), proba[index])
    assert report.classes == [LABELS.tolist()] * 3
    # A model without predict_proba keeps its labels and says it has no scores.
    plain = cross_validate_report(LinearSVC(), X, y, groups=groups, cv=splitter)
    assert plain.probabilities == [None] * 3 and np.concatenate(plain.predictions).size == len(y)
    # One whose predict_proba fails after fitting loses the scores, not the fold.
    broken = make_pipeline(StandardScaler(), _FailingProba())
    with pytest.warns(UserWarning, match="predict_proba failed.*no scores here"):
        kept = cross_validate_report(broken, X, y, groups=groups, cv=splitter)
    scaled = cross_validate_report(make_pipeline(StandardScaler(), LinearSVC()), X, y,
                                   groups=groups, cv=splitter)
    assert kept.probabilities == [None] * 3 and kept.predictions == scaled.predictions


class _FailingProba(LinearSVC):
    def predict_proba(self, X):
        raise NotImplementedError("no scores here")


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
def test_report_marks_a_class_absent_from_a_fold_and_averages_the_rest():
    X, y, groups = toy_corpus(drop_sadness_of_speaker=5)
    report = cross_validate_report(LogisticRegression(), X, y, groups=groups, cv="loso")
    assert report.n_splits == 6
    recalls = np.array(report.per_class_recall, dtype=float)  # None -> nan
    assert np.isnan(recalls[5, 2]) and np.isfinite(np.delete(recalls, (5 * 3 + 2))).all()
    assert report.per_class_recall_mean[2] == pytest.approx(recalls[:5, 2].mean())
    assert report.per_class_recall_std[2] == pytest.approx(recalls[:5, 2].std())
    # Speaker 5's fold scores its UAR over the two classes it portrays.
    test = groups == 5
    y_pred = LogisticRegression().fit(X[~test], y[~test]).predict(X[test])
    assert report.uar[5] == pytest.approx(balanced_accuracy_score(y[test], y_pred))
    assert "null" in json.dumps(report)
    text = format_report(report)
    assert all(label in text for label in LABELS) and "± " in text
    assert len(text.splitlines()) == 1 + 6 + 3 + 3


def test_report_counts_epochs_of_a_skorch_pipeline_and_indexes_lists():
    rng = np.random.default_rng(0)
    t = np.arange(8000) / 16000
    signals = [a * np.sin(2 * np.pi * f * t) + 0.01 * rng.standard_normal(len(t))
               for a, f in [(0.05, 150.0), (0.5, 500.0)] * 6]
    y = np.array(["sadness", "anger"] * 6)
    pipe = Pipeline([
        ("features", LogMel3DTransformer(chunk_frames=50, n_mels=20)),
        ("clf", ADCRNNClassifier(
            module__conv_channels=4, module__dilated_channels=8, module__linear_units=8,
            module__lstm_units=4, module__embedding_dim=4, max_epochs=2, batch_size=8,
            train_split=None, random_state=0, verbose=0)),
    ])
    report = cross_validate_report(pipe, signals, y, cv=2)
    assert report.epochs == [2, 2]
    assert np.sum(report.confusion_matrix) == 12
    # the learning curves: each fold's history, scalars only (no per-batch lists)
    for fold in report.history:
        assert [row["epoch"] for row in fold] == [1, 2]
        assert {"train_loss", "dur"} <= set(fold[0]) and "batches" not in fold[0]
        assert all(np.isfinite(row["train_loss"]) for row in fold)
    assert json.loads(json.dumps(report))["history"] == report.history
    # the network's label is the most probable class of its own probabilities
    for proba, predicted, classes in zip(report.probabilities, report.predictions,
                                         report.classes, strict=True):
        assert np.array(classes)[np.argmax(proba, axis=1)].tolist() == predicted
    assert cross_validate_report(LogisticRegression(), *toy_corpus()[:2], cv=2).history == [
        None, None]
    assert report.member_history == [None, None]
    # a soft vote of networks: no single history, each member's by name
    net = pipe[-1]
    vote = VotingClassifier([("seed0", net), ("seed1", clone(net).set_params(
        random_state=1, max_epochs=3))], voting="soft")
    report = cross_validate_report(clone(pipe).set_params(clf=vote), signals, y, cv=2)
    assert report.epochs == [None, None] and report.history == [None, None]
    for fold in report.member_history:
        assert list(fold) == ["seed0", "seed1"]
        assert [len(fold["seed0"]), len(fold["seed1"])] == [2, 3]
        assert fold["seed0"][0]["train_loss"] != fold["seed1"][0]["train_loss"]
    assert format_report(report).splitlines()[1].endswith("  2/3")  # the members' epochs
    assert format_report(json.loads(json.dumps(report)))  # the JSON read back formats


def test_report_progress_goes_to_stderr_and_parallel_folds_agree(capsys):
    X, y, _ = toy_corpus()
    sequential = cross_validate_report(LogisticRegression(), X, y, cv=3, verbose=1)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "fold 1/3: training on" in captured.err and "fold 3/3: accuracy" in captured.err
    with parallel_config(backend="threading"):  # the parallel path, without process start-up
        parallel = cross_validate_report(LogisticRegression(), X, y, cv=3, n_jobs=2)
    assert parallel.accuracy == sequential.accuracy
    assert parallel.confusion_matrix == sequential.confusion_matrix


def test_report_checks_lengths():
    X, y, groups = toy_corpus()
    with pytest.raises(ValueError, match="one label per sample"):
        cross_validate_report(LogisticRegression(), X, y[:-1])
    with pytest.raises(ValueError, match="groups has"):
        cross_validate_report(LogisticRegression(), X, y, groups=groups[:-1], cv="loso")


def test_report_labels_must_cover_y_and_extra_labels_leave_chance_alone():
    X, y, _ = toy_corpus()
    # a subset counted only its classes in the pooled matrix: wrong pooled figures
    with pytest.raises(ValueError, match=r"every class of y; it lacks \['sadness'\]"):
        cross_validate_report(LogisticRegression(), X, y, labels=["anger", "neutral"])
    with pytest.raises(ValueError, match=r"\['anger'\] more than once"):
        cross_validate_report(LogisticRegression(), X, y, labels=["anger", *LABELS])
    report = cross_validate_report(LogisticRegression(), X, y, cv=3, random_state=0,
                                   labels=[*LABELS, "boredom"])  # a corpus's full list
    assert report.labels[-1] == "boredom" and report.confusion_matrix[-1] == [0] * 4
    assert np.sum(report.confusion_matrix) == len(y)
    # chance UAR over the 3 classes y holds, not the 4 labels listed
    assert "chance UAR 0.333" in format_report(report)


# -- figures ------------------------------------------------------------------------
def test_plots_explain_how_to_get_matplotlib(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # import now fails
    with pytest.raises(ImportError, match="pip install matplotlib"):
        plot_confusion_matrix(np.eye(2, dtype=int), ["a", "b"], tmp_path / "cm.png")
    with pytest.raises(ImportError, match="pip install matplotlib"):
        plot_log_mel_3d(np.zeros((3, 10, 4)), tmp_path / "lm.png")


def test_confusion_matrix_png(tmp_path):
    image = pytest.importorskip("matplotlib.image")
    cm = np.array([[5, 1, 0], [2, 7, 1], [0, 0, 0]])  # a class never seen: no division by 0
    path = plot_confusion_matrix(cm, LABELS, tmp_path / "cm.png")
    pixels = image.imread(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert pixels.ndim == 3 and pixels.shape[0] > 200 and pixels.shape[1] > 200
    with pytest.raises(ValueError, match="square matrix with one row per label"):
        plot_confusion_matrix(cm, LABELS[:2], tmp_path / "bad.png")


def test_log_mel_png_lays_chunks_end_to_end(tmp_path):
    image = pytest.importorskip("matplotlib.image")
    signal = np.random.default_rng(0).standard_normal(40000) * 0.1
    X = LogMel3DTransformer(chunk_frames=100).fit_transform([signal])
    chunks = np.asarray(X[0])
    assert chunks.shape == (3, 3, 100, 40)
    end_to_end = np.concatenate(list(chunks), axis=1)  # (3, 300, 40)
    from_chunks = plot_log_mel_3d(chunks, tmp_path / "chunks.png", n_frames=X.n_frames.sum())
    from_array = plot_log_mel_3d(end_to_end, tmp_path / "array.png", n_frames=X.n_frames.sum())
    np.testing.assert_array_equal(image.imread(from_chunks), image.imread(from_array))
    with pytest.raises(ValueError, match=r"\(3, n_frames, n_mels\)"):
        plot_log_mel_3d(np.zeros((2, 10, 4)), tmp_path / "bad.png")
    for n_frames in (0, -5, 2.5):  # 0 used to be an IndexError
        with pytest.raises(ValueError, match=rf"n_frames={n_frames!r} must be an integer >= 1"):
            plot_log_mel_3d(end_to_end, tmp_path / "bad.png", n_frames=n_frames)


@pytest.mark.parametrize("voting", [False, True])
def test_a_fold_too_small_for_the_validation_split_fails_before_any_training(voting):
    # A late fold used to fail after the earlier ones had trained, losing them all.
    y = np.array(["anger", "sadness"] * 20 + ["boredom"] * 2)
    groups = np.array([f"s{i % 5}" for i in range(40)] + ["s8", "s9"])
    # a 10 % stratified validation split (the CLI's default) needs 2 of every class
    net = ADCRNNClassifier(max_epochs=1, verbose=0, train_split=ValidSplit(0.1, stratified=True))
    fitted = []

    class Watch(LogMel3DTransformer):
        def fit_transform(self, X, y=None, **params):
            fitted.append(len(X))
            return super().fit_transform(X, y, **params)

    clf = VotingClassifier([("seed0", net), ("seed1", clone(net))], voting="soft") \
        if voting else net
    pipe = Pipeline([("features", Watch(chunk_frames=50, n_mels=20)), ("clf", clf)])
    signals = [np.zeros(800)] * len(y)
    # LOSO: speakers s8 and s9 hold one boredom utterance each, so the folds that
    # test them (6 and 7 of 7) train on a single one
    with pytest.raises(ValueError, match=r"fold 6 of 7: train_split=ValidSplit\(cv=0.1, "
                                         r"stratified=True\) cannot hold out .*boredom: 1"):
        cross_validate_report(pipe, signals, y, groups=groups, cv="loso")
    assert fitted == []  # nothing was trained
    # ValidSplit(5) only warns about a class of 2 (scikit-learn's StratifiedKFold): no error
    ok = clone(pipe).set_params(clf=ADCRNNClassifier(max_epochs=1, verbose=0))
    from sklearn_ser.evaluation._report import _check_inner_splits

    _check_inner_splits(ok, y, [(np.arange(38), np.arange(38, 42))])
    # a split that fails for another reason is named too
    with pytest.raises(ValueError, match=r"fold 1 of 1: train_split=ValidSplit\(cv=0.1, "
                                         r"stratified=True\) cannot split the 6 training "
                                         r"utterances: The test_size = 1 should be greater"):
        _check_inner_splits(pipe, y, [(np.r_[0:4, 40:42], np.arange(4, 8))])


def test_per_class_recall_matches_scikit_learn_and_skips_absent_classes():
    from sklearn.metrics import confusion_matrix, recall_score

    from sklearn_ser.evaluation import per_class_recall

    y_true = ["a", "a", "b", "b", "b", "c"]
    y_pred = ["a", "b", "b", "b", "c", "c"]
    cm = confusion_matrix(y_true, y_pred, labels=["a", "b", "c", "d"])
    recalls = per_class_recall(cm)
    np.testing.assert_allclose(recalls[:3], recall_score(y_true, y_pred, average=None))
    assert recalls[3] is None


def test_a_class_smaller_than_the_folds_is_named_with_the_fix():
    from sklearn.dummy import DummyClassifier

    from sklearn_ser.evaluation import cross_validate_report
    from sklearn_ser.exceptions import SmallDataWarning

    X = np.zeros((23, 1))
    y = np.array(["anger"] * 10 + ["joy"] * 10 + ["fear"] * 3)
    with pytest.warns(SmallDataWarning, match=r"1 class\(es\).*5 folds: 'fear' \(3\).*cv=3"):
        cross_validate_report(DummyClassifier(), X, y, cv=5, verbose=0)


def test_small_classes_with_object_labels_are_named():
    from sklearn.dummy import DummyClassifier

    from sklearn_ser.evaluation import cross_validate_report
    from sklearn_ser.exceptions import SmallDataWarning

    y = np.array(["anger"] * 10 + ["joy"] * 10 + ["fear"], dtype=object)
    with pytest.warns(SmallDataWarning, match=r"'fear' \(1\).*at least 2 utterances"):
        cross_validate_report(DummyClassifier(), np.zeros((21, 1)), y, cv=5, verbose=0)


def test_an_interrupted_figure_leaves_the_earlier_one_whole(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    path = tmp_path / "cm.png"
    plot_confusion_matrix(np.eye(2, dtype=int), ["a", "b"], path)
    before = path.read_bytes()

    def interrupted(self, fname, **kwargs):
        Path(fname).write_bytes(b"\x89PNG half")
        raise KeyboardInterrupt

    monkeypatch.setattr(Figure, "savefig", interrupted)
    with pytest.raises(KeyboardInterrupt):
        plot_confusion_matrix(np.eye(2, dtype=int), ["a", "b"], path)
    assert path.read_bytes() == before and sorted(tmp_path.iterdir()) == [path]
