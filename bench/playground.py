"""Log-line latency through the real playground: handler `print` -> sandbox -> worker -> channel
layer -> consumer -> WebSocket -> client, on a real daphne server (embedded worker).

    .venv/bin/python bench/playground.py     (part of `make bench`; writes bench/results/playground.json)

Figures: p50/p99 latency with 1 client and with 50 concurrent clients (each its own learner and
function), and a 20 000-line flood (latency of the lines the page shows, whether the server
logged ChannelFull). The baseline is the same path's latency with one client printing one line
per 20 ms, so ratios say what load costs.
"""

import argparse
import asyncio
import json
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import websockets  # noqa: E402

from bench.classroom import Profiler  # noqa: E402
from bench.engine import Figure, percentile, table  # noqa: E402
from tests.live_server import LiveServer  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "playground.json"
STAMP = re.compile(r"T=(\d+\.\d+)")
FINISHED = re.compile(r'<section id="result-panel"[^>]*data-status=')
PACED = """import time
def handler(event, context):
    for _ in range(event['n']):
        print(f'T={time.time():.6f}')
        time.sleep(event['gap'])
"""
FLOOD = """import time
def handler(event, context):
    for _ in range(event['n']):
        print(f'T={time.time():.6f}')
"""

SETUP = """
import json, sys
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from sandbox.models import Function
out = []
for n in range({count}):
    user = get_user_model().objects.create_user(username=f"bench-{{n}}-{stamp}")
    fn = Function.objects.create(owner=user, name=f"bench-{{n}}", code=sys.argv[-1] if False else {code!r})
    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = user.get_session_auth_hash()
    session.create()
    out.append([session.session_key, fn.slug])
print(json.dumps(out))
"""


def make_learners(server, count, code):
    script = SETUP.format(count=count, code=code, stamp=int(time.time() * 1000))
    return json.loads(server.manage("shell", "-c", script).strip().splitlines()[-1])


async def one_client(url, session_key, slug, event, latencies):
    headers = {"Cookie": f"sessionid={session_key}", "Origin": url}
    ws_url = url.replace("http://", "ws://") + f"/ws/functions/{slug}/"
    async with websockets.connect(ws_url, additional_headers=headers, max_size=None) as ws:
        await ws.send(json.dumps({"action": "invoke", "event": json.dumps(event)}))
        while True:
            message = await ws.recv()
            received = time.time()
            for stamp in STAMP.findall(message):
                latencies.append((received - float(stamp)) * 1000)
            if FINISHED.search(message):  # the result panel of the finished run
                return


async def scenario(url, learners, event):
    latencies = []
    await asyncio.gather(*(one_client(url, key, slug, event, latencies) for key, slug in learners))
    return latencies


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--py-spy", type=Path, metavar="DIR", help="profile the server during the 50 clients")
    profile_dir = parser.parse_args(argv).py_spy

    def log(message):
        print(message, file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory() as workdir:
        server = LiveServer(workdir, 63800, 64)
        server.env.update(ACCOUNT_CONCURRENCY="64", LEARNER_CONCURRENCY="10")
        server.start()
        try:
            url = server.url
            one = make_learners(server, 1, PACED)
            fifty = make_learners(server, 50, PACED)
            flood = make_learners(server, 1, FLOOD)
            event = {"n": 40, "gap": 0.02}
            asyncio.run(scenario(url, one, {"n": 1, "gap": 0}))  # warm the single learner's env
            log("1 client ...")
            base = asyncio.run(scenario(url, one, event))
            log("50 clients ...")
            asyncio.run(scenario(url, fifty, {"n": 1, "gap": 0}))  # cold starts out of the way
            profiler = Profiler(profile_dir, "playground-50", server.process.pid)
            try:
                many = asyncio.run(scenario(url, fifty, event))
            finally:
                profiler.stop()
            log("20 000-line flood ...")
            flooded = asyncio.run(scenario(url, flood, {"n": 20000}))
        finally:
            server.stop()
            server.reap()
        channel_full = "ChannelFull" in (Path(workdir) / "daphne.log").read_text(errors="replace")
    base_p50, base_p99 = percentile(base, 50), percentile(base, 99)
    figures = [
        Figure("log_latency_p50_1client", "ms", base_p50, "same", base_p50, 1.0, "-", True),
        Figure("log_latency_p99_1client", "ms", base_p99, "same", base_p99, 1.0, "-", True),
        Figure(
            "log_latency_p50_50clients",
            "ms",
            percentile(many, 50),
            "1 client p50",
            base_p50,
            percentile(many, 50) / base_p50,
            "-",
            True,
        ),
        Figure(
            "log_latency_p99_50clients",
            "ms",
            percentile(many, 99),
            "1 client p99",
            base_p99,
            percentile(many, 99) / base_p99,
            "value <= 25 ms",
            percentile(many, 99) <= 25,
        ),
        Figure(
            "flood_latency_p99",
            "ms",
            percentile(flooded, 99),
            "1 client p99",
            base_p99,
            percentile(flooded, 99) / base_p99,
            "value <= 250 ms and no ChannelFull",
            percentile(flooded, 99) <= 250 and not channel_full,
        ),
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "channel_full_logged": channel_full,
                "lines_measured": {"one": len(base), "fifty": len(many), "flood": len(flooded)},
                "figures": [f.__dict__ for f in figures],
            },
            indent=2,
        )
        + "\n"
    )
    print(table(figures))
    print(f"ChannelFull logged: {channel_full}; lines measured: {len(base)}, {len(many)}, {len(flooded)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
