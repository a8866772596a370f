"""The hub's benchmark (scripts/bench_hub.py): bench settings, the bare baseline views and the
load generator. Never imported by the hub itself: only `bench.settings` routes to it."""
