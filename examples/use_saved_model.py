"""Use a saved pipeline from another script: WAV files in, emotions out.

The saved ``Pipeline`` carries the front end's settings and normalisation
statistics with the network, so raw audio goes straight in; a model trained
on a GPU with ``device="auto"`` loads on a CPU-only machine. A file in the
safe format (``sklearn_ser.save_model``) is read without running any of its
content; a joblib pickle (``.joblib``, ``.pkl``, ``.pickle``, compressed or
not) is unpickled, so only from a source you trust.

Run (after ``python examples/quickstart.py``)::

    python examples/use_saved_model.py quickstart_model.sser clip1.wav clip2.wav
"""

# %%
import argparse
import re
import zipfile

import joblib

from sklearn_ser import load_model

#: Names of joblib pickles, compressed or not, as the command line reads them.
PICKLE_NAME = re.compile(r"\.(joblib|pkl|pickle)(\.(z|gz|bz2|xz|lzma))?$", re.IGNORECASE)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a pipeline saved with sklearn_ser.save_model, or a "
                                          "pickle saved with joblib.dump (.joblib, .pkl, ...)")
    parser.add_argument("files", nargs="+", help="audio files (any rate, mono or not)")
    args = parser.parse_args(argv)

    # a zip is the safe format whatever its name (save_model wrote any name before 0.1)
    pickled = PICKLE_NAME.search(args.model) and not zipfile.is_zipfile(args.model)
    pipe = joblib.load(args.model) if pickled else load_model(args.model)
    proba = pipe.predict_proba(args.files)
    classes = pipe.classes_
    for path, row in zip(args.files, proba, strict=True):
        ranked = sorted(zip(classes, row, strict=True), key=lambda item: -item[1])
        print(f"{path}: {ranked[0][0]}  (" + ", ".join(f"{c} {p:.2f}" for c, p in ranked) + ")")
    return proba


if __name__ == "__main__":
    main()
