"""Hypothesis without deadlines: a property test asserts what the rules decide, never how fast
(a timed test fails on a loaded machine, as CI's two shared cores are; speed is `make bench`'s
to measure). Loaded by tests/conftest.py as a pytest plugin."""

from hypothesis import settings

settings.register_profile("hub", deadline=None)
settings.load_profile("hub")
