"""Code that runs *inside* an execution environment. Pure Python, no Django, no third-party imports.

The same modules run in the server sandbox (as a child process) and, later, inside Pyodide in the
browser, so keep them small and dependency-free.
"""
