"""The paper's Tables 2 and 3 as one GridSearchCV: model x loss.

{ADCRNN, ACRNN} x {contrastive-center, center, cross-entropy only}, scored by
accuracy and unweighted average recall (UAR). By default it runs on the
built-in synthetic corpus at tiny widths; ``--emodb ROOT`` runs it on Emo-DB
(stratified shuffled 5-fold, the paper's protocol). The features are cached
with ``Pipeline(memory=...)``, so they are extracted once per fold.

Run::

    python examples/paper_grid.py [--emodb path/to/emodb] [--max-epochs 15]
"""

# %%
import argparse
import tempfile

import numpy as np
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline

from sklearn_ser import ACRNNClassifier, ADCRNNClassifier, LogMel3DTransformer
from sklearn_ser.datasets import load_emodb, make_emotional_speech
from sklearn_ser.pipeline import width_params


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emodb", help="Emo-DB root (wav/*.wav); default: synthetic corpus")
    parser.add_argument("--max-epochs", type=int, default=15)
    parser.add_argument("--n-samples", type=int, default=120)
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args(argv)

    if args.emodb:
        corpus = load_emodb(args.emodb)
        X, y = list(corpus.filenames), corpus.target
    else:
        X, y, _ = make_emotional_speech(args.n_samples, n_classes=4, random_state=0)

    training = dict(lr=3e-3, max_epochs=args.max_epochs, batch_size=16, train_split=None,
                    random_state=0, verbose=0)
    grid = {
        "clf": [ADCRNNClassifier(**training, **width_params("adcrnn", "tiny")),
                ACRNNClassifier(**training, **width_params("acrnn", "tiny"))],
        "clf__criterion__aux": ["contrastive-center", "center", None],
    }
    with tempfile.TemporaryDirectory() as cache:
        pipe = Pipeline([("features", LogMel3DTransformer(chunk_frames=200)),
                         ("clf", grid["clf"][0])], memory=cache)
        search = GridSearchCV(
            pipe, grid, scoring={"accuracy": "accuracy", "uar": "balanced_accuracy"},
            refit="uar", cv=StratifiedKFold(args.folds, shuffle=True, random_state=0),
        ).fit(X, y)

    # %% One row per (model, loss), as in the paper's tables
    results = search.cv_results_
    print(f"{'model':<8}{'loss':<20}{'accuracy':>18}{'UAR':>18}")
    for i, params in enumerate(results["params"]):
        model = type(params["clf"]).__name__.replace("Classifier", "")
        loss = params["clf__criterion__aux"] or "cross-entropy"
        print(f"{model:<8}{loss:<20}"
              f"{results['mean_test_accuracy'][i]:>11.3f} ± {results['std_test_accuracy'][i]:.3f}"
              f"{results['mean_test_uar'][i]:>11.3f} ± {results['std_test_uar'][i]:.3f}")
    print(f"best by UAR: {search.best_params_['clf'].__class__.__name__}, "
          f"loss {search.best_params_['clf__criterion__aux']}")
    return np.asarray(results["mean_test_uar"])


if __name__ == "__main__":
    main()
