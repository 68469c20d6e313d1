"""Evaluation: UAR, speaker-independent splits, a cross-validation report, figures.

- :func:`uar_score` and :data:`SCORING` (for ``scoring=`` in
  :func:`sklearn.model_selection.cross_validate`);
- :func:`make_cv`: the splitter behind ``--cv 5``, ``loso`` or ``group5``;
- :func:`cross_validate_report`: fold-by-fold cross-validation returning a
  JSON-serialisable summary, and :func:`format_report` to print it;
- :func:`plot_confusion_matrix` and :func:`plot_log_mel_3d` (need matplotlib).
"""

from ._metrics import SCORING, per_class_recall, uar_score
from ._plots import plot_confusion_matrix, plot_explanation, plot_log_mel_3d
from ._report import cross_validate_report, format_report
from ._splits import make_cv, parse_cv

__all__ = [
    "SCORING",
    "cross_validate_report",
    "format_report",
    "make_cv",
    "parse_cv",
    "per_class_recall",
    "plot_confusion_matrix",
    "plot_explanation",
    "plot_log_mel_3d",
    "uar_score",
]
