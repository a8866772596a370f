"""Settings for the benchmark's app server: the hub's production settings, plus the bare
baseline views under /bench/ (bench/urls.py). Used only by scripts/bench_hub.py; hub.urls never
includes the baseline."""

from hub.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
