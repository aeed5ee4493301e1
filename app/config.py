"""The one place shopdb reads its configuration: environment variables with the SHOPDB_ prefix.

`load_config(name)` returns a config object for `app.config.from_object()`. Values are read when it
is called (not at import), so tests and the CLI see the environment of the moment.
"""

import os
import re
import secrets
import sys
from collections import Counter
from datetime import timedelta

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from app.networks import network_problems
from app.placeholders import is_placeholder

MIN_SECRET_LENGTH = 32
MIN_DB_PASSWORD_LENGTH = 16
MAKE_SECRET = f"use at least {MIN_SECRET_LENGTH} random characters, e.g. `openssl rand -base64 48`"
MAKE_DB_PASSWORD = f"use at least {MIN_DB_PASSWORD_LENGTH} random characters, e.g. `openssl rand -base64 24`"
DATABASE_URL_FORM = "mysql+pymysql://USER:PASSWORD@HOST:3306/DB?charset=utf8mb4"
ENV_NAMES = ("development", "testing", "production")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")
# flask-cors reads an origin with regex characters in it as a regular expression (`.*` and `null` both
# reflected any Origin with credentials), so production accepts only this literal form.
EXACT_ORIGIN = re.compile(r"https://[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:[0-9]{1,5})?",
                          re.IGNORECASE)
EXACT_ORIGIN_FORM = "https://host or https://host:port"


def _env(name, default=None):
    value = os.environ.get(name)
    return default if value is None or value.strip() == "" else value.strip()


def _env_bool(name, default):
    value = _env(name)
    if value is None:
        return default
    if value.lower() in TRUE_WORDS:
        return True
    if value.lower() in FALSE_WORDS:
        return False
    raise ValueError(f"{name}={value!r} is not a boolean: use true or false.")


def _env_list(name):
    return [item.strip() for item in (_env(name) or "").split(",") if item.strip()]


def weakness(value, min_length):
    """Why *value* is too weak for a secret of at least *min_length* characters, or None when it is not.

    The rule (docs/HARDENING.md): long enough; at least min_length/4 distinct characters; no 4 characters
    repeated three times or more; no run of 6 consecutive characters (`abcdef`, `654321`). Random values
    (`openssl rand -base64`/`-hex`) pass; `x` * 32, repeated words and keyboard walks do not.
    """
    if len(value) < min_length:
        return f"is {len(value)} characters long"
    distinct = len(set(value))
    if distinct < min_length // 4:
        return f"has only {distinct} distinct characters"
    gram, count = Counter(value[i:i + 4] for i in range(len(value) - 3)).most_common(1)[0]
    if count >= 3:
        return f"repeats {gram!r} {count} times"
    steps = [ord(b) - ord(a) for a, b in zip(value, value[1:])]
    for i in range(len(steps) - 4):
        if steps[i] in (1, -1) and len(set(steps[i:i + 5])) == 1:
            return f"contains the run {value[i:i + 6]!r}"
    return None


class Config:
    """Settings shared by every environment."""

    ENV_NAME = "base"

    # Connection pool (docs/PERFORMANCE.md, "API"): the Session ends its own transaction when a request ends,
    # so the pool's extra ROLLBACK on return is off (it cost a round trip per request); pool_recycle replaces
    # a connection after an hour, well before MariaDB's wait_timeout (8 h) drops it. The pre-ping stays: it is
    # what makes a MariaDB restart invisible to requests, for one short round trip per request.
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "pool_recycle": 3600, "pool_reset_on_return": None}
    SQLALCHEMY_TRACK_MODIFICATIONS = False

    # Browser sessions: JWTs in HttpOnly cookies with CSRF double submit (X-CSRF-TOKEN on writes).
    JWT_TOKEN_LOCATION = ["cookies"]
    JWT_COOKIE_SAMESITE = "Lax"
    JWT_COOKIE_CSRF_PROTECT = True
    JWT_CSRF_IN_COOKIES = True
    JWT_ACCESS_COOKIE_PATH = "/api/"
    # Logout must see the refresh cookie to revoke it, so it covers /api/auth/.
    JWT_REFRESH_COOKIE_PATH = "/api/auth/"
    JWT_ACCESS_TOKEN_EXPIRES = timedelta(minutes=15)
    JWT_REFRESH_TOKEN_EXPIRES = timedelta(hours=8)
    JWT_ALGORITHM = "HS256"
    JWT_DECODE_ALGORITHMS = ["HS256"]

    MAX_CONTENT_LENGTH = 1024 * 1024

    API_TITLE = "shopdb"
    API_VERSION = "1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api"
    OPENAPI_JSON_PATH = "openapi.json"
    # Every operation needs a cookie session or a Bearer API token unless it says otherwise (health, login).
    API_SPEC_OPTIONS = {"security": [{"cookieAuth": []}, {"bearerAuth": []}]}

    # A list's total is counted exactly up to this many matches; above it the answer says "more than this"
    # (total_exact=false) instead of scanning every match on every page (docs/adr/0008-bounded-list-totals.md).
    LIST_COUNT_LIMIT = 10_000

    PASSWORD_MIN_LENGTH = 12
    # argon2id cost (argon2-cffi's RFC 9106 low-memory profile; above OWASP's minimum).
    ARGON2_TIME_COST = 3
    ARGON2_MEMORY_COST = 65536
    ARGON2_PARALLELISM = 4

    # Login throttle (docs/API.md, "Throttling"): failures within the window per (username, address) before a
    # back-off that doubles from LOGIN_BACKOFF with each further failure; a slower limit per username from all
    # addresses together, and one per address over all usernames.
    LOGIN_MAX_FAILURES_PER_USER_ADDRESS = 5
    LOGIN_BACKOFF = timedelta(minutes=1)
    LOGIN_MAX_FAILURES_PER_USER = 50
    LOGIN_MAX_FAILURES_PER_IP = 30
    LOGIN_WINDOW = timedelta(minutes=15)
    # A refresh token presented again within this time by the client that rotated it (a second tab) gets the
    # same new pair back; any other reuse revokes its whole login.
    REFRESH_REUSE_GRACE = timedelta(seconds=10)
    # API tokens' last_used_at is written at most this often.
    TOKEN_LAST_USED_RESOLUTION = timedelta(minutes=1)

    def __init__(self, instance_path=None):  # instance_path: where development and testing keep SQLite
        self._problems = []     # found while reading; validate() reports them with the rest
        self.SECRET_KEY = _env("SHOPDB_SECRET_KEY")
        self.JWT_SECRET_KEY = _env("SHOPDB_JWT_SECRET_KEY")
        self.SQLALCHEMY_DATABASE_URI = _env("SHOPDB_DATABASE_URL")
        self.CORS_ORIGINS = _env_list("SHOPDB_CORS_ORIGINS")
        self.JWT_COOKIE_SECURE = self._bool("SHOPDB_COOKIE_SECURE", True)
        self.LOG_LEVEL = (_env("SHOPDB_LOG_LEVEL") or "INFO").upper()
        self.PLUGINS_STRICT = self._bool("SHOPDB_PLUGINS_STRICT", False)
        # When true, writes without If-Match get 428; when false If-Match is honoured if sent.
        self.REQUIRE_IF_MATCH = self._bool("SHOPDB_REQUIRE_IF_MATCH", False)
        self.DEBUG = self._bool("FLASK_DEBUG", False)
        # The proxies whose X-Forwarded-For names the client (the Ansible role passes shopdb_app_forwarded_allow_ips).
        self.TRUSTED_PROXIES = _env_list("SHOPDB_TRUSTED_PROXIES") or ["127.0.0.1", "::1"]

    def _bool(self, name, default):
        try:
            return _env_bool(name, default)
        except ValueError as err:
            self._problems.append(str(err))
            return default

    def validate(self):
        """Return a list of problems (empty when the settings are acceptable for this environment)."""
        problems = list(self._problems) + network_problems("SHOPDB_TRUSTED_PROXIES", self.TRUSTED_PROXIES)
        if self.LOG_LEVEL not in LOG_LEVELS:
            problems.append(f"SHOPDB_LOG_LEVEL={self.LOG_LEVEL!r} is unknown: use one of {', '.join(LOG_LEVELS)}.")
        return problems


class DevelopmentConfig(Config):
    """`flask --app app run` with no set-up: SQLite under instance/, throwaway secrets if none given."""

    ENV_NAME = "development"

    def __init__(self, instance_path):
        super().__init__()
        if not self.SQLALCHEMY_DATABASE_URI:
            self.SQLALCHEMY_DATABASE_URI = "sqlite:///" + os.path.join(instance_path, "shopdb.sqlite")
        # Per-process random keys: sessions end on restart, which is acceptable in development only.
        self.SECRET_KEY = self.SECRET_KEY or secrets.token_urlsafe(48)
        self.JWT_SECRET_KEY = self.JWT_SECRET_KEY or secrets.token_urlsafe(48)


class TestingConfig(Config):
    """The pytest suite: cheap password hashing so tests stay fast; the database comes from the fixture."""

    ENV_NAME = "testing"
    TESTING = True
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 1024
    ARGON2_PARALLELISM = 1

    def __init__(self, instance_path):
        super().__init__()
        self.SQLALCHEMY_DATABASE_URI = self.SQLALCHEMY_DATABASE_URI or "sqlite:///" + os.path.join(
            instance_path, "shopdb-test.sqlite"
        )
        self.SECRET_KEY = "testing-secret-key-not-for-production-use-0001"
        self.JWT_SECRET_KEY = "testing-jwt-secret-key-not-for-production-use-02"


class ProductionConfig(Config):
    """Everything from the environment; `validate()` refuses weak settings."""

    ENV_NAME = "production"

    def validate(self):
        problems = super().validate()
        problems.extend(self._secret_problems())
        problems.extend(self._database_problems())
        problems.extend(self._cors_problems())
        if self.DEBUG:
            problems.append("FLASK_DEBUG is on: unset it in production (the debugger runs arbitrary code).")
        if not self.JWT_COOKIE_SECURE:
            problems.append("SHOPDB_COOKIE_SECURE is false: production cookies must be Secure (serve over HTTPS).")
        return problems

    def _secret_problems(self):
        problems = []
        for var, value in (("SHOPDB_SECRET_KEY", self.SECRET_KEY), ("SHOPDB_JWT_SECRET_KEY", self.JWT_SECRET_KEY)):
            if not value:
                problems.append(f"{var} is not set: {MAKE_SECRET}.")
            elif is_placeholder(value):
                problems.append(f"{var} is a placeholder or example value: {MAKE_SECRET}.")
            elif reason := weakness(value, MIN_SECRET_LENGTH):
                problems.append(f"{var} {reason}: {MAKE_SECRET}.")
        if self.SECRET_KEY and self.SECRET_KEY == self.JWT_SECRET_KEY:
            problems.append("SHOPDB_JWT_SECRET_KEY equals SHOPDB_SECRET_KEY: give each its own random value.")
        return problems

    def _database_problems(self):
        url = self.SQLALCHEMY_DATABASE_URI
        if not url:
            return [f"SHOPDB_DATABASE_URL is not set: use {DATABASE_URL_FORM}."]
        try:
            parsed = make_url(url)
        except ArgumentError:
            return [f"SHOPDB_DATABASE_URL is not a valid URL: use {DATABASE_URL_FORM}."]
        if parsed.drivername != "mysql+pymysql":
            return [f"SHOPDB_DATABASE_URL uses {parsed.drivername}: production runs on MariaDB through PyMySQL, the "
                    f"driver shopdb installs ({DATABASE_URL_FORM})."]
        problems = []
        if not parsed.host and "unix_socket" not in parsed.query:
            problems.append(f"SHOPDB_DATABASE_URL names no host: use {DATABASE_URL_FORM} (or HOST localhost "
                            "with ?unix_socket=PATH).")
        if not parsed.database:
            problems.append(f"SHOPDB_DATABASE_URL names no database: use {DATABASE_URL_FORM}.")
        password = parsed.password
        if not password:
            problems.append("SHOPDB_DATABASE_URL has an empty password: give the database user a password and put "
                            "it in the URL.")
        elif is_placeholder(password):
            problems.append("SHOPDB_DATABASE_URL's password is a placeholder or example value: use the real "
                            f"database password ({MAKE_DB_PASSWORD}).")
        elif password in (self.SECRET_KEY, self.JWT_SECRET_KEY):
            problems.append("SHOPDB_DATABASE_URL's password equals a signing key (SHOPDB_SECRET_KEY or "
                            "SHOPDB_JWT_SECRET_KEY): give each its own random value.")
        elif reason := weakness(password, MIN_DB_PASSWORD_LENGTH):
            problems.append(f"SHOPDB_DATABASE_URL's password {reason}: {MAKE_DB_PASSWORD}.")
        return problems

    def _cors_problems(self):
        return [f"SHOPDB_CORS_ORIGINS entry {origin!r} is not an exact origin: list origins as "
                f"{EXACT_ORIGIN_FORM}, comma-separated (flask-cors reads any other form as a regular expression)."
                for origin in self.CORS_ORIGINS if not _is_exact_origin(origin)]


def _is_exact_origin(origin):
    if not EXACT_ORIGIN.fullmatch(origin):
        return False
    port = origin.rpartition(":")[2]
    return not port.isdigit() or 1 <= int(port) <= 65535


def load_config(name, instance_path):
    """Build the config object for environment *name* (development, testing or production)."""
    classes = {"development": DevelopmentConfig, "testing": TestingConfig, "production": ProductionConfig}
    if name not in classes:
        raise SystemExit(f"SHOPDB_ENV={name!r} is unknown: use one of {', '.join(ENV_NAMES)}.")
    return classes[name](instance_path)


def refuse_weak_config(config):
    """Exit non-zero listing every problem when *config* is not fit to run (before any server binds)."""
    problems = config.validate()
    if problems:
        lines = [f"shopdb: refusing to start: the {config.ENV_NAME} configuration has {len(problems)} problem(s):"]
        lines += [f"  - {p}" for p in problems]
        print("\n".join(lines), file=sys.stderr)
        raise SystemExit(1)
