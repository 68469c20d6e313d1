"""Emotions over time in a long recording, in bounded memory.

Slides windows of the model's chunk (3 s for the paper's 300 frames, 2 s for
the demo model's 200) every ``--hop`` seconds over a long file, reading it
block by block, and prints the most probable emotion of each window.
Without arguments it trains a small model on the synthetic corpus and plays
it a 24-s recording made of held-out utterances of known emotions (one
speaker, four emotions in turn), so you can see the timeline follow them.

Run::

    python examples/timeline.py [MODEL LONG.wav] [--hop 1.0]
"""

# %%
import argparse
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from sklearn_ser.datasets import make_emotional_speech
from sklearn_ser.pipeline import build_pipeline
from sklearn_ser.timeline import predict_timeline


def demo_recording(folder, clips_per_emotion=3):
    """A model trained on the synthetic corpus and a recording of held-out utterances."""
    X, y, speakers = make_emotional_speech(240, n_classes=4, random_state=0)
    emotions = ("neutral", "anger", "sadness", "happiness")
    # The recording: speaker 0's first clips of each emotion, one emotion after another.
    held_out = np.concatenate([np.flatnonzero((speakers == 0) & (y == e))[:clips_per_emotion]
                               for e in emotions])
    train = np.setdiff1d(np.arange(len(y)), held_out)
    # the paper's recipe at tiny widths, on 2-s chunks, with a larger step for 15 epochs
    model = build_pipeline("paper", width="tiny", max_epochs=15, lr=3e-3, batch_size=16,
                           chunk_frames=200, verbose=0).fit(X[train], y[train])
    parts = np.split(X[held_out], len(emotions))
    ends = np.cumsum([part.size for part in parts]) / 16000
    truth = list(zip(emotions, ends.tolist(), strict=True))
    path = Path(folder) / "long.wav"
    sf.write(path, X[held_out].ravel(), 16000)
    return model, path, truth


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?",
                        help="a saved model: .sser (save_model, sklearn-ser train) or a "
                             ".joblib pickle from a source you trust")
    parser.add_argument("audio", nargs="?", help="a long recording")
    parser.add_argument("--hop", type=float, default=1.0)
    args = parser.parse_args(argv)
    if args.model and not args.audio:
        parser.error("a MODEL needs a LONG.wav to play it (or give neither for the demo)")

    with tempfile.TemporaryDirectory() as folder:
        if args.model:
            import joblib

            from sklearn_ser import load_model

            model = (joblib.load(args.model) if args.model.endswith(".joblib")
                     else load_model(args.model))
            path, truth = args.audio, None
        else:
            model, path, truth = demo_recording(folder)
            print("recording: " + ", ".join(f"{e} until {t:.0f} s" for e, t in truth))
        # %% One row per window, read block by block
        rows = []
        for start, end, proba in predict_timeline(model, path, hop_seconds=args.hop):
            # NaN: a window of digital silence under a trim_zeros model
            label = "(silence)" if np.isnan(proba).all() else model.classes_[proba.argmax()]
            rows.append((start, end, label))
            print(f"{start:7.1f} - {end:5.1f} s  {label:<10} {proba.max():.2f}")
    return rows, truth


if __name__ == "__main__":
    main()
