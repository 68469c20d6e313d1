"""Classical baseline on Emo-DB: utterance mean/std of the 3-D log-Mel, RBF SVM.

The reference row of ``docs/results.md``: ``LogMel3DTransformer ->
UtteranceStatistics -> StandardScaler -> SVC(C=10)``, scored with the paper's
protocol (stratified shuffled 5-fold, seed 0) and speaker-independently
(leave one speaker out, 10 folds). Prints accuracy and UAR, mean +- std.

Usage::

    python benchmarks/emodb_svm_baseline.py [--root ../shared/data/emodb]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from sklearn.model_selection import LeaveOneGroupOut, StratifiedKFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from sklearn_ser import LogMel3DTransformer
from sklearn_ser.datasets import load_emodb
from sklearn_ser.evaluation import SCORING
from sklearn_ser.features import UtteranceStatistics


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_root = os.environ.get(
        "SKLEARN_SER_EMODB", Path(__file__).resolve().parents[2] / "shared" / "data" / "emodb"
    )
    parser.add_argument("--root", type=Path, default=Path(default_root))
    parser.add_argument("--C", type=float, default=10.0)
    args = parser.parse_args(argv)
    corpus = load_emodb(args.root)
    X, y, speakers = list(corpus.filenames), corpus.target, corpus.groups
    pipe = make_pipeline(LogMel3DTransformer(), UtteranceStatistics(), StandardScaler(),
                         SVC(C=args.C))
    protocols = {
        "stratified 5-fold (paper)": (StratifiedKFold(5, shuffle=True, random_state=0), None),
        "leave one speaker out": (LeaveOneGroupOut(), speakers),
    }
    results = {}
    for name, (cv, groups) in protocols.items():
        start = time.perf_counter()
        scores = cross_validate(pipe, X, y, groups=groups, cv=cv, scoring=SCORING)
        results[name] = scores
        print(f"{name:<28} accuracy {scores['test_accuracy'].mean():.3f} "
              f"+- {scores['test_accuracy'].std():.3f}   UAR {scores['test_uar'].mean():.3f} "
              f"+- {scores['test_uar'].std():.3f}   ({time.perf_counter() - start:.0f} s)")
    return results


if __name__ == "__main__":
    main()
