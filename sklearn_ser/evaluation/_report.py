"""`cross_validate_report`: fold-by-fold cross-validation with a JSON-serialisable summary."""

from __future__ import annotations

import sys
import time
import warnings

import numpy as np
from joblib import effective_n_jobs
from sklearn.base import clone
from sklearn.ensemble import VotingClassifier
from sklearn.metrics import accuracy_score, confusion_matrix
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.utils import Bunch, _safe_indexing
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import _num_samples

from ..exceptions import SmallDataWarning
from ._metrics import per_class_recall, uar_score
from ._routing import check_speaker_routing, routes_groups
from ._splits import make_cv

__all__ = ["cross_validate_report", "format_report"]


def _log(message):
    print(message, file=sys.stderr, flush=True)


def _skorch_history(model):
    """The fitted model's (or a Pipeline's final step's) skorch history, or ``None``."""
    final = model[-1] if isinstance(model, Pipeline) else model
    history = getattr(final, "history", None)
    if history is None or not hasattr(history, "__len__") or isinstance(history, str):
        return None
    return history


def _member_histories(model):
    """``{member name: per-epoch figures}`` of a fitted soft vote of networks
    (a Pipeline's final step), or ``None`` for any other model."""
    final = model[-1] if isinstance(model, Pipeline) else model
    members = getattr(final, "named_estimators_", None)
    if members is None:
        return None
    return {name: _epoch_figures(_skorch_history(member)) for name, member in members.items()}


def _epoch_figures(history):
    """Per-epoch scalars of a skorch history (losses, scores, lr, duration), JSON-ready."""
    if history is None:
        return None
    return [
        {key: value.item() if isinstance(value, np.generic) else value
         for key, value in row.items()
         if isinstance(value, (bool, int, float, np.generic)) and not isinstance(value, str)}
        for row in history
    ]


def _mean_std(values):
    """Mean and standard deviation of the values that are not ``None`` (``None`` if none)."""
    present = [value for value in values if value is not None]
    if not present:
        return None, None
    return float(np.mean(present)), float(np.std(present))


def _final_step_input(model, X, params):
    """``(final estimator, X transformed by the steps before it)`` of a fitted model
    (``params``, routed metadata such as the speakers, go to those steps)."""
    if isinstance(model, Pipeline) and len(model) > 1:
        return model[-1], model[:-1].transform(X, **params)
    return model, X


def _probabilities(model, X):
    """``model.predict_proba(X)``, or ``None`` (with a warning if it fails): the
    scores are an extra of the report, not worth a fold that took hours to fit."""
    if not hasattr(model, "predict_proba"):
        return None
    try:
        return np.asarray(model.predict_proba(X))
    except (AttributeError, NotImplementedError, ValueError) as exc:
        warnings.warn(f"predict_proba failed, so this fold's probabilities are None: {exc}",
                      UserWarning, stacklevel=3)
        return None


def _check_labels(labels, y):
    """The class order: ``labels`` (every class of ``y``, each once, others allowed),
    or the sorted classes of ``y``."""
    present = np.unique(y)
    if labels is None:
        return present
    labels = np.asarray(labels)
    values, counts = np.unique(labels, return_counts=True)
    if (counts > 1).any():
        raise ValueError(f"labels lists {values[counts > 1].tolist()} more than once")
    missing = np.setdiff1d(present, labels)
    if missing.size:
        # a confusion matrix over a subset drops those samples from the pooled figures
        raise ValueError(f"labels must list every class of y; it lacks {missing.tolist()}")
    return labels


def _run_fold(estimator, X, y, train, test, labels, groups=None):
    """Fit a clone on ``train``, predict ``test``; figures of one fold as plain Python
    types. ``groups``, when given, is routed to ``fit`` and to the front end."""
    train_params = {} if groups is None else {"groups": _safe_indexing(groups, train)}
    test_params = {} if groups is None else {"groups": _safe_indexing(groups, test)}
    start = time.perf_counter()
    model = clone(estimator).fit(_safe_indexing(X, train), y[train], **train_params)
    fit_time = time.perf_counter() - start
    start = time.perf_counter()
    # A Pipeline's front end runs once for both predict and predict_proba.
    final, X_test = _final_step_input(model, _safe_indexing(X, test), test_params)
    y_pred = np.asarray(final.predict(X_test))
    score_time = time.perf_counter() - start
    proba = _probabilities(final, X_test)
    classes = getattr(model, "classes_", None)
    y_test = y[test]
    cm = confusion_matrix(y_test, y_pred, labels=labels)
    history = _skorch_history(model)
    return {
        "n_train": len(train),
        "n_test": len(test),
        "accuracy": float(accuracy_score(y_test, y_pred)),
        "uar": uar_score(y_test, y_pred),
        "per_class_recall": per_class_recall(cm),
        "confusion_matrix": cm,
        "fit_time": fit_time,
        "score_time": score_time,
        "epochs": None if history is None else len(history),
        "history": _epoch_figures(history),
        "member_history": _member_histories(model),
        "test_index": np.asarray(test).tolist(),
        "predictions": y_pred.tolist(),
        "probabilities": None if proba is None else proba.tolist(),
        "classes": None if classes is None else np.asarray(classes).tolist(),
    }


def cross_validate_report(
    estimator,
    X,
    y,
    *,
    groups=None,
    cv=5,
    random_state=0,
    n_jobs=None,
    verbose=0,
    labels=None,
):
    """Cross-validate ``estimator`` fold by fold and summarise accuracy, UAR and errors.

    Each fold fits a fresh :func:`~sklearn.base.clone` on the training part
    (in a ``Pipeline`` with :class:`~sklearn_ser.LogMel3DTransformer`, the
    normalisation statistics too, so nothing leaks from the test part) and
    predicts the test part.

    Parameters
    ----------
    estimator : estimator
        Usually ``Pipeline([("features", LogMel3DTransformer()), ("clf",
        ADCRNNClassifier())])``; anything with ``fit`` and ``predict``.
    X : sequence of audio sources, array or ChunkedFeatures [length=n_samples]
        What ``estimator.fit`` takes; indexed with scikit-learn's
        ``_safe_indexing`` (lists, arrays, ``ChunkedFeatures``).
    y : array-like [shape=(n_samples,)]
        Labels.
    groups : array-like [shape=(n_samples,)] or None, default=None
        Speaker of every sample; needed by ``cv="loso"`` and ``"groupK"``.
        Under scikit-learn's metadata routing it is also passed to the
        estimator's ``fit`` and, for the test part, to its front end, when a
        step requests it: ``LogMel3DTransformer(normalize="speaker")`` then
        normalises each test speaker with their own unlabelled audio.
    cv : int, str or splitter, default=5
        See :func:`make_cv`: ``k`` (stratified shuffled k-fold), ``"loso"``
        (leave one speaker out), ``"groupK"`` (stratified group k-fold), or
        a splitter object.
    random_state : int or None, default=0
        Seed of the fold shuffling.
    n_jobs : int or None, default=None
        Folds fitted in parallel (joblib); ``None`` means 1. A torch model
        already uses every core, so more than one job rarely helps on a CPU.
    verbose : int, default=0
        ``>= 1`` prints a line per fold on stderr.
    labels : array-like or None, default=None
        Class order of the confusion matrix and the recalls; default: the
        sorted unique values of ``y``. It must hold every class of ``y`` (a
        subset would drop samples from the pooled figures); classes absent
        from ``y``, such as the rest of a corpus's label list, are allowed.

    Returns
    -------
    report : sklearn.utils.Bunch
        Plain Python values only (``json.dumps(report)`` works); per-fold
        lists follow the splitter's fold order:

        - ``labels``: the class order below;
        - ``accuracy``, ``uar``: per fold; ``accuracy_mean``, ``accuracy_std``,
          ``uar_mean``, ``uar_std``: over folds (``std`` with ``ddof=0``, as
          ``scores.std()`` in scikit-learn's examples);
        - ``per_class_recall``: per fold, a list over ``labels`` (``None``
          where a class is absent from the fold's test part, e.g. a speaker
          who never portrays it); ``per_class_recall_mean`` and
          ``per_class_recall_std``: over the folds where it is present
          (``None`` if none);
        - ``confusion_matrix``: summed over folds, rows the true class and
          columns the predicted one, in ``labels`` order; it counts every
          sample once for a partition (k-fold, LOSO); ``pooled_accuracy`` and
          ``pooled_uar`` are computed from it;
        - ``n_train``, ``n_test``, ``fit_time``, ``score_time`` (seconds of
          wall time), ``epochs`` (length of the final estimator's ``history``
          for skorch models, else ``None``, a soft vote of networks
          included): per fold;
        - ``history``: per fold, the final estimator's skorch history as a
          list of per-epoch dicts of its scalar entries (``epoch``,
          ``train_loss``, ``valid_loss``, ``valid_acc``, ``dur``,
          ``event_lr`` with a schedule, ``*_best`` flags), ``None`` for
          other estimators (a soft vote of networks included): the
          learning curves;
        - ``member_history``: per fold, for a soft vote of networks
          (``VotingClassifier``, e.g. ``build_pipeline(n_seeds=N)``), each
          member's history as above by member name; ``None`` otherwise;
        - ``test_index``, ``predictions``: per fold, the positions in ``X``
          of the test samples and the predicted label of each, for paired
          comparisons of two models on the same samples;
        - ``probabilities``: per fold, ``predict_proba`` of the test samples
          as a list of rows (columns in ``classes`` order), ``None`` for an
          estimator without ``predict_proba`` or whose ``predict_proba``
          failed (with a warning: the fold is kept); ``classes``: per fold, the
          fitted estimator's ``classes_`` (``None`` if it has none);
        - ``n_samples``, ``n_splits``, ``cv`` (the splitter's repr),
          ``total_time``.

    See Also
    --------
    format_report : the report as text.
    sklearn.model_selection.cross_validate : with ``scoring=SCORING``, the
        same per-fold scores without the confusion matrix.
    """
    start = time.perf_counter()
    y = np.asarray(y)
    n_samples = _num_samples(X)
    if y.ndim != 1 or len(y) != n_samples:
        raise ValueError(
            f"y must be 1-D with one label per sample: got shape {y.shape} for {n_samples} samples"
        )
    if groups is not None and len(groups) != n_samples:
        raise ValueError(f"groups has {len(groups)} entries for {n_samples} samples")
    check_speaker_routing(estimator, groups)
    splitter = make_cv(cv, groups, random_state=random_state)
    labels = _check_labels(labels, y)
    _warn_small_classes(splitter, y)
    # Plain k-folds ignore groups (and warn about them): give groups only to the others.
    uses_groups = not isinstance(splitter, (KFold, StratifiedKFold))
    splits = list(splitter.split(np.zeros((n_samples, 1)), y, groups if uses_groups else None))
    n_splits = len(splits)
    _check_inner_splits(estimator, y, splits)
    if verbose:
        _log(f"cross-validation: {n_samples} samples, {n_splits} folds ({splitter!r})")

    # the speakers, for a front end that normalises by speaker (metadata routing)
    routed = np.asarray(groups, dtype=object) if routes_groups(estimator, groups) else None
    results = []
    if effective_n_jobs(n_jobs) == 1:
        for i, (train, test) in enumerate(splits, start=1):
            if verbose:
                _log(f"fold {i}/{n_splits}: training on {len(train)}, testing on {len(test)}")
            results.append(_run_fold(estimator, X, y, train, test, labels, routed))
            if verbose:
                _log(_fold_line(i, n_splits, results[-1]))
    else:
        jobs = (delayed(_run_fold)(estimator, X, y, train, test, labels, routed)
                for train, test in splits)
        for i, result in enumerate(Parallel(n_jobs=n_jobs, return_as="generator")(jobs), 1):
            results.append(result)
            if verbose:
                _log(_fold_line(i, n_splits, result))

    cm = sum(result["confusion_matrix"] for result in results)
    fold_recalls = [res["per_class_recall"] for res in results]
    recall_mean, recall_std = zip(
        *(_mean_std(column) for column in zip(*fold_recalls, strict=True)), strict=True
    )
    pooled_recalls = [r for r in per_class_recall(cm) if r is not None]
    accuracy = [res["accuracy"] for res in results]
    uar = [res["uar"] for res in results]
    return Bunch(
        labels=labels.tolist(),
        n_samples=int(n_samples),
        n_splits=n_splits,
        cv=repr(splitter),
        accuracy=accuracy,
        uar=uar,
        accuracy_mean=float(np.mean(accuracy)),
        accuracy_std=float(np.std(accuracy)),
        uar_mean=float(np.mean(uar)),
        uar_std=float(np.std(uar)),
        per_class_recall=fold_recalls,
        per_class_recall_mean=list(recall_mean),
        per_class_recall_std=list(recall_std),
        confusion_matrix=cm.tolist(),
        pooled_accuracy=float(np.trace(cm) / cm.sum()),
        pooled_uar=float(np.mean(pooled_recalls)),
        n_train=[res["n_train"] for res in results],
        n_test=[res["n_test"] for res in results],
        fit_time=[res["fit_time"] for res in results],
        score_time=[res["score_time"] for res in results],
        epochs=[res["epochs"] for res in results],
        history=[res["history"] for res in results],
        member_history=[res["member_history"] for res in results],
        test_index=[res["test_index"] for res in results],
        predictions=[res["predictions"] for res in results],
        probabilities=[res["probabilities"] for res in results],
        classes=[res["classes"] for res in results],
        total_time=time.perf_counter() - start,
    )


def _networks(estimator):
    """The networks of ``estimator`` that split utterances themselves: its last
    step, or a soft vote's members."""
    if isinstance(estimator, Pipeline):
        return _networks(estimator.steps[-1][1])
    if isinstance(estimator, VotingClassifier):
        return [net for _, member in estimator.estimators if not isinstance(member, str)
                for net in _networks(member)]
    return [estimator] if hasattr(estimator, "split_utterances") else []


def _warn_small_classes(splitter, y):
    """A :class:`~sklearn_ser.exceptions.SmallDataWarning` naming the classes with
    fewer utterances than a stratified k-fold has folds (some test folds will
    lack them, and their recall is then undefined in those folds)."""
    if not isinstance(splitter, StratifiedKFold):
        return
    values, counts = np.unique(y, return_counts=True)
    small = [(value, count) for value, count in zip(values, counts, strict=True)
             if count < splitter.n_splits]
    if small:
        named = ", ".join(f"{value.item() if isinstance(value, np.generic) else value!r} "
                          f"({count})" for value, count in small)
        fewest = int(min(count for _, count in small))
        fix = (f"Use fewer folds (cv={fewest}; --cv on the command line) or more utterances "
               "of these classes") if fewest >= 2 else \
            "Give every class at least 2 utterances (or leave out the classes with 1)"
        warnings.warn(
            f"{len(small)} class(es) have fewer utterances than the {splitter.n_splits} folds: "
            f"{named}; some test folds will not hold them. {fix}",
            SmallDataWarning, stacklevel=3,
        )


def _check_inner_splits(estimator, y, splits):
    """Before any fold is fitted: every training part must allow the networks'
    validation split (``train_split``), or a late fold would fail after hours
    of training and take the finished folds with it."""
    networks = [net for net in _networks(estimator) if net.train_split]
    for i, (train, _) in enumerate(splits, start=1):
        for net in networks:
            try:
                with warnings.catch_warnings():  # fit will warn, once, if it must
                    warnings.simplefilter("ignore")
                    net.split_utterances(y[train])
            except ValueError as exc:
                raise ValueError(f"fold {i} of {len(splits)}: {exc}") from exc


def _epochs_text(epochs, member_history):
    """Epochs of a fold: ``"60"``, ``"60/52/60"`` for the members of a vote, or ``None``."""
    if epochs is not None:
        return str(epochs)
    if member_history:
        return "/".join("-" if rows is None else str(len(rows))
                        for rows in member_history.values())
    return None


def _fold_line(i, n_splits, result):
    text = _epochs_text(result["epochs"], result.get("member_history"))
    epochs = "" if text is None else f", {text} epochs"
    return (
        f"fold {i}/{n_splits}: accuracy {result['accuracy']:.3f}, UAR {result['uar']:.3f} "
        f"({result['fit_time'] + result['score_time']:.1f} s{epochs})"
    )


def format_report(report):
    """The report of :func:`cross_validate_report` as a plain-text table.

    Parameters
    ----------
    report : dict
        As returned by :func:`cross_validate_report` (or read back from its
        JSON).

    Returns
    -------
    text : str
        One line per fold (sizes, accuracy, UAR, seconds, epochs), the mean
        and standard deviation over folds, the pooled figures, and the
        recall of every class (mean and standard deviation over the folds
        where it is present).
    """
    lines = [f"{'fold':>4}  {'train':>6}  {'test':>5}  {'accuracy':>8}  {'UAR':>6}  "
             f"{'seconds':>7}  {'epochs':>6}"]
    # reports written before member_history existed have none
    member_history = report.get("member_history") or [None] * report["n_splits"]
    # chance is over the classes y holds (rows of the pooled matrix), not every label listed
    n_present = int((np.asarray(report["confusion_matrix"]).sum(axis=1) > 0).sum()) or 1
    for i in range(report["n_splits"]):
        epochs = _epochs_text(report["epochs"][i], member_history[i])
        seconds = report["fit_time"][i] + report["score_time"][i]
        lines.append(
            f"{i + 1:>4}  {report['n_train'][i]:>6}  {report['n_test'][i]:>5}  "
            f"{report['accuracy'][i]:>8.3f}  {report['uar'][i]:>6.3f}  {seconds:>7.1f}  "
            f"{'-' if epochs is None else epochs:>6}"
        )
    lines += [
        f"accuracy {report['accuracy_mean']:.3f} ± {report['accuracy_std']:.3f}, "
        f"UAR {report['uar_mean']:.3f} ± {report['uar_std']:.3f} "
        f"(mean ± std over {report['n_splits']} folds; chance UAR {1 / n_present:.3f})",
        f"pooled over folds: accuracy {report['pooled_accuracy']:.3f}, "
        f"UAR {report['pooled_uar']:.3f}",
        "per-class recall (mean ± std over folds):",
    ]
    width = max(len(str(label)) for label in report["labels"])
    for k, label in enumerate(report["labels"]):
        mean, std = report["per_class_recall_mean"][k], report["per_class_recall_std"][k]
        text = "absent from every test fold" if mean is None else f"{mean:.3f} ± {std:.3f}"
        lines.append(f"  {label!s:<{width}}  {text}")
    return "\n".join(lines)
