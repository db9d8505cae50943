"""The lessons app's pages, by role: student, classroom (instructor), authoring, demo."""
