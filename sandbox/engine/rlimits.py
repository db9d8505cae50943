"""The rlimits of an environment's runtime (docs/architecture.md §5, layer 3). Standard library
only: the launcher, which must stay small, imports this module too."""

import resource


def default_rlimits(memory_mb, tmp_bytes, nproc):
    return {
        resource.RLIMIT_CORE: 0,
        resource.RLIMIT_NOFILE: 1024,
        resource.RLIMIT_FSIZE: tmp_bytes,
        resource.RLIMIT_NPROC: nproc,
        # A generous backstop only: the cgroup holds the real memory limit (threads reserve
        # address space far beyond what they use, so RLIMIT_AS = memory would break them).
        resource.RLIMIT_AS: max(4 << 30, memory_mb * 4 << 20),
    }
