"""One CPU device in the test process, whatever the machine: the command line's default (one device per core)
would otherwise depend on which test first starts JAX. Tests of several devices run in subprocesses with the
count set explicitly."""

import jax

jax.config.update("jax_num_cpu_devices", 1)
