"""Researcher access without Streamlit: login throttling and signed session tokens (pure, testable).

Throttling (:class:`LoginThrottle`, policy :class:`ThrottlePolicy`): after a wrong password a client must
wait before its next attempt is even checked: 1 s after the first failure, doubling with each further one
(2, 4, 8, ... s, at most 5 min); its 10th failure within 15 minutes locks it out for 15 minutes. Across all
clients, from the 20th failure within 15 minutes every attempt waits too (1 s doubling per further failure),
and the 100th locks every login for 15 minutes (so many addresses cannot multiply the guesses; the price is
that an attack can also keep the researcher out until it stops or the server restarts). An attempt during a
wait is refused without looking at the password and is not counted. Clients are told apart by IP address
(Streamlit's ``st.context.ip_address``; every local connection is one client).

Session tokens (:func:`make_token`, :func:`verify_token`): ``"<expiry unix seconds>.<HMAC-SHA256 hex>"`` over
``"tunelab-researcher:<expiry>"``, keyed by :func:`session_key` (an HMAC of the researcher password under a
server secret), so a token expires by itself, cannot be forged without the server secret, and stops working
when the password changes. The app keeps it in a cookie so that a reload or a typed URL stays logged in.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

TOKEN_PREFIX = "tunelab-researcher:"


@dataclass(frozen=True)
class ThrottlePolicy:
    """How wrong researcher passwords slow down further attempts (seconds)."""

    base_delay_seconds: float = 1.0  # wait after a client's first failure; doubles with each further one
    max_delay_seconds: float = 300.0  # longest growing delay
    client_lockout_after: int = 10  # failures of one client within the window that lock it out
    global_delay_after: int = 20  # failures of all clients within the window from which everyone waits
    global_lockout_after: int = 100  # failures of all clients within the window that lock every login
    lockout_seconds: float = 900.0  # how long a lockout lasts after the last failure
    window_seconds: float = 900.0  # failures older than this are forgotten

    def delay(self, failures: int) -> float:
        """The growing delay after ``failures`` failures (0 for none)."""
        if failures <= 0:
            return 0.0
        return min(self.base_delay_seconds * 2.0 ** (failures - 1), self.max_delay_seconds)


@dataclass(frozen=True)
class Verdict:
    """Whether an attempt may be checked now; if not, how long to wait and why."""

    allowed: bool
    wait_seconds: float
    reason: str  # "" | "delay" | "client lockout" | "global delay" | "global lockout"


class LoginThrottle:
    """Failures per client and overall, in memory (one per server process; thread-safe)."""

    def __init__(self, policy: ThrottlePolicy = ThrottlePolicy(), clock: Callable[[], float] = time.monotonic) -> None:
        self.policy = policy
        self.clock = clock
        self._lock = threading.Lock()
        self._clients: dict[str, deque[float]] = {}
        self._all: deque[float] = deque()
        self._locked: dict[str, float] = {}  # client -> end of its lockout
        self._all_locked = -math.inf  # end of the global lockout

    def _forget_old(self, now: float) -> None:
        horizon = now - self.policy.window_seconds
        for times in (*self._clients.values(), self._all):
            while times and times[0] < horizon:
                times.popleft()
        for client in [c for c, t in self._clients.items() if not t]:
            del self._clients[client]
        for client in [c for c, until in self._locked.items() if until <= now]:
            del self._locked[client]

    def check(self, client: str) -> Verdict:
        """May ``client`` try a password now?"""
        p = self.policy
        with self._lock:
            now = self.clock()
            self._forget_old(now)
            mine, every = self._clients.get(client, deque()), self._all
            waits = [(0.0, ""), (self._locked.get(client, -math.inf) - now, "client lockout"),
                     (self._all_locked - now, "global lockout")]
            if mine:
                waits.append((mine[-1] + p.delay(len(mine)) - now, "delay"))
            if len(every) >= p.global_delay_after:
                waits.append((every[-1] + p.delay(len(every) - p.global_delay_after + 1) - now, "global delay"))
            wait, reason = max(waits)
            return Verdict(wait <= 0, max(wait, 0.0), "" if wait <= 0 else reason)

    def failed(self, client: str) -> tuple[int, int]:
        """Record a wrong password of ``client``; return its failures and everyone's within the window."""
        with self._lock:
            now = self.clock()
            self._forget_old(now)
            mine = self._clients.setdefault(client, deque())
            mine.append(now)
            self._all.append(now)
            if len(mine) >= self.policy.client_lockout_after:
                self._locked[client] = now + self.policy.lockout_seconds
            if len(self._all) >= self.policy.global_lockout_after:
                self._all_locked = now + self.policy.lockout_seconds
            return len(mine), len(self._all)

    def succeeded(self, client: str) -> None:
        """A correct password: the client's own failures are forgiven (everyone's count stays)."""
        with self._lock:
            self._clients.pop(client, None)


def session_key(server_secret: bytes, password: str) -> bytes:
    """The key that signs researcher tokens: changes with the server secret and with the password."""
    return hmac.new(server_secret, password.encode("utf-8"), hashlib.sha256).digest()


def make_token(key: bytes, now: float, ttl_seconds: float) -> str:
    """A researcher session token valid until ``now + ttl_seconds`` (unix seconds)."""
    expiry = int(now + ttl_seconds)
    mac = hmac.new(key, f"{TOKEN_PREFIX}{expiry}".encode(), hashlib.sha256).hexdigest()
    return f"{expiry}.{mac}"


def verify_token(key: bytes, token: str | None, now: float) -> bool:
    """True for a token made by :func:`make_token` with ``key`` that has not expired."""
    if not token or not isinstance(token, str) or token.count(".") != 1 or len(token) > 100:
        return False
    expiry_text, mac = token.split(".")
    if not expiry_text.isdigit():
        return False
    expected = hmac.new(key, f"{TOKEN_PREFIX}{expiry_text}".encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(mac, expected) and int(expiry_text) > now
