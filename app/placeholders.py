"""Secrets that must never reach production: placeholders and every example value shipped in this repo.

Production config validation rejects these (compared case-insensitively). When docs, `.env.example`,
inventories or tests gain a new example secret, add it here.
"""

PLACEHOLDER_SECRETS = frozenset(
    value.lower()
    for value in (
        # Generic placeholders people paste from tutorials.
        "secret",
        "secret-key",
        "secret_key",
        "secretkey",
        "changeme",
        "change-me",
        "change_me",
        "changethis",
        "please-change-me",
        "replace-me",
        "password",
        "dev",
        "development",
        "test",
        "testing",
        "default",
        "example",
        "super-secret",
        "supersecret",
        "thisisasecret_1234",
        "your-secret-key",
        "your-jwt-secret-key",
        "jwt-secret",
        "jwt-secret-key",
        # Example values in this repository (.env.example, docs, tests).
        "replace-with-at-least-32-random-characters",
        "replace-with-another-32-random-characters",
        "replace-with-the-database-password",
        "change-me-to-a-long-random-string-of-32-chars",
        "testing-secret-key-not-for-production-use-0001",
        "testing-jwt-secret-key-not-for-production-use-02",
    )
)


def is_placeholder(value: str) -> bool:
    """True when *value* is a known placeholder or example secret."""
    return value.strip().lower() in PLACEHOLDER_SECRETS
