"""User-caused errors: one base class and one way to print them.

A ``UserError``'s message is one sentence that names the value at fault and what is allowed. The command lines
(``python -m sweep``, ``python -m analysis``, ``python -m sweep.bench``) print it as ``PROG: error: MESSAGE`` on
one line of stderr and exit with status ``EXIT_USER_ERROR``, without a traceback. Library code never names a
command-line flag in a message: the command lines add that where it helps.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping

EXIT_USER_ERROR = 2
_OPTION = re.compile(r"\{option:(\w+)(?::([^{}]*))?\}")


def option(name: str, library: str | None = None) -> str:
    """A reference to the option ``name`` inside a ``UserError`` message: it reads as ``library`` (default:
    ``name``) from the library and as the command line's text for it (a flag such as ``--run-id``, or a whole
    command such as ``python -m sweep run GRID --resume``) where a command line prints it."""
    return f"{{option:{name}}}" if library is None else f"{{option:{name}:{library}}}"


class UserError(ValueError):
    """A problem the user can fix (a bad grid, an unusable folder, a damaged checkpoint); one sentence."""

    def render(self, flags: Mapping[str, str] | None = None) -> str:
        """The message with each ``option(name)`` written as ``flags[name]`` (or ``name`` where unmapped)."""
        flags = flags or {}
        return _OPTION.sub(lambda m: flags.get(m[1], m[2] or m[1]), str(self.args[0]) if self.args else "")

    def __str__(self) -> str:
        return self.render()


def print_error(prog: str, err: BaseException | str, flags: Mapping[str, str] | None = None) -> int:
    """Prints ``PROG: error: MESSAGE`` on one line of stderr (options named by ``flags``, see ``UserError``);
    returns ``EXIT_USER_ERROR``."""
    text = err.render(flags) if isinstance(err, UserError) else str(err)
    text = " ".join(text.split())  # one line, whatever the message held
    print(f"{prog}: error: {text}", file=sys.stderr)
    return EXIT_USER_ERROR
