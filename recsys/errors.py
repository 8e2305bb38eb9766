"""Exceptions raised by Blendscope.

Every message names the object, shows the bad value and says the fix; the CLI
prints them one per line and exits with code 2, the dashboard shows them with
``st.error``.
"""

from __future__ import annotations

__all__ = [
    "BlendError",
    "BlendscopeError",
    "ExplanationError",
    "NotFittedError",
    "SchemaError",
    "ArtifactError",
    "OutputError",
]


class BlendscopeError(Exception):
    """Base class of the errors a user can act on (bad input, bad usage)."""


class SchemaError(BlendscopeError, ValueError):
    """A dataset or configuration breaks the contract.

    Parameters
    ----------
    problems : list of str
        One line per problem, each naming file, column and example rows.
    """

    def __init__(self, problems: list[str] | str) -> None:
        if isinstance(problems, str):
            problems = [problems]
        self.problems: list[str] = list(problems)
        super().__init__("\n".join(self.problems))


class NotFittedError(BlendscopeError, ValueError, AttributeError):
    """A model was used before ``fit``.

    :class:`recsys.models.TaskModel` raises a subclass that is also scikit-learn's
    ``NotFittedError`` (kept out of this module so importing it stays light).
    """


class BlendError(BlendscopeError, ValueError):
    """Blend weights or transforms are invalid."""


class ExplanationError(BlendscopeError, ValueError):
    """An explanation was asked for something that cannot be explained."""


class ArtifactError(BlendscopeError, ValueError):
    """A saved project is missing, tampered with or of another format version."""


class OutputError(BlendscopeError, ValueError):
    """An output path cannot be written safely.

    Writing it would destroy something Blendscope does not own (a user's directory, a
    device, a symlink), or another writer holds it.
    """
