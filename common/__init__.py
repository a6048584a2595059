"""What the engine (``sweep``) and the analysis (``analysis``) share, and nothing that plots or trains.

Layers, lowest first: ``common`` -> ``core`` -> ``analysis`` -> ``sweep``. A package imports only from the
packages before it (``tests/test_layers.py`` holds this):

* ``errors``: ``UserError``, the one base class of the mistakes a user can fix, and the one way to print them.
* ``files``: files written whole (``atomic_write``) and strict JSON (``to_json``).
"""

from common.errors import EXIT_USER_ERROR, UserError, option, print_error
from common.files import WriteError, atomic_write, atomic_write_text, jsonable, make_dir, to_json

__all__ = [
    "EXIT_USER_ERROR",
    "UserError",
    "WriteError",
    "atomic_write",
    "atomic_write_text",
    "jsonable",
    "make_dir",
    "option",
    "print_error",
    "to_json",
]
