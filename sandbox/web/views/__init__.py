"""The Django pages of the sandbox app, one module per page."""
