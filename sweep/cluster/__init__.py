"""Several processes, one sweep: ``supervisor`` (a worker under a small process that imports no JAX) below
``runtime`` (joining the cluster, agreeing on what to run, stopping together, failing in one sentence).

Nothing here imports JAX at module level, so the supervisor starts without it.
"""

from sweep.cluster.runtime import (
    DEFAULT_TIMEOUT_SECONDS,
    ClusterError,
    Stopped,
    agree,
    allgather_bytes,
    check_coordinator,
    code_fingerprint,
    describe_lost,
    finished,
    first_difference,
    initialize,
    install_stop_handlers,
    lost_peer,
    note_run_dir,
    stop_requested,
)

__all__ = [
    "DEFAULT_TIMEOUT_SECONDS",
    "ClusterError",
    "Stopped",
    "agree",
    "allgather_bytes",
    "check_coordinator",
    "code_fingerprint",
    "describe_lost",
    "finished",
    "first_difference",
    "initialize",
    "install_stop_handlers",
    "lost_peer",
    "note_run_dir",
    "stop_requested",
]
