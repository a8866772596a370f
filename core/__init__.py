"""The hub's leaf package: its vocabulary (categories, purposes, lawful bases), its exceptions
and their RFC 9457 problems, and the HTTP helpers every channel shares (the request context,
ETags, pagination, rate limits, serializer helpers). It imports none of the hub's apps (an
import-linter contract in pyproject.toml), so that every app may depend on it and it on none.
"""
