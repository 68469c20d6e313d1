"""``sklearn-ser export``: a saved model as an ONNX bundle, to run without PyTorch."""

from __future__ import annotations

from pathlib import Path

from ..export import ONNX_OPSET, export_onnx
from ._console import log, progress
from ._model import read_pipeline
from ._output import prepare_output_file
from ._parser import add_command, add_runtime_options, usage_errors

DESCRIPTION = """\
Write a model saved by 'sklearn-ser train' as an ONNX bundle: one file with the
network in ONNX and everything else prediction needs (front-end settings,
normalisation statistics, labels). 'sklearn-ser predict' and 'timeline' take
the bundle in place of the model, and sklearn_ser.runtime.load_bundle runs it
with numpy, soundfile, soxr and onnxruntime only (no PyTorch, skorch or
scikit-learn). The export is checked: onnxruntime must reproduce PyTorch's
probabilities within 1e-4 on a batch of random chunks. A soft vote of several
networks (--n-seeds above 1) cannot be exported."""


def add_parser(subparsers):
    parser = add_command(subparsers, "export", "write a model as an ONNX bundle", DESCRIPTION)
    parser.add_argument("out", type=Path, metavar="OUT",
                        help="the bundle to write, e.g. model.onnx.zip")
    parser.add_argument("--opset", type=int, default=ONNX_OPSET, metavar="N",
                        help="ONNX operator set (default: %(default)s)")
    add_runtime_options(parser)
    parser.set_defaults(run=run, parser=parser)


def run(args):
    prepare_output_file(args.out)
    model = read_pipeline(args.model, args, usage="MODEL OUT")
    with usage_errors({"opset": "--opset"}):
        path = export_onnx(model, args.out, opset=args.opset)
    if progress(args):
        log(f"export: {args.model} written as an ONNX bundle to {path} "
            f"(classes: {', '.join(map(str, model.classes_))})")
    return 0
