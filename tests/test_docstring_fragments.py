"""``sklearn_ser.utils.docstrings.Substitution``: shared fragments, indented where they stand."""

from sklearn_ser.utils.docstrings import Substitution

FRAGMENT = "n_mels : int, default=40\n    Number of Mel filters."


def test_a_fragment_takes_the_indentation_of_its_line():
    @Substitution(n_mels=FRAGMENT)
    def function(n_mels=40):
        """Summary.

        Parameters
        ----------
        {n_mels}
            A line of this docstring's own.
        """

    class Estimator:
        """Summary.

    Parameters
    ----------
    {n_mels}
    """

    Substitution(n_mels=FRAGMENT)(Estimator)
    assert function.__doc__.splitlines()[4:7] == [
        "        n_mels : int, default=40",
        "            Number of Mel filters.",
        "            A line of this docstring's own.",
    ]
    assert Estimator.__doc__.splitlines()[4:6] == [
        "    n_mels : int, default=40", "        Number of Mel filters."]


def test_other_braces_and_a_missing_docstring_are_left_alone():
    @Substitution(n_mels=FRAGMENT)
    def function():
        """d_t = sum_{n=1}^{N} n c_{t+n}; window : {"hann", "hamming"}; {n_mels} inline."""

    assert function.__doc__ == (
        'd_t = sum_{n=1}^{N} n c_{t+n}; window : {"hann", "hamming"}; {n_mels} inline.')

    def undocumented():
        pass

    assert Substitution(n_mels=FRAGMENT)(undocumented).__doc__ is None
