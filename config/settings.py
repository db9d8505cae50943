"""Coldstart settings: one module, every value read from the environment through strict helpers.

Embedded defaults (no variable set): SQLite, the in-memory channel layer, the sandbox worker
inside the web process.
"""

import hashlib
import os
import re
import secrets
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from config import network
from config.env import (
    database_from_url,
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_list,
    env_origin,
    env_str,
)
from config.ownership import hand_back
from config.static_files import choose_mode
from sandbox.engine.rules.billing import Prices

BASE_DIR = Path(__file__).resolve().parent.parent
# COLDSTART_DATA_DIR: where the web process writes its SQLite database and secret key. The
# checkout by default; `make run` as root uses var/data, owned by the unprivileged web user
# (config/privileges.py), so the web process can write nothing else in the checkout.
DATA_DIR = Path(env_str("COLDSTART_DATA_DIR") or BASE_DIR)


def _secret_key():
    key = env_str("SECRET_KEY")
    if key:
        return key
    path = DATA_DIR / ".secret_key"  # git-ignored; made once per checkout
    if not path.exists():
        DATA_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
        hand_back(path)  # made under sudo: the user behind it must read it later
    return path.read_text().strip()


SECRET_KEY = _secret_key()


def _default_instance():
    """The checkout's directory name and a digest of its path: two checkouts on one host get
    two instances (their own environment cgroups), the same checkout always the same one."""
    name = re.sub(r"[^A-Za-z0-9_.-]", "-", BASE_DIR.name).lstrip("_.-")[:32] or "coldstart"
    return f"{name}-{hashlib.sha256(str(BASE_DIR).encode()).hexdigest()[:8]}"


# INSTANCE: names this server's environment cgroups (coldstart-<INSTANCE>). Web and worker
# processes of one deployment share it; it defaults to one per checkout.
INSTANCE = env_str("INSTANCE") or _default_instance()
if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", INSTANCE):
    raise ImproperlyConfigured(
        f"INSTANCE={INSTANCE!r}: expected up to 64 letters, digits, '_', '.' or '-', "
        "starting with a letter or digit"
    )

DEBUG = env_bool("DEBUG", False)

# Serving a classroom. BIND and PORT are where `make run` (manage.py serve) listens; BIND=0.0.0.0
# serves every interface and allows this machine's addresses as hosts. PUBLIC_URL, when set
# (e.g. https://coldstart.school.example behind a TLS proxy), is the address every link and QR
# code shows; otherwise the reachable address detected from BIND is (config/network.py).
BIND = env_str("BIND", "127.0.0.1").strip()
PORT = env_int("PORT", 8000, 1, 65535)
PUBLIC_URL = env_origin("PUBLIC_URL")
ROOM_ADDRESS = network.reachable_address(BIND)
_room_hosts = network.room_hosts(BIND)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", *_room_hosts])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [f"http://{host}:{PORT}" for host in _room_hosts])
if PUBLIC_URL:
    ALLOWED_HOSTS.append(network.url_host(urlsplit(PUBLIC_URL).hostname))
    CSRF_TRUSTED_ORIGINS.append(PUBLIC_URL)

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "sandbox",
    "triggers",
    "lessons",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "sandbox.web.middleware.no_body_headers",
    "config.static_serving.StaticFilesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "sandbox.web.context_processors.isolation",
                "sandbox.web.context_processors.public_address",
            ],
        },
    },
]
ASGI_APPLICATION = "config.asgi.application"

DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    # A shared database for several web and worker processes, e.g.
    # postgres://coldstart:PASSWORD@db.example:5432/coldstart (psycopg 3). Connections are kept
    # for DATABASE_CONN_MAX_AGE seconds and checked before reuse, so a database restart costs
    # one failed query at most.
    DATABASES = {"default": database_from_url(DATABASE_URL, env_int("DATABASE_CONN_MAX_AGE", 60, 0))}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("SQLITE_PATH", str(DATA_DIR / "db.sqlite3")),
            # The worker and the web side write from several threads: WAL lets readers go on
            # while one writes, IMMEDIATE transactions queue writers on the busy timeout instead
            # of failing with "database is locked" when a read transaction tries to upgrade.
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE",
                        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"},
            # Tests use a file, not SQLite's shared-cache memory database, whose table locks
            # ignore the busy timeout ("database table is locked") when threads write at once.
            "TEST": {"NAME": os.path.join(tempfile.gettempdir(), f"coldstart-test-{os.getpid()}.sqlite3")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    from config.redis_layer import redis_host

    CHANNEL_LAYERS = {
        "default": {
            # Survives idle workers and Redis restarts (config/redis_layer.py says how).
            "BACKEND": "config.redis_layer.ReconnectingRedisChannelLayer",
            "CONFIG": {"hosts": [redis_host(REDIS_URL)], "capacity": 1000},
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 1000}}
    }

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Static files (config/static_files.py): STATIC_FROM=collected serves what `make run` collected
# into STATIC_ROOT (hashed names, gzip/brotli copies, cached a year); "source" serves static/ as it
# is (tests, development); "auto" (default) is "collected" when that copy is up to date.
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATIC_FROM = choose_mode(
    env_choice("STATIC_FROM", ["auto", "collected", "source"], "auto"), STATIC_ROOT, STATICFILES_DIRS
)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "config.static_serving.HashedStaticStorage"
        if STATIC_FROM == "collected"
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
SERVESTATIC_USE_FINDERS = SERVESTATIC_AUTOREFRESH = STATIC_FROM == "source"

# Every line: timestamp, level, logger (config/log_format.py); LOG_FORMAT=json: one JSON object.
LOG_FORMAT = env_choice("LOG_FORMAT", ["text", "json"], "text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"line": {"()": f"config.log_format.{LOG_FORMAT.title()}Formatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "line"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}


def _host_memory_mb():
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1 << 20)
    except (ValueError, OSError):
        return 4096


def _default_max_environments():
    """Bounded by memory, not cores: an idle environment is frozen (no CPU) and holds a few MB,
    and a class keeps at least one warm per learner; with fewer slots than that every
    invocation evicts another learner's environment (a cold start each time)."""
    return max(4, min(128, _host_memory_mb() // 256))


def _required_isolation():
    """Fail closed: "full" unless weak isolation is allowed explicitly (docs/security.md)."""
    level = env_choice("SANDBOX_REQUIRE", ["", "rlimits-only", "namespaces", "full"], "")
    if env_bool("SANDBOX_ALLOW_WEAK_ISOLATION", False):
        return level or "rlimits-only"
    if level not in ("", "full"):
        raise ImproperlyConfigured(
            f"SANDBOX_REQUIRE={level}: running below full isolation needs SANDBOX_ALLOW_WEAK_ISOLATION=true"
        )
    return "full"


# The sandbox limits, in one table. Each is overridable by the environment variable named.
SANDBOX = {
    # Fail closed (docs/security.md): SANDBOX_REQUIRE, the isolation level below which the server
    # refuses to start, is "full" unless SANDBOX_ALLOW_WEAK_ISOLATION=true, which allows any level
    # (or the level SANDBOX_REQUIRE names) and shows a red banner on every page naming what is missing.
    "ALLOW_WEAK_ISOLATION": env_bool("SANDBOX_ALLOW_WEAK_ISOLATION", False),
    "REQUIRE": _required_isolation(),
    # SANDBOX_SPAWN: "launcher" (environments are forked by the privileged launcher, so the web
    # process needs no privilege) or "bwrap" (the worker, as root, starts bubblewrap itself: a
    # fallback). SANDBOX_LAUNCHER_SOCKET: where the launcher listens (`make run` as root sets it);
    # without it a worker running as root starts a private launcher of its own.
    "SPAWN": env_choice("SANDBOX_SPAWN", ["launcher", "bwrap"], "launcher"),
    "LAUNCHER_SOCKET": env_str("SANDBOX_LAUNCHER_SOCKET", ""),
    # SANDBOX_MAX_ENVIRONMENTS: live environments on this host at once (each holds a slot uid).
    "MAX_ENVIRONMENTS": env_int("SANDBOX_MAX_ENVIRONMENTS", _default_max_environments(), 1, 4096),
    # SANDBOX_SLOT_UID_BASE: slot n runs as uid/gid BASE+n.
    "SLOT_UID_BASE": env_int("SANDBOX_SLOT_UID_BASE", 60000, 1000, 2**31 - 5000),
    # A function's memory setting (Lambda: 128 to 10 240 MB). SANDBOX_MEMORY_MB_MAX lowers the
    # ceiling on a small host.
    "MEMORY_MB_MIN": 128,
    "MEMORY_MB_MAX": env_int("SANDBOX_MEMORY_MB_MAX", 10240, 128, 10240),
    # A function's timeout (Lambda: 1 to 900 s).
    "TIMEOUT_S_MIN": 1,
    "TIMEOUT_S_MAX": 900,
    # SANDBOX_PAYLOAD_BYTES: synchronous request and response limit (Lambda: 6 MB each way).
    "PAYLOAD_BYTES": env_int("SANDBOX_PAYLOAD_BYTES", 6 * 1024 * 1024, 1024),
    # SANDBOX_INIT_TIMEOUT_S: the init phase limit (Lambda: 10 s).
    "INIT_TIMEOUT_S": env_float("SANDBOX_INIT_TIMEOUT_S", 10.0, 0.1),
    # SANDBOX_OUTPUT_CAP_BYTES: log output kept per invocation; past it a notice, then nothing
    # more is kept while the handler keeps running (its timeout still applies).
    "OUTPUT_CAP_BYTES": env_int("SANDBOX_OUTPUT_CAP_BYTES", 1024 * 1024, 1024),
    # SANDBOX_MAX_VERSIONS / SANDBOX_MAX_ALIASES: published versions and aliases per function (AWS
    # caps code storage per account instead; a classroom server caps what one learner can store).
    "MAX_VERSIONS": env_int("SANDBOX_MAX_VERSIONS", 100, 1, 100_000),
    "MAX_ALIASES": env_int("SANDBOX_MAX_ALIASES", 20, 1, 1000),
    # SANDBOX_MAX_LINE_BYTES: a longer line is split.
    "MAX_LINE_BYTES": env_int("SANDBOX_MAX_LINE_BYTES", 64 * 1024, 256),
    # SANDBOX_PIDS_MAX: processes and threads per environment (cgroup pids.max and NPROC).
    "PIDS_MAX": env_int("SANDBOX_PIDS_MAX", 256, 8, 65536),
    # SANDBOX_NOFILE: open files per process.
    "NOFILE": env_int("SANDBOX_NOFILE", 1024, 64, 65536),
    # SANDBOX_TMP_MB: size of the private /tmp (Lambda default 512 MB). It is a tmpfs, so what
    # a handler keeps in /tmp also counts against its memory.
    "TMP_MB": env_int("SANDBOX_TMP_MB", 512, 1, 10240),
    # SANDBOX_MB_PER_VCPU: memory that buys one full CPU (Lambda: 1769 MB).
    "MB_PER_VCPU": env_int("SANDBOX_MB_PER_VCPU", 1769, 64),
    # SANDBOX_CPU_PERIOD_US: CFS period of the CPU quota; short, so throttling stays fine-grained.
    "CPU_PERIOD_US": env_int("SANDBOX_CPU_PERIOD_US", 20_000, 1000, 1_000_000),
    # SANDBOX_HOST_MEMORY_MB: the memory all live environments may hold together (the sum of
    # their memory sizes is admitted against it, and it is the limit of their parent cgroup).
    # Default: three quarters of this host's memory; the rest is the server's own.
    "HOST_MEMORY_MB": env_int("SANDBOX_HOST_MEMORY_MB", max(128, _host_memory_mb() * 3 // 4), 128),
    # The `coldstart` helpers' calls to the parent (e.g. buckets.get_object), per invocation: how
    # many (SANDBOX_SERVICE_CALLS), how long a call may be and how long a reply (a 5 MB bucket
    # object is 6.7 MB in base64). A handler that sends a call before reading the last reply is
    # ended.
    "SERVICE_CALLS_PER_INVOCATION": env_int("SANDBOX_SERVICE_CALLS", 1000, 1, 1_000_000),
    "SERVICE_CALL_BYTES": 64 * 1024,
    "SERVICE_REPLY_BYTES": 8 * 1024 * 1024,
}

# Layers (sandbox/layers/): zips of libraries mounted read-only at /opt, with Lambda's limits.
LAYERS = {
    # LAYERS_ROOT: where layer versions are extracted (one directory per zip's SHA-256) and where the
    # /opt of each ordered list of layers is merged. Git-ignored; rebuilt from the database if lost.
    "ROOT": Path(env_str("LAYERS_ROOT", str(BASE_DIR / "var" / "layers"))),
    # Where `make` puts the bundled layers' zips (registered as public layers by `manage.py sync_layers`).
    "BUNDLED_DIR": BASE_DIR / "var" / "bundled-layers",
    # Lambda: a 50 MB zip uploaded directly, 250 MB unzipped for a function and all its layers (MiB, as
    # AWS counts: 52 428 800 and 262 144 000 bytes), 5 layers a function.
    "ZIP_BYTES": env_int("LAYER_ZIP_BYTES", 50 << 20, 1024),
    "UNZIPPED_BYTES": env_int("LAYER_UNZIPPED_BYTES", 250 << 20, 1024),
    "PER_FUNCTION": 5,
    # LAYER_MAX_FILES: files and directories in one zip (Lambda has no such limit; inodes do).
    "MAX_FILES": env_int("LAYER_MAX_FILES", 20_000, 1),
    # LAYER_BYTES_PER_LEARNER / LAYER_BYTES_TOTAL: the unzipped size of one learner's layer versions
    # together, and of everyone's (guests are cheap to make: the total keeps the disk from filling).
    "BYTES_PER_LEARNER": env_int("LAYER_BYTES_PER_LEARNER", 1 << 30, 1024),
    "BYTES_TOTAL": env_int("LAYER_BYTES_TOTAL", 20 << 30, 1024),
    # LAYER_UPLOADS_PER_HOUR: uploads one learner may make in an hour, refused ones included
    # (each costs the server an extraction of up to 250 MB).
    "UPLOADS_PER_HOUR": env_int("LAYER_UPLOADS_PER_HOUR", 30, 1),
}

# Prices: AWS's published us-east-1 x86_64 prices, written once in the billing rules (which the
# browser runtime ships too); each is overridable here. BILLING_INIT_PHASE=false gives the rule
# before 1 Aug 2025 (init of on-demand functions not billed) so a lesson can compare the two.
BILLING = {
    "PER_GB_SECOND": env_float("BILLING_PER_GB_SECOND", Prices.per_gb_second, 0),
    "PER_REQUEST": env_float("BILLING_PER_REQUEST", Prices.per_request, 0),
    "BILL_INIT_PHASE": env_bool("BILLING_INIT_PHASE", Prices.bill_init_phase),
    "FREE_GB_SECONDS": env_float("BILLING_FREE_GB_SECONDS", Prices.free_gb_seconds, 0),
    "FREE_REQUESTS": env_int("BILLING_FREE_REQUESTS", Prices.free_requests, 0),
    "PROVISIONED_CAPACITY_PER_GB_SECOND": env_float(
        "BILLING_PROVISIONED_CAPACITY_PER_GB_SECOND", Prices.provisioned_capacity_per_gb_second, 0
    ),
    "PROVISIONED_DURATION_PER_GB_SECOND": env_float(
        "BILLING_PROVISIONED_DURATION_PER_GB_SECOND", Prices.provisioned_duration_per_gb_second, 0
    ),
}

# SANDBOX_WORKER: "embedded" runs the sandbox worker inside the web process (the default with
# the in-memory channel layer); "external" expects `manage.py runworker sandbox` processes
# (the default when REDIS_URL is set). SANDBOX_WORKER_SHARDS > 1 spreads functions over the
# channels sandbox-0 .. sandbox-N-1 (run one worker per channel), keeping a function's warm
# environments on one worker.
SANDBOX_WORKER = env_choice(
    "SANDBOX_WORKER", ["embedded", "external"], "external" if REDIS_URL else "embedded"
)
SANDBOX_WORKER_SHARDS = env_int("SANDBOX_WORKER_SHARDS", 1, 1, 64)
# A worker whose heartbeat is older than this is dead: its running invocations are failed.
WORKER_STALE_SECONDS = env_float("WORKER_STALE_SECONDS", 6.0, 1.0)
# An invocation no worker picked up within this long is failed with a clear reason.
QUEUE_STALE_SECONDS = env_float("QUEUE_STALE_SECONDS", 15.0, 1.0)

# The API accepts events up to the 6 MB payload limit (Django's default cap is 2.5 MB).
DATA_UPLOAD_MAX_MEMORY_SIZE = SANDBOX["PAYLOAD_BYTES"] + 128 * 1024

# The playground sends the event, the code and the form fields in one WebSocket message. Room for
# an event at the payload limit after JSON escaping (at most doubles valid JSON text) plus 2 MiB
# for the code and the rest. daphne's default is 1 MiB: `python -m config.serve` (what `make run`
# starts) and daphne's `manage.py runserver` (the two DAPHNE_ settings) take this instead.
WEBSOCKET_MAX_MESSAGE_BYTES = 2 * SANDBOX["PAYLOAD_BYTES"] + 2 * 1024 * 1024
DAPHNE_WEBSOCKET_MAX_MESSAGE_SIZE = WEBSOCKET_MAX_MESSAGE_BYTES
DAPHNE_WEBSOCKET_MAX_FRAME_SIZE = WEBSOCKET_MAX_MESSAGE_BYTES

# Scaling (docs/architecture.md §4), scaled down from AWS to one small host. CLASSROOM_SPEED=true divides
# every timer (idle reclaim, async retries, schedules) by 10 so a 45-minute class sees them.
CLASSROOM_SPEED = env_bool("CLASSROOM_SPEED", False)
TIMER_SCALE = 0.1 if CLASSROOM_SPEED else 1.0
SCALING = {
    # ACCOUNT_CONCURRENCY: concurrent executions across all functions (AWS default: 1 000).
    "ACCOUNT_CONCURRENCY": env_int("ACCOUNT_CONCURRENCY", SANDBOX["MAX_ENVIRONMENTS"], 1, 100_000),
    # SCALE_PER_10S: new environments per function per 10 s (AWS: 1 000).
    "SCALE_PER_10S": env_int("SCALE_PER_10S", 50, 1, 100_000),
    # LEARNER_CONCURRENCY / LEARNER_PER_MINUTE: one learner's share of the server.
    "LEARNER_CONCURRENCY": env_int("LEARNER_CONCURRENCY", 10, 1, 10_000),
    "LEARNER_PER_MINUTE": env_int("LEARNER_PER_MINUTE", 600, 1, 1_000_000),
    # IDLE_TTL_S: an idle on-demand environment is reclaimed after this long (AWS: undocumented,
    # minutes in practice).
    "IDLE_TTL_S": env_float("IDLE_TTL_S", 300.0, 0.1) * TIMER_SCALE,
    # CHECK_WAIT_S: how long a lesson's Check waits for capacity other learners hold before the
    # server says it is busy (Coldstart's own: a Check is admitted ahead of other traffic).
    "CHECK_WAIT_S": env_float("CHECK_WAIT_S", 10.0, 0.0),
}
# Fair shares of one server. UNRESERVED_FLOOR: what reservations never take from the functions
# without one (AWS keeps 100 of its 1 000 unreserved: a tenth here too). LEARNER_RESERVED /
# LEARNER_PROVISIONED: one learner's total over all their functions. LEARNER_MEMORY_MB: the
# memory sizes of one learner's live environments together (a quarter of the host's budget, at
# least 2 GB: a lesson's 1 769 MB function must fit).
SCALING |= {
    "UNRESERVED_FLOOR": env_int(
        "UNRESERVED_CONCURRENCY_FLOOR", max(1, SCALING["ACCOUNT_CONCURRENCY"] // 10), 1, 100_000
    ),
    "LEARNER_RESERVED": env_int("LEARNER_RESERVED_CONCURRENCY", SCALING["LEARNER_CONCURRENCY"], 0, 100_000),
    "LEARNER_PROVISIONED": env_int(
        "LEARNER_PROVISIONED_CONCURRENCY", max(1, SANDBOX["MAX_ENVIRONMENTS"] // 8), 0, 100_000
    ),
    "LEARNER_MEMORY_MB": env_int(
        "LEARNER_MEMORY_MB", min(SANDBOX["HOST_MEMORY_MB"], max(2048, SANDBOX["HOST_MEMORY_MB"] // 4)), 128
    ),
}

# What the sandbox worker runs besides invocations (event-source pollers, schedulers), and what
# answers handlers' `coldstart` helper calls (e.g. buckets.get_object). Dotted paths.
WORKER_BACKGROUND = ["triggers.loops.run_forever"]
SANDBOX_SERVICES = "triggers.services.handle"

# ---- Classroom safety (docs/security.md: the threat model, each attack and what stops it) ----
# FUNCTION_URL_BASE: an origin of its own for function URLs, e.g. https://fn.example.org (a host
# name of another site is best; another port of the same host separates scripts but not cookies).
# When set, /fn/ is served and shown only there (the app's origin redirects /fn/ to it), and
# nothing else is served on it. Unset: function URLs share the app's origin, still sandboxed.
FUNCTION_URL_BASE = env_origin("FUNCTION_URL_BASE")
if FUNCTION_URL_BASE:
    _fn_host = urlsplit(FUNCTION_URL_BASE).hostname
    ALLOWED_HOSTS.append(f"[{_fn_host}]" if ":" in _fn_host else _fn_host)
# Rate limits and quotas hold per process with the default cache; with REDIS_URL they use Django's
# RedisCache there, so they hold across every daphne and worker process sharing that Redis.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    if REDIS_URL
    # Enough entries that a flood of addresses cannot cull the counters that matter.
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "OPTIONS": {"MAX_ENTRIES": 100_000}}
}
# Failed sign-ins are throttled for every password form (sandbox/web/signin.py).
AUTHENTICATION_BACKENDS = ["sandbox.web.signin.SignInThrottle", "django.contrib.auth.backends.ModelBackend"]
ABUSE = {
    # GUESTS_PER_ADDRESS_PER_HOUR: guest learners one client address may create (a class behind
    # one NAT shares an address: keep it above the class size).
    "GUESTS_PER_ADDRESS_PER_HOUR": env_int("GUESTS_PER_ADDRESS_PER_HOUR", 60, 1),
    # LOGIN_FAILURES / LOGIN_LOCK_S: failed sign-ins for one username from one address (4x that
    # from one address) before its sign-in is refused until the LOGIN_LOCK_S window ends.
    "LOGIN_FAILURES": env_int("LOGIN_FAILURES", 5, 1),
    "LOGIN_LOCK_S": env_int("LOGIN_LOCK_S", 900, 1),
    # FUNCTION_URL_PER_ADDRESS_PER_MINUTE / FUNCTION_URL_PER_FUNCTION_PER_MINUTE: anonymous /fn/
    # requests, refused (429) before anything is written to the database.
    "FUNCTION_URL_PER_ADDRESS_PER_MINUTE": env_int("FUNCTION_URL_PER_ADDRESS_PER_MINUTE", 240, 1),
    "FUNCTION_URL_PER_FUNCTION_PER_MINUTE": env_int("FUNCTION_URL_PER_FUNCTION_PER_MINUTE", 600, 1),
    # REQUEST_BODY_MAX_BYTES: any request body, counted as it arrives (chunked or not): 413 past it.
    "REQUEST_BODY_MAX_BYTES": env_int("REQUEST_BODY_MAX_BYTES", SANDBOX["PAYLOAD_BYTES"] + (1 << 20), 1024),
}
STORAGE = {
    # What one learner may keep, and for how long (pruned by the worker every PRUNE_INTERVAL_S and
    # by `manage.py prune_storage`). Invocation records (each holds its event, result and logs):
    # the newest HISTORY_PER_LEARNER are kept, none older than HISTORY_MAX_AGE_DAYS (finished
    # async events too).
    "HISTORY_PER_LEARNER": env_int("HISTORY_PER_LEARNER", 2000, 10),
    "HISTORY_MAX_AGE_DAYS": env_float("HISTORY_MAX_AGE_DAYS", 14.0, 0.01),
    # Queue messages: sending past QUEUE_MESSAGES_PER_LEARNER is refused; a message is dropped after
    # QUEUE_MESSAGE_MAX_AGE_DAYS (SQS's default retention period is 4 days).
    "QUEUE_MESSAGES_PER_LEARNER": env_int("QUEUE_MESSAGES_PER_LEARNER", 10_000, 1),
    "QUEUE_MESSAGE_MAX_AGE_DAYS": env_float("QUEUE_MESSAGE_MAX_AGE_DAYS", 4.0, 0.01),
    # Bucket objects: an upload past BUCKET_OBJECTS_PER_LEARNER objects or BUCKET_BYTES_PER_LEARNER
    # bytes is refused; objects not written for BUCKET_OBJECT_MAX_AGE_DAYS are deleted.
    "BUCKET_OBJECTS_PER_LEARNER": env_int("BUCKET_OBJECTS_PER_LEARNER", 1000, 1),
    "BUCKET_BYTES_PER_LEARNER": env_int("BUCKET_BYTES_PER_LEARNER", 100 << 20, 1024),
    "BUCKET_OBJECT_MAX_AGE_DAYS": env_float("BUCKET_OBJECT_MAX_AGE_DAYS", 14.0, 0.01),
    "PRUNE_INTERVAL_S": env_float("PRUNE_INTERVAL_S", 600.0, 1.0),
}
WORKER_BACKGROUND = [*WORKER_BACKGROUND, "triggers.retention.run_forever"]

# Asked before an alias is deleted: what still invokes it (sandbox.versions.alias_users).
ALIAS_USERS = ["triggers.bindings.alias_users"]
