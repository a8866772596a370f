"""Settings for the test run: production settings (DEBUG off) with a test-only key."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-any-deployment")

from hub.settings import *  # noqa: F403

# Staff passwords in tests need no key stretching; client secrets keep their own hasher.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher",
    "agencies.hashers.ClientSecretHasher",
]
