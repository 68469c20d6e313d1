"""The paper's Emo-DB experiment (Tables 2 and 3), fold by fold, resumable.

Runs a named configuration under a protocol and stores every fold as a JSON
file under ``benchmarks/results/emodb/<config>/<protocol>/``; ``report``
gathers the stored folds into the tables of ``docs/results.md`` and the
learning-curve and confusion-matrix figures. A fold already stored is not
run again, so a long grid can be spread over several runs or machines
(commit the JSON files).

Protocols: ``paper`` (stratified shuffled 5-fold, seed 0: a speaker's
utterances fall on both sides) and ``loso`` (leave one speaker out, 10 folds).
Every statistic (normalisation, early stopping) is learned on the training
part of a fold only; early stopping watches skorch's internal validation split
of the training part, never the test fold.

Usage::

    python benchmarks/emodb_protocol.py list
    python benchmarks/emodb_protocol.py run --config adcrnn-cc-small-tuned --protocol paper \\
        [--folds 1,2] [--threads 1] [--root path/to/emodb]
    python benchmarks/emodb_protocol.py report      # writes docs/results.md's tables and PNGs
    python benchmarks/emodb_protocol.py run --config adcrnn-cc-paper --protocol paper \\
        --folds 1 --checkpoint-dir benchmarks/checkpoints   # hours: resumable

The equivalent command line of a configuration (same pipeline, all folds in
one go, no per-fold files) is printed by ``list`` and in the report.

An ensemble (``ENSEMBLES``: a configuration trained with seeds 0, 1, ...)
is not run as such: ``run --config <ensemble>`` runs its members' folds,
and ``report`` scores its row from the members' stored test probabilities
and the corpus's labels (``report --root``, default as for ``run``).
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import re
import shutil
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "emodb"
DOCS = HERE.parent / "docs"
DEFAULT_ROOT = Path(
    os.environ.get("SKLEARN_SER_EMODB", HERE.parents[1] / "shared" / "data" / "emodb")
)
PROTOCOLS = {"paper": ("5", "stratified shuffled 5-fold, seed 0"),
             "loso": ("loso", "leave one speaker out, 10 folds")}

#: Every stored row trained its batches in file order, the same every epoch:
#: the classifiers did not yet ask skorch to shuffle. The rows
#: keep that (``shuffle=False``, ``--no-shuffle``) so that their commands
#: reproduce them; a configuration that shuffles is a new row. They all
#: trained in float32 (on a CPU without native bfloat16, where
#: ``precision="auto"`` is float32): pinned, so that a host with AMX or a GPU
#: reproduces them too; a bfloat16 configuration is a new row.
STORED_ROWS = dict(shuffle=False, precision="float32")
#: The paper's training set-up (Pham et al. 2020): Adam 1e-4, batch 32, 3-s
#: chunks; every epoch trains on the whole training part, nothing selected.
PAPER_RECIPE = dict(epochs=40, lr=1e-4, batch_size=32, chunk_frames=300, valid_fraction=0.0,
                    **STORED_ROWS)
#: The first CPU run: the paper's recipe with a larger constant step.
PLAIN_RECIPE = dict(PAPER_RECIPE, lr=5e-4)
#: A practitioner's recipe, every part learned inside the training folds: 2-s
#: chunks (the copy's length, so no padding), SpecAugment, cosine learning
#: rate from 1e-3, early stopping with the best epoch kept, chosen on a 10 %
#: stratified validation split of the training part.
TUNED_RECIPE = dict(epochs=60, lr=1e-3, batch_size=32, chunk_frames=200, valid_fraction=0.1,
                    schedule="cosine", patience=20, augment=True, **STORED_ROWS)
#: Variants of the paper configuration (ADCRNN + contrastive-center) tried
#: for the 5-fold target, one change each from "adcrnn-cc-small-tuned":
#: "small-b16" halves the batch (twice the optimiser steps for the same
#: compute); "medium-tuned" doubles every width ("medium" preset, about 3x
#: the compute per epoch); "small-trim" drops the digital silence that ends
#: 108 of the 535 cut files (frames at the log floor otherwise);
#: "small-trim-all" also trains on the whole training part for the fixed
#: cosine schedule (no validation split, no early stopping, last epoch kept).
VARIANTS = {
    "adcrnn-cc-small-b16": dict(width="small", **dict(TUNED_RECIPE, batch_size=16)),
    "adcrnn-cc-medium-tuned": dict(width="medium", **TUNED_RECIPE),
    "adcrnn-cc-small-trim": dict(width="small", **TUNED_RECIPE, trim_zeros=True),
    "adcrnn-cc-small-trim-all": dict(width="small", trim_zeros=True,
                                     **dict(TUNED_RECIPE, valid_fraction=0.0, patience=None)),
}
#: Seed replicas of "adcrnn-cc-small-trim-all" (the classifier's random_state:
#: initial weights, batch order, masks); with seed 0 they are the members of
#: the soft-voting ensemble ``ENSEMBLES`` names, fixed before any was run.
TRIM_ALL_SEEDS = (1, 2)
VARIANTS.update({f"adcrnn-cc-small-trim-all-seed{seed}": dict(VARIANTS["adcrnn-cc-small-trim-all"],
                                                               seed=seed)
                 for seed in TRIM_ALL_SEEDS})
#: "small-trim-all" and its seed replicas with shuffled batches (skorch's
#: ``iterator_train__shuffle=True``, now the classifiers' default): what the
#: fixed batch order of the stored rows cost, seed by seed.
VARIANTS.update({name + "-shuffled": dict(VARIANTS[name], shuffle=True)
                 for name in ["adcrnn-cc-small-trim-all",
                              *(f"adcrnn-cc-small-trim-all-seed{s}" for s in TRIM_ALL_SEEDS)]})
#: The shuffled rows again under bfloat16 autocast (on a CPU with
#: AMX, where ``precision="auto"`` picks it): what the default costs or gains.
VARIANTS.update({name + "-bf16": dict(VARIANTS[name], precision="bfloat16")
                 for name in ["adcrnn-cc-small-trim-all-shuffled",
                              *(f"adcrnn-cc-small-trim-all-seed{s}-shuffled"
                                for s in TRIM_ALL_SEEDS)]})
#: Two more seeds of the bfloat16 shuffled row, the members 3 and 4
#: of a five-network vote (fixed before they ran): does the vote keep gaining
#: past three networks?
MORE_SEEDS = (3, 4)
VARIANTS.update({f"adcrnn-cc-small-trim-all-seed{seed}-shuffled-bf16":
                 dict(VARIANTS["adcrnn-cc-small-trim-all-shuffled-bf16"], seed=seed)
                 for seed in MORE_SEEDS})
LOSSES = {"cc": "contrastive-center", "center": "center", "ce": "none"}


def _grid():
    configs = {"svm": {"kind": "svm"},
               "adcrnn-cc-paper": dict(model="adcrnn", width="paper", loss="contrastive-center",
                                       **PAPER_RECIPE),
               "adcrnn-cc-small-plain": dict(model="adcrnn", width="small",
                                             loss="contrastive-center", **PLAIN_RECIPE)}
    for model in ("adcrnn", "acrnn"):
        for short, loss in LOSSES.items():
            configs[f"{model}-{short}-small-tuned"] = dict(model=model, width="small", loss=loss,
                                                           **TUNED_RECIPE)
    for name, variant in VARIANTS.items():
        configs[name] = dict(model="adcrnn", loss="contrastive-center", **variant)
    # The center-loss baseline at a weight of its own: lambda = 1 is the
    # paper's weight for contrastive-center, and the center loss (a squared distance,
    # with no denominator to bound it) is usually weighted far lower (Wen et al. 2016:
    # 0.003-0.01). 0.01 was fixed before the row ran; one run, no search on the folds.
    configs["adcrnn-center-small-tuned-w0.01"] = dict(configs["adcrnn-center-small-tuned"],
                                                      aux_weight=0.01)
    return configs


CONFIGS = _grid()
#: Soft-voting ensembles, a row of the report scored from their members'
#: stored test probabilities (the mean of the members' probabilities, the
#: class of the largest: what ``build_pipeline(n_seeds=3)``'s
#: ``VotingClassifier(voting="soft")`` predicts, up to the 5-decimal rounding
#: of the stored probabilities). ``run`` runs the members' folds. Members
#: fixed before the seed replicas ran.
ENSEMBLES = {
    "adcrnn-cc-small-trim-all-x3": ("adcrnn-cc-small-trim-all",
                                    *(f"adcrnn-cc-small-trim-all-seed{s}" for s in TRIM_ALL_SEEDS)),
    "adcrnn-cc-small-trim-all-shuffled-x3": (
        "adcrnn-cc-small-trim-all-shuffled",
        *(f"adcrnn-cc-small-trim-all-seed{s}-shuffled" for s in TRIM_ALL_SEEDS)),
    "adcrnn-cc-small-trim-all-shuffled-bf16-x3": (
        "adcrnn-cc-small-trim-all-shuffled-bf16",
        *(f"adcrnn-cc-small-trim-all-seed{s}-shuffled-bf16" for s in TRIM_ALL_SEEDS)),
    "adcrnn-cc-small-trim-all-shuffled-bf16-x5": (
        "adcrnn-cc-small-trim-all-shuffled-bf16",
        *(f"adcrnn-cc-small-trim-all-seed{s}-shuffled-bf16" for s in TRIM_ALL_SEEDS + MORE_SEEDS)),
}


def _check_ensembles():
    """An ensemble's members are one configuration with seeds 0, 1, ...: the
    ``--n-seeds`` command line that ``cli_command`` prints for it."""
    for name, members in ENSEMBLES.items():
        first = CONFIGS[members[0]]
        for seed, member in enumerate(members):
            if {**CONFIGS[member], "seed": 0} != {**first, "seed": 0} \
                    or CONFIGS[member].get("seed", 0) != seed:
                raise AssertionError(f"ensemble {name}: {member} is not {members[0]} with "
                                     f"seed {seed}")


_check_ensembles()
#: The configuration the report pairs every other against, fold by fold.
HEADLINE = "adcrnn-cc-small-tuned"
#: The configurations whose per-class recall, confusion matrix and learning
#: curves the report shows: the headline, the best unshuffled paper configuration,
#: its shuffled counterpart, and that one in bfloat16 (the only vote run in LOSO).
FEATURED = (HEADLINE, "adcrnn-cc-small-trim-all-x3", "adcrnn-cc-small-trim-all-shuffled-x3",
            "adcrnn-cc-small-trim-all-shuffled-bf16-x3")


# -- building and running ----------------------------------------------------------
#: The recipe of every stored configuration: what a configuration leaves out is the
#: paper's set-up (no augmentation, no trimming, a constant learning rate, ...).
RECIPE = "paper"


def pipeline_arguments(config):
    """``build_pipeline``'s arguments of a network configuration.

    The configurations keep the keys they were stored with (``epochs``,
    ``seed``, ``loss="none"``, ``schedule=None``), which name the fold files'
    ``params``; here they become ``max_epochs``, ``random_state``,
    ``loss=None`` and ``schedule="constant"``, over the paper recipe.
    """
    arguments = {key: value for key, value in config.items() if key not in ("epochs", "seed")}
    arguments.update(recipe=RECIPE, max_epochs=config["epochs"],
                     random_state=config.get("seed", 0))
    if arguments.get("loss") == "none":
        arguments["loss"] = None
    if "schedule" in arguments and arguments["schedule"] is None:
        arguments["schedule"] = "constant"
    return arguments


def build(config):
    """The estimator of a configuration (a Pipeline of the toolkit's public parts);
    its network is seeded with the configuration's ``seed`` (0 if it has none)."""
    if config.get("kind") == "svm":
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import SVC

        from sklearn_ser import LogMel3DTransformer
        from sklearn_ser.features import UtteranceStatistics

        return make_pipeline(LogMel3DTransformer(verbose=0), UtteranceStatistics(),
                             StandardScaler(), SVC(C=10.0))
    from sklearn_ser.pipeline import build_pipeline

    return build_pipeline(**pipeline_arguments(config), verbose=1)


def cli_command(name, protocol):
    """The ``sklearn-ser cross-validate`` line that runs the same pipeline on all folds."""
    if name in ENSEMBLES:  # the first member (seed 0) with --n-seeds
        return f"{cli_command(ENSEMBLES[name][0], protocol)} --n-seeds {len(ENSEMBLES[name])}"
    config = CONFIGS[name]
    if config.get("kind") == "svm" or config.get("seed", 0) != 0:
        # the CLI's --random-state also seeds the folds: a replica's seed has no flag of its own
        return f"python benchmarks/emodb_protocol.py run --config {name} --protocol {protocol}"
    arguments = pipeline_arguments(config)
    flags = {"recipe": RECIPE, "model": config["model"], "width": config["width"],
             "loss": config["loss"], "max-epochs": config["epochs"], "lr": config["lr"],
             "batch-size": config["batch_size"], "chunk-frames": config["chunk_frames"],
             "valid-fraction": config["valid_fraction"]}
    if config.get("aux_weight", 1.0) != 1.0:
        flags["aux-weight"] = config["aux_weight"]
    if arguments.get("schedule", "constant") != "constant":
        flags["schedule"] = arguments["schedule"]
    if config.get("patience"):
        flags["patience"] = config["patience"]
    words = ["sklearn-ser cross-validate --dataset emodb --root path/to/emodb",
             *(f"--{key} {value}" for key, value in flags.items())]
    if config.get("augment"):
        words.append("--augment")
    if config.get("trim_zeros"):
        words.append("--trim-zeros")
    if not config.get("shuffle", True):
        words.append("--no-shuffle")
    if config.get("precision", "auto") != "auto":
        words.append(f"--precision {config['precision']}")
    words.append(f"--cv {PROTOCOLS[protocol][0]} --random-state 0")
    return " ".join(words)


def trained_precision(config):
    """The arithmetic a configuration's network trains in on this machine
    (``precision="auto"`` is bfloat16 only where it is native)."""
    from sklearn_ser.nn import autocast_dtype, resolve_device

    if config.get("kind") == "svm":
        return "float32"
    dtype = autocast_dtype(config.get("precision", "auto"), resolve_device("auto"))
    return "float32" if dtype is None else str(dtype).replace("torch.", "")


def _fold_file(name, protocol, fold):
    return RESULTS / name / protocol / f"fold-{fold:02d}.json"


def _splits(corpus, protocol):
    from sklearn_ser.evaluation import make_cv

    cv = make_cv(PROTOCOLS[protocol][0], corpus.groups, random_state=0)
    groups = corpus.groups if protocol == "loso" else None
    return list(cv.split(np.zeros((len(corpus.target), 1)), corpus.target, groups))


def _test_set_hash(corpus, test):
    """Fingerprint of a fold's test files, to catch a changed split or corpus."""
    names = "\n".join(sorted(Path(corpus.filenames[i]).name for i in test))
    return hashlib.sha256(names.encode()).hexdigest()[:16]


def _stored_params(record):
    """A record's configuration; one written before ``shuffle`` or ``precision``
    was a setting trained unshuffled and in float32 (the classifiers' behaviour
    then, on the hosts they ran on), which is what it says."""
    params = record.get("params")
    if isinstance(params, dict) and params.get("kind") != "svm":
        params = {**{key: value for key, value in STORED_ROWS.items() if key not in params},
                  **params}
    return params


def _check_stored(path, name, corpus, test):
    """A stored fold must come from this configuration and this fold's test files."""
    record = json.loads(path.read_text())
    problems = []
    if _stored_params(record) != CONFIGS[name]:
        problems.append(f"its params {record.get('params')} are not the configuration's "
                        f"{CONFIGS[name]}")
    if record.get("test_set") not in (None, _test_set_hash(corpus, test)):
        problems.append("its test files are not this fold's")
    if problems:
        raise SystemExit(f"{path}: " + "; ".join(problems)
                         + ". Rerun it with --again, or delete the file.")


def _interrupted(history, config):
    """Whether a network's training ended before its epochs without early stopping.

    skorch catches KeyboardInterrupt (Ctrl-C) inside ``fit`` and returns the
    net as it is; such a fold must not be stored as finished.
    """
    if config.get("kind") == "svm" or history is None or len(history) >= config["epochs"]:
        return False
    patience = config.get("patience")
    if not patience:
        return True
    # The recipe's EarlyStopping (threshold 0, on valid_loss): an epoch improves when
    # its loss is below every earlier one; it stopped iff the last `patience` did not.
    misses, best = 0, float("inf")
    for row in history:
        loss = row.get("valid_loss")
        if loss is None:
            continue
        misses, best = (0, loss) if loss < best else (misses + 1, best)
    return misses < patience


def _selected_epoch(history, config):
    """The epoch whose weights were kept: the best validation loss under early stopping."""
    if not history:
        return None
    if config.get("patience"):
        best = [row["epoch"] for row in history if row.get("valid_loss_best")]
        return best[-1] if best else history[-1]["epoch"]
    return history[-1]["epoch"]


def with_checkpoints(estimator, config, folder):
    """The estimator with per-epoch checkpoints in ``folder``, resumed if one is there.

    A long fold (the full-width network trains for hours on a CPU) then
    survives an interruption: run the same command again and it goes on
    from its last complete epoch, with the same weights as an uninterrupted
    run. The checkpoint callbacks go first, the recipe's after them.
    """
    from sklearn_ser.callbacks import resumable_callbacks

    if config.get("kind") == "svm":
        return estimator
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = folder / "configuration.json"
    if stamp.exists() and json.loads(stamp.read_text()) != config:
        raise SystemExit(f"{folder} holds a checkpoint of another configuration "
                         f"({stamp.read_text().strip()}): delete it, or rerun with --again")
    stamp.write_text(json.dumps(config) + "\n")
    clf = estimator[-1]
    monitor = "valid_loss_best" if config["valid_fraction"] else None
    recipe = list(clf.callbacks or [])
    return estimator.set_params(
        clf__callbacks=resumable_callbacks(folder, monitor=monitor) + recipe)


def run_fold(name, protocol, fold, corpus, splits, threads, checkpoint_root=None):
    """Fit and score one fold; write its JSON file and return its record."""
    import torch
    from sklearn.model_selection import PredefinedSplit

    import sklearn_ser
    from sklearn_ser.evaluation import cross_validate_report

    config = CONFIGS[name]
    _, test = splits[fold - 1]
    test_fold = np.full(len(corpus.target), -1)
    test_fold[test] = 0
    X = list(corpus.filenames)
    estimator = build(config)
    if checkpoint_root is not None:
        estimator = with_checkpoints(estimator, config,
                                     Path(checkpoint_root) / name / protocol / f"fold-{fold:02d}")
    report = cross_validate_report(estimator, X, corpus.target, cv=PredefinedSplit(test_fold),
                                   labels=list(corpus.target_names), verbose=1)
    history = report["history"][0]
    if _interrupted(history, config):
        raise SystemExit(f"{name} {protocol} fold {fold}: training stopped after "
                         f"{len(history)} of {config['epochs']} epochs (interrupted); not stored. "
                         "Run the command again (with --checkpoint-dir it resumes).")
    record = {
        "config": name,
        "params": config,
        "protocol": protocol,
        "fold": fold,
        "n_folds": len(splits),
        "test_speakers": sorted({str(s) for s in np.asarray(corpus.groups)[test]}),
        "test_set": _test_set_hash(corpus, test),
        "labels": report["labels"],
        "n_train": report["n_train"][0],
        "n_test": report["n_test"][0],
        "accuracy": report["accuracy"][0],
        "uar": report["uar"][0],
        "per_class_recall": report["per_class_recall"][0],
        "confusion_matrix": report["confusion_matrix"],
        "fit_time": report["fit_time"][0],
        # over every run of a resumed fold, from the epochs' own durations
        "train_time": sum(row["dur"] for row in history) if history else None,
        "epochs": report["epochs"][0],
        "selected_epoch": _selected_epoch(history, config),
        "history": history,
        # per test utterance (positions in the corpus), for paired comparisons
        "test_index": report["test_index"][0],
        "predictions": report["predictions"][0],
        "classes": report["classes"][0],
        "probabilities": None if report["probabilities"][0] is None else
        np.round(report["probabilities"][0], 5).tolist(),
        "precision": trained_precision(config),
        "threads": threads or torch.get_num_threads(),
        "versions": {"sklearn_ser": sklearn_ser.__version__, "torch": torch.__version__},
        "finished": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    path = _fold_file(name, protocol, fold)
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_suffix(".tmp")
    staged.write_text(json.dumps(record, indent=1) + "\n")
    staged.replace(path)
    return record


def _parse_folds(text, n_folds):
    if text is None:
        return list(range(1, n_folds + 1))
    folds = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        folds.extend(range(int(lo), int(hi or lo) + 1))
    bad = [fold for fold in folds if not 1 <= fold <= n_folds]
    if bad:
        raise SystemExit(f"--folds: {bad} outside 1..{n_folds}")
    return folds


def command_run(args):
    import torch

    from sklearn_ser.datasets import load_emodb

    if args.config not in CONFIGS and args.config not in ENSEMBLES:
        raise SystemExit(f"--config {args.config!r}: not one of {sorted({*CONFIGS, *ENSEMBLES})}")
    if args.threads:
        torch.set_num_threads(args.threads)
    corpus = load_emodb(args.root)
    splits = _splits(corpus, args.protocol)
    folds = _parse_folds(args.folds, len(splits))
    if args.again and args.config in ENSEMBLES:
        raise SystemExit(f"--again with the ensemble {args.config} would rerun all its members "
                         f"({', '.join(ENSEMBLES[args.config])}): rerun a member instead")
    for name in ENSEMBLES.get(args.config, (args.config,)):  # an ensemble runs its members
        for fold in folds:
            stored = _fold_file(name, args.protocol, fold)
            if args.again and args.checkpoint_dir is not None:  # a rerun starts afresh
                shutil.rmtree(Path(args.checkpoint_dir) / name / args.protocol
                              / f"fold-{fold:02d}", ignore_errors=True)
            if stored.exists() and not args.again:
                _check_stored(stored, name, corpus, splits[fold - 1][1])
                print(f"{name} {args.protocol} fold {fold}: stored, skipped", file=sys.stderr)
                continue
            start = time.perf_counter()
            record = run_fold(name, args.protocol, fold, corpus, splits, args.threads,
                              args.checkpoint_dir)
            print(f"{name} {args.protocol} fold {fold}/{len(splits)}: accuracy "
                  f"{record['accuracy']:.3f} UAR {record['uar']:.3f} epochs {record['epochs']} "
                  f"(kept {record['selected_epoch']}) {time.perf_counter() - start:.0f} s",
                  flush=True)


def command_list(args):
    for name, config in [*CONFIGS.items(), *ENSEMBLES.items()]:
        print(f"{name}: {config}")
        for protocol in PROTOCOLS:
            print(f"    {protocol}: {cli_command(name, protocol)}")


# -- report ----------------------------------------------------------------------------
def load_records():
    """Stored fold records, as ``{(config, protocol): [record, ...]}`` in fold order."""
    records = {}
    for path in sorted(RESULTS.glob("*/*/fold-*.json")):
        record = json.loads(path.read_text())
        if record["config"] not in CONFIGS or _stored_params(record) != CONFIGS[record["config"]]:
            print(f"left out {path}: not made with the current configuration "
                  f"{record['config']!r}", file=sys.stderr)
            continue
        records.setdefault((record["config"], record["protocol"]), []).append(record)
    return records


def ensemble_fold(name, parts, corpus):
    """The record of an ensemble on one fold, from its members' records of that fold.

    ``corpus`` gives the labels (the records index its files by ``test_index``),
    checked to be the corpus the members were tested on. The time is the sum
    of the members' (the ensemble's cost); epochs and the kept epoch are the
    members' means.
    """
    from sklearn.metrics import confusion_matrix

    from sklearn_ser.evaluation import per_class_recall, uar_score

    first = parts[0]
    key = ("test_index", "classes", "labels")
    for part in parts:
        if [part[k] for k in key] != [first[k] for k in key]:
            raise SystemExit(f"{name} fold {first['fold']}: {part['config']} and "
                             f"{first['config']} did not score the same test utterances")
        if part.get("test_set") not in (None, _test_set_hash(corpus, first["test_index"])):
            raise SystemExit(f"{name} fold {first['fold']}: {part['config']} was tested on "
                             "other files than the corpus given (--root) has at those positions")
    proba = np.mean([part["probabilities"] for part in parts], axis=0)
    y_pred = np.asarray(first["classes"])[np.argmax(proba, axis=1)]
    y_true = np.asarray(corpus.target)[first["test_index"]]
    cm = confusion_matrix(y_true, y_pred, labels=first["labels"])
    return {
        "config": name, "params": {"members": list(ENSEMBLES[name])},
        "protocol": first["protocol"], "fold": first["fold"], "n_folds": first["n_folds"],
        "labels": first["labels"], "accuracy": float(np.mean(y_true == y_pred)),
        "uar": uar_score(y_true, y_pred),
        "per_class_recall": per_class_recall(cm),
        "confusion_matrix": cm.tolist(),
        "fit_time": sum(part["fit_time"] for part in parts),
        "train_time": sum(part.get("train_time") or part["fit_time"] for part in parts),
        "epochs": float(np.mean([part["epochs"] for part in parts])),
        "selected_epoch": float(np.mean([part["selected_epoch"] for part in parts])),
        "history": None, "precision": first["precision"], "threads": first["threads"],
        "test_index": first["test_index"], "predictions": y_pred.tolist(),
        "classes": first["classes"], "probabilities": proba.tolist(),
    }


def ensemble_records(records, corpus):
    """``{(ensemble, protocol): [record, ...]}`` for the folds all its members have stored."""
    out = {}
    for name, members in ENSEMBLES.items():
        for protocol in PROTOCOLS:
            by_fold = [{r["fold"]: r for r in records.get((member, protocol), [])
                        if r.get("probabilities") is not None} for member in members]
            shared = sorted(set.intersection(*(set(folds) for folds in by_fold)))
            if shared:
                out[(name, protocol)] = [ensemble_fold(name, [f[fold] for f in by_fold], corpus)
                                         for fold in shared]
    return out


def _mean_std(values):
    values = np.asarray(values, dtype=float)
    return f"{values.mean():.3f} ± {values.std():.3f}"


def table(records):
    """Markdown rows: one per (configuration, protocol) with stored folds."""
    lines = ["| configuration | protocol | folds | accuracy | UAR | epochs run (kept) "
             "| training s per fold (median) | precision, threads | command |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name in [*CONFIGS, *ENSEMBLES]:
        for protocol in PROTOCOLS:
            folds = records.get((name, protocol))
            if not folds:
                continue
            n_folds = folds[0]["n_folds"]
            epochs = [r["epochs"] for r in folds if r["epochs"]]
            kept = [r["selected_epoch"] for r in folds if r["selected_epoch"]]
            run = (f"{np.mean(epochs):.0f} ({np.mean(kept):.0f})" if epochs else "-")
            done = f"{len(folds)}/{n_folds}"
            lines.append(
                f"| {name} | {protocol} | {done} | {_mean_std([r['accuracy'] for r in folds])} "
                f"| {_mean_std([r['uar'] for r in folds])} | {run} "
                f"| {np.median([r.get('train_time') or r['fit_time'] for r in folds]):.0f} "
                f"| {folds[0]['precision']}, {folds[0]['threads']} "
                f"| `python benchmarks/emodb_protocol.py run --config {name} "
                f"--protocol {protocol}` |"
            )
    return "\n".join(lines)


def ordering(records):
    """Per protocol, the configurations with every fold stored, best mean UAR first."""
    lines = []
    for protocol in PROTOCOLS:
        complete = [(np.mean([r["uar"] for r in folds]), name)
                    for (name, proto), folds in records.items()
                    if proto == protocol and len(folds) == folds[0]["n_folds"]]
        if complete:
            ranked = " > ".join(f"{name} ({uar:.3f})" for uar, name in sorted(complete)[::-1])
            lines.append(f"- {protocol}, by mean UAR: {ranked}")
    return "\n".join(lines) or "- no configuration has all its folds yet"


def _differences(records, name, reference_name, protocol):
    """Per-fold accuracy and UAR of ``name`` minus ``reference_name``'s, on the folds
    both have stored (the same test sets)."""
    reference = {r["fold"]: r for r in records.get((reference_name, protocol), [])}
    folds = [r for r in records.get((name, protocol), []) if r["fold"] in reference]
    return ([r["accuracy"] - reference[r["fold"]]["accuracy"] for r in folds],
            [r["uar"] - reference[r["fold"]]["uar"] for r in folds])


def _votes(d_uar):
    return f"{sum(d > 0 for d in d_uar)} / {sum(d < 0 for d in d_uar)}"


def paired(records):
    """Markdown rows: every configuration against the headline on the folds both have.

    The folds are the same test sets, so per-fold differences remove the
    spread between folds that the mean ± std columns carry.
    """
    lines = ["| configuration | protocol | shared folds | Δ accuracy (mean, per fold) "
             "| Δ UAR (mean) | folds better / worse on UAR |", "|---|---|---|---|---|---|"]
    for protocol in PROTOCOLS:
        for name in [*CONFIGS, *ENSEMBLES]:
            if name == HEADLINE:
                continue
            d_acc, d_uar = _differences(records, name, HEADLINE, protocol)
            if not d_acc:
                continue
            per_fold = ", ".join(f"{d:+.3f}" for d in d_acc)
            lines.append(
                f"| {name} | {protocol} | {len(d_acc)} | {np.mean(d_acc):+.3f} ({per_fold}) "
                f"| {np.mean(d_uar):+.3f} | {_votes(d_uar)} |"
            )
    return "\n".join(lines)


def grid_pairs(records):
    """Markdown rows: the grid's two questions, fold by fold. ADCRNN against ACRNN
    with the same loss, and contrastive-center against each other loss with the
    same network (the paper's claims: ADCRNN > ACRNN, contrastive-center > center
    and > cross-entropy alone)."""
    comparisons = [(f"adcrnn-{loss}-small-tuned", f"acrnn-{loss}-small-tuned")
                   for loss in LOSSES]
    comparisons += [(f"{model}-cc-small-tuned", f"{model}-{loss}-small-tuned")
                    for model in ("adcrnn", "acrnn") for loss in LOSSES if loss != "cc"]
    lines = ["| first | second | protocol | shared folds | Δ accuracy (mean) | Δ UAR (mean) "
             "| folds first better / worse on UAR |", "|---|---|---|---|---|---|---|"]
    for protocol in PROTOCOLS:
        for first, second in comparisons:
            d_acc, d_uar = _differences(records, first, second, protocol)
            if d_acc:
                lines.append(f"| {first} | {second} | {protocol} | {len(d_acc)} "
                             f"| {np.mean(d_acc):+.3f} | {np.mean(d_uar):+.3f} "
                             f"| {_votes(d_uar)} |")
    return "\n".join(lines)


def recall_table(folds):
    labels = folds[0]["labels"]
    lines = ["| class | recall (mean ± std over folds) |", "|---|---|"]
    for k, label in enumerate(labels):
        values = [r["per_class_recall"][k] for r in folds if r["per_class_recall"][k] is not None]
        lines.append(f"| {label} | {_mean_std(values)} |")
    return "\n".join(lines)


def plot_curves(folds, path, title):
    """Train and validation loss and validation accuracy per epoch, one line per fold."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    validated = any(record["history"] and "valid_loss" in record["history"][0]
                    for record in folds)
    if not validated:  # trained on the whole training part: the training loss alone
        fig, axis = plt.subplots(figsize=(5.5, 3.6))
        for record in folds:
            history = record["history"] or []
            axis.plot([row["epoch"] for row in history], [row["train_loss"] for row in history],
                      lw=1, label=f"fold {record['fold']}")
        axis.set(xlabel="epoch", ylabel="training loss (CE + aux)",
                 title="no validation split: the last epoch is kept")
        axis.legend(fontsize=7)
        fig.suptitle(title)
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return path
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for record in folds:
        history = record["history"] or []
        epochs = [row["epoch"] for row in history]
        label = f"fold {record['fold']}"
        line, = axes[0].plot(epochs, [row["train_loss"] for row in history], lw=1, label=label)
        if history and "valid_loss" in history[0]:
            axes[0].plot(epochs, [row["valid_loss"] for row in history], lw=1, ls="--",
                         color=line.get_color())
            axes[1].plot(epochs, [row["valid_acc"] for row in history], lw=1,
                         color=line.get_color(), label=label)
        if record["selected_epoch"] and history and "valid_acc" in history[0]:
            kept = history[record["selected_epoch"] - 1]
            axes[1].plot([kept["epoch"]], [kept["valid_acc"]], "o", color=line.get_color())
    axes[0].set(xlabel="epoch", ylabel="loss (CE + aux)",
                title="train (solid), validation (dashed)")
    axes[1].set(xlabel="epoch", ylabel="accuracy", title="validation accuracy (dot: kept epoch)")
    axes[1].legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


BEGIN = "<!-- BEGIN GENERATED: benchmarks/emodb_protocol.py report -->"
END = "<!-- END GENERATED -->"


def featured_section(records, name, protocol):
    """Markdown lines (and figures) of one configuration: per-class recall, the summed
    confusion matrix and the learning curves (an ensemble's: its seed-0 member's)."""
    from sklearn_ser.evaluation import plot_confusion_matrix

    folds = records.get((name, protocol))
    if not folds:
        return []
    stem = f"results_{name}_{protocol}"
    curve_name, curve_folds = name, folds
    if name in ENSEMBLES:  # a vote has no history of its own
        curve_name = ENSEMBLES[name][0]
        curve_folds = [r for r in records.get((curve_name, protocol), [])
                       if r["fold"] in {f["fold"] for f in folds}]
    curves = plot_curves(curve_folds, DOCS / f"{stem}_curves.png", f"{curve_name}, {protocol}")
    cm = np.sum([r["confusion_matrix"] for r in folds], axis=0)
    plot_confusion_matrix(cm.tolist(), folds[0]["labels"], DOCS / f"{stem}_cm.png")
    curves_title = "Learning curves" + (f" of {curve_name}" if curve_name != name else "")
    return [f"### {name}, {protocol} ({PROTOCOLS[protocol][1]})", "",
            f"Folds stored: {len(folds)}/{folds[0]['n_folds']}; pooled accuracy "
            f"{np.trace(cm) / cm.sum():.3f}.", "", recall_table(folds), "",
            f"![{curves_title}]({curves.name})", "",
            f"![Confusion matrix summed over the folds]({stem}_cm.png)", "",
            f"Same pipeline on the command line: `{cli_command(name, protocol)}`", ""]


def command_report(args):
    records = load_records()
    if not args.root.is_dir():
        raise SystemExit(f"--root {args.root}: not a folder; the ensembles' rows are scored "
                         "with the corpus's labels")
    from sklearn_ser.datasets import load_emodb

    records.update(ensemble_records(records, load_emodb(args.root)))
    parts = ["### All stored runs", "", table(records), "",
             "Ordering of the complete runs (a row with folds missing is not ranked):", "",
             ordering(records), "",
             f"Paired by fold against {HEADLINE} (same test sets; positive: better than it):",
             "", paired(records), "",
             "The grid's comparisons, paired by fold (positive: the first is better):", "",
             grid_pairs(records), ""]
    for name in FEATURED:
        for protocol in PROTOCOLS:
            parts += featured_section(records, name, protocol)
    generated = "\n".join(parts)
    page = DOCS / "results.md"
    text = page.read_text()
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise SystemExit(f"{page} has no {BEGIN} ... {END} block to fill")
    page.write_text(pattern.sub(lambda _: f"{BEGIN}\n{generated}\n{END}", text))
    print(generated)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="the configurations and their command lines")
    run = commands.add_parser("run", help="run the missing folds of a configuration")
    run.add_argument("--config", required=True, help="a name from `list`")
    run.add_argument("--protocol", choices=tuple(PROTOCOLS), required=True)
    run.add_argument("--folds", help="e.g. 1,3 or 2-5 (default: all)")
    run.add_argument("--again", action="store_true", help="rerun folds already stored")
    run.add_argument("--threads", type=int, help="torch threads")
    run.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="the Emo-DB folder")
    run.add_argument("--checkpoint-dir", type=Path,
                     help="checkpoint every epoch under DIR/<config>/<protocol>/fold-NN and "
                          "resume from there: a fold can then span several runs")
    report = commands.add_parser("report", help="write docs/results.md's tables and figures")
    report.add_argument("--root", type=Path, default=DEFAULT_ROOT,
                        help="the Emo-DB folder (its labels score the ensembles)")
    args = parser.parse_args(argv)
    {"list": command_list, "run": command_run, "report": command_report}[args.command](args)


if __name__ == "__main__":
    main()
