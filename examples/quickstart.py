"""Quickstart: speaker-independent cross-validation and a saved model in about a minute.

Trains the paper's pipeline -- 3-D log-Mel front end, ADCRNN, cross-entropy +
contrastive-center loss -- at small widths on the built-in synthetic corpus
(no download), scores it with speaker-independent 4-fold cross-validation
(accuracy and unweighted average recall), then refits on everything and saves
the fitted pipeline in the safe model format (``sklearn_ser.save_model``,
which loads without running any of the file's content; ``joblib.dump`` would
write a pickle, to load only where the file is trusted).

Run::

    python examples/quickstart.py [--n-samples 160] [--max-epochs 15] [--out model.sser]
"""

# %%
import argparse
import time

import numpy as np
from sklearn.model_selection import GroupKFold, cross_validate

from sklearn_ser import save_model
from sklearn_ser.datasets import make_emotional_speech
from sklearn_ser.pipeline import build_pipeline


def small_pipeline(max_epochs, random_state=0):
    """The paper's recipe (constant learning rate, no augmentation) shrunk for a short
    run: an ADCRNN at the "tiny" widths, 2-s clips as one 200-frame chunk each, a
    larger learning rate and smaller batches."""
    return build_pipeline("paper", model="adcrnn", width="tiny", max_epochs=max_epochs, lr=3e-3,
                          batch_size=16, chunk_frames=200, random_state=random_state,
                          verbose=0)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=160)
    parser.add_argument("--max-epochs", type=int, default=15)
    parser.add_argument("--out", default="quickstart_model.sser",
                        help="model file in the safe format (not a .joblib/.pkl name)")
    args = parser.parse_args(argv)

    # %% A synthetic corpus: 4 emotions, 8 speakers, 2-s utterances at 16 kHz
    X, y, speakers = make_emotional_speech(args.n_samples, n_classes=4, random_state=0)
    print(f"{len(y)} utterances, classes {sorted(set(y.tolist()))}, "
          f"{len(set(speakers.tolist()))} speakers")

    # %% Speaker-independent cross-validation: no speaker in both train and test
    start = time.perf_counter()
    scores = cross_validate(small_pipeline(args.max_epochs), X, y, groups=speakers,
                            cv=GroupKFold(4), scoring=["accuracy", "balanced_accuracy"])
    for fold, (acc, uar) in enumerate(zip(scores["test_accuracy"],
                                          scores["test_balanced_accuracy"], strict=True)):
        print(f"fold {fold}: accuracy {acc:.3f}  UAR {uar:.3f}")
    print(f"mean: accuracy {np.mean(scores['test_accuracy']):.3f}  "
          f"UAR {np.mean(scores['test_balanced_accuracy']):.3f}  "
          f"(chance 0.25; {time.perf_counter() - start:.0f} s)")

    # %% Refit on everything and save the whole pipeline
    pipe = small_pipeline(args.max_epochs).fit(X, y)
    save_model(pipe, args.out)
    print(f"saved the fitted pipeline to {args.out}")
    return scores


if __name__ == "__main__":
    main()
