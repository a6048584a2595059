import os
import sys

from sweep.cli import main
from sweep.cluster import supervisor

code = main()
if code == supervisor.EXIT_STOPPED and not supervisor.is_worker():
    # Stopped by Ctrl-C or SIGTERM, perhaps in the middle of compiling: everything kept is already on disk, and the
    # interpreter's teardown could meet XLA's compile threads still running (a segmentation fault after the stop
    # message was seen). Leave without it. A cluster's workers keep the normal exit, which shuts JAX's distributed
    # runtime down in step with the other processes.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
sys.exit(code)
