"""Settings for the test run: production settings (DEBUG off) with a test-only key."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-any-deployment")

from hub.settings import *  # noqa: F403

# Staff passwords in tests need no key stretching; client secrets keep their own hasher.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher",
    "agencies.hashers.ClientSecretHasher",
]

# One test may take hundreds of tokens and send hundreds of refused requests from one address
# (127.0.0.1); the tests of these limits set their own (tests/test_credential_attacks.py).
TOKEN_ADDRESS_RATE_LIMIT = "100000/min"  # noqa: S105 (a rate, not a secret)
FAILED_REQUEST_RATE_LIMIT = "100000/min"
