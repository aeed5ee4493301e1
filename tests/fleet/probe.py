"""A load probe for update tests: one HTTPS request through the proxy every `interval` seconds, each in
its own thread, so a slow answer never delays the next request. Every answer other than the expected
status (errors, timeouts, 5xx) counts as a failed request. With `body` (n -> a dict) each request is a POST
of that JSON, the n-th request's own body: a write probe."""
import itertools
import json
import ssl
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass


@dataclass
class Sample:
    started: float
    seconds: float
    status: int | None
    error: str = ""


class Probe:
    def __init__(self, url, headers=None, interval=0.1, timeout=30, expect=200, body=None):
        self.url, self.headers, self.interval, self.timeout, self.expect = url, headers or {}, interval, timeout, expect
        self.body, self._count = body, itertools.count()
        self.samples: list[Sample] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ctx = ssl.create_default_context()
        self._ctx.check_hostname = False
        self._ctx.verify_mode = ssl.CERT_NONE  # the site's self-signed certificate
        self._pool = ThreadPoolExecutor(max_workers=128)
        self._ticker = threading.Thread(target=self._tick, daemon=True)

    def _one(self):
        t0 = time.monotonic()
        status, error = None, ""
        try:
            if self.body is None:
                req = urllib.request.Request(self.url, headers=self.headers)
            else:
                data = json.dumps(self.body(next(self._count))).encode()
                req = urllib.request.Request(self.url, data=data, method="POST",
                                             headers={**self.headers, "Content-Type": "application/json"})
            with urllib.request.urlopen(req, context=self._ctx, timeout=self.timeout) as r:
                r.read()
                status = r.status
        except urllib.error.HTTPError as e:
            status, error = e.code, e.read()[:200].decode(errors="replace")
        except OSError as e:  # refused, reset, timeout
            error = f"{type(e).__name__}: {e}"
        with self._lock:
            self.samples.append(Sample(t0, time.monotonic() - t0, status, error))

    def _tick(self):
        next_at = time.monotonic()
        while not self._stop.is_set():
            self._pool.submit(self._one)
            next_at += self.interval
            self._stop.wait(max(0.0, next_at - time.monotonic()))

    def __enter__(self):
        self._ticker.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._ticker.join()
        self._pool.shutdown(wait=True)

    @property
    def failures(self):
        return [s for s in self.samples if s.status != self.expect]

    def max_gap(self):
        """The longest time between two request starts (the probe's own cadence)."""
        starts = sorted(s.started for s in self.samples)
        return max((b - a for a, b in zip(starts, starts[1:])), default=0.0)

    def late_starts(self, limit=0.2):
        """How many requests started more than `limit` seconds after the one before (a starved probe)."""
        starts = sorted(s.started for s in self.samples)
        return sum(1 for a, b in zip(starts, starts[1:]) if b - a > limit)

    def failure_kinds(self):
        """Failed requests counted by what they got (status, or the error's first words)."""
        kinds = {}
        for s in self.failures:
            key = f"{s.status} {s.error[:60]}".strip()
            kinds[key] = kinds.get(key, 0) + 1
        return kinds

    def report(self):
        slow = max((s.seconds for s in self.samples), default=0.0)
        return (f"{len(self.samples)} requests, {len(self.failures)} failed, max gap {self.max_gap():.3f}s, "
                f"slowest {slow:.2f}s; failures: {[(s.status, s.error[:80]) for s in self.failures[:5]]}")


def wait_until(check, seconds, step=0.1):
    """Seconds until check() is true, or None after `seconds`."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        try:
            if check():
                return time.monotonic() - t0
        except OSError:
            pass
        time.sleep(step)
    return None
