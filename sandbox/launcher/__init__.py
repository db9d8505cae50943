"""The launcher: the one privileged process of Coldstart (docs/architecture.md, "The launcher").

It holds root so that nothing else has to. Its supervisor (__main__.py) prepares the socket, the
cgroup directories and the seccomp filter; the launcher itself (server.py) pivots into the
sandbox's read-only root, imports the runtime, and forks a new environment (child.py) for each
request a worker makes over the socket (protocol.py).
"""
