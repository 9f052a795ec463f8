"""Load test of the participant app: N simultaneous participants against a local server.

The script makes a small turing study (pretty_midi arpeggios, 1 s clips, full playback required) in a temp
SQLite DB, starts ``streamlit run streamlit_app.py`` on a free port, and lets ``--sessions`` participants
(each its own Streamlit session) go through consent → instructions → every trial → completion code at the
same time. Two drivers:

* ``--mode ws`` (default): each participant is a raw websocket session speaking Streamlit's protobufs like
  the browser does (rerun with widget states); the player's "ended" report is sent after ``--listen`` s.
  This measures the server.
* ``--mode browser``: each participant is a context of one Debian Chromium (playwright) that clicks, plays
  the clip via JS ``audio.play()`` and waits for the buttons to unlock. End to end, but on 2 cores the
  browser's own rendering of N pages dominates the latency.

It prints answers stored in the database vs expected (sessions × trials); page-to-page latency (answer
click → next trial or completion code shown) p50 / p95 / max; a baseline measured on the same server
before the load (rerun of the page without a study, 1 session) and the ratio to it; server CPU during
the load (and per rerun in ws mode); peak RSS of the server's process tree (psutil, every 0.2 s).

Bounded: ``--sessions`` ≤ 60 and the whole run is cut at ``--timeout`` seconds (sessions still running
then count as failures). Exit status 1 unless every answer was stored. Usage::

    .venv/bin/python benchmarks/bench_app_load.py --sessions 30 --trials 6
    .venv/bin/python benchmarks/bench_app_load.py --sessions 30 --trials 6 --mode browser
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path

from tunelab.testing.live_server import CHROMIUM_ARGS, WsSession, start_server, stop_server
from tunelab.testing.live_server import find_element as _find
from tunelab.testing.live_server import widget_state as _widget
from tunelab.testing.study_fixture import make_study

ONE_HUMAN_BUTTON = ("(d) => { const b = [...document.querySelectorAll('button')]"
                    ".filter(x => x.innerText.trim() === 'Human'); return b.length === 1 && b[0].disabled === d; }")


class RssSampler(threading.Thread):
    """Peak resident set size (bytes) of a process and its children, sampled every ``period`` s."""

    def __init__(self, pid: int, period: float = 0.2) -> None:
        super().__init__(daemon=True)
        import psutil

        self.root = psutil.Process(pid)
        self.period = period
        self.peak = 0
        self._halt = threading.Event()

    def run(self) -> None:
        import psutil

        while not self._halt.is_set():
            try:
                procs = [self.root, *self.root.children(recursive=True)]
                self.peak = max(self.peak, sum(p.memory_info().rss for p in procs if p.is_running()))
            except psutil.Error:
                pass
            self._halt.wait(self.period)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=2)


async def participant(ctx, base: str, code: str, pid: str, trials: int, latencies: list[float],  # noqa: ANN001
                      delay: float) -> bool:
    """One participant's whole visit; appends page-to-page latencies (ms); True when the code was shown."""
    await asyncio.sleep(delay)
    page = await ctx.new_page()
    page.set_default_timeout(120_000)
    await page.goto(f"{base}/?study={code}&PROLIFIC_PID={pid}", timeout=120_000)
    await page.get_by_text("I have read the above and agree").click(timeout=120_000)
    await page.get_by_role("button", name="Start").click(timeout=120_000)
    await page.get_by_role("button", name="Begin").click(timeout=120_000)
    await page.get_by_text(f"Trial 1 of {trials}").wait_for(timeout=120_000)
    for i in range(trials):
        await page.wait_for_function(ONE_HUMAN_BUTTON, arg=True, timeout=120_000)
        await page.locator("audio.tl-audio").evaluate("a => a.play()")
        await page.wait_for_function(ONE_HUMAN_BUTTON, arg=False, timeout=120_000)
        t0 = time.perf_counter()
        await page.get_by_role("button", name="Human" if i % 2 else "Computer", exact=True).click()
        nxt = f"Trial {i + 2} of {trials}" if i + 1 < trials else "Your completion code"
        await page.get_by_text(nxt).wait_for(timeout=120_000)
        latencies.append(1000 * (time.perf_counter() - t0))
    await page.close()
    return True


async def ws_participant(base: str, code: str, pid: str, trials: int, latencies: list[float], delay: float,
                         listen: float) -> bool:
    """One participant over a raw websocket: consent, instructions, every trial (waits ``listen`` s per clip,
    then reports "ended" like the player would), completion code."""
    import websockets

    await asyncio.sleep(delay)
    url = base.replace("http://", "ws://") + "/_stcore/stream"
    async with websockets.connect(url, subprotocols=["streamlit"], max_size=None, open_timeout=120) as ws:
        s = WsSession(ws)
        query = f"study={code}&PROLIFIC_PID={pid}"
        page = await s.rerun(query)
        box = _find(page, "checkbox")
        page = await s.rerun(query, [_widget(box.id, bool_value=True)])
        start = _find(page, "button", "Start")
        # the consent is stored by the Start callback; the rerun shows the instructions
        page = await s.rerun(query, [_widget(box.id, bool_value=True), _widget(start.id, trigger_value=True)])
        page = await s.rerun(query, [_widget(_find(page, "button", "Begin").id, trigger_value=True)])
        for i in range(trials):
            progress = _find(page, "progress")
            if f"Trial {i + 1} of {trials}" not in progress.text:
                raise RuntimeError(f"{pid}: expected trial {i + 1}, page shows {progress.text!r}")
            player = _find(page, "bidi_component")
            if not _find(page, "button", "Human").disabled:
                raise RuntimeError(f"{pid}: answer buttons unlocked before the clip was heard")
            await asyncio.sleep(listen)
            log = {"log": {"ended": True, "events": [{"type": "play", "t_ms": 5, "at_s": 0.0},
                                                     {"type": "ended", "t_ms": int(listen * 1000), "at_s": 1.0}]}}
            heard = _widget(player.id, json_value=json.dumps(log))
            page = await s.rerun(query, [heard])  # the player's setStateValue → rerun with buttons unlocked
            button = _find(page, "button", "Human" if i % 2 else "Computer")
            if button.disabled:
                raise RuntimeError(f"{pid}: buttons still locked after the clip ended")
            t0 = time.perf_counter()
            page = await s.rerun(query, [heard, _widget(button.id, trigger_value=True)])
            latencies.append(1000 * (time.perf_counter() - t0))
        if not any(k == "code" for k, _ in page):
            raise RuntimeError(f"{pid}: no completion code after the last trial")
    return True


async def baseline_ws(base: str, n: int = 20) -> list[float]:
    """Round trips (ms) of a rerun of the participant page without a study (no database work): the
    framework's own floor on this machine, measured on the same server before the load."""
    import websockets

    out = []
    async with websockets.connect(base.replace("http://", "ws://") + "/_stcore/stream", subprotocols=["streamlit"],
                                  max_size=None) as ws:
        s = WsSession(ws)
        await s.rerun("")
        for _ in range(n):
            t0 = time.perf_counter()
            await s.rerun("")
            out.append(1000 * (time.perf_counter() - t0))
    return out


async def drive_ws(base: str, code: str, sessions: int, trials: int, timeout: float, ramp: float,
                   listen: float) -> tuple[int, list[float], float]:
    latencies: list[float] = []
    t0 = time.perf_counter()
    tasks = [asyncio.create_task(ws_participant(base, code, f"ws-{k:03d}", trials, latencies, k * ramp, listen))
             for k in range(sessions)]
    done, pending = await asyncio.wait(tasks, timeout=timeout)
    for t in pending:
        t.cancel()
    wall = time.perf_counter() - t0
    for t in done:
        if not t.cancelled() and t.exception() is not None:
            print(f"session failed: {type(t.exception()).__name__}: {str(t.exception())[:300]}")
    ok = sum(1 for t in done if not t.cancelled() and t.exception() is None and t.result())
    return ok, latencies, wall


async def drive(base: str, code: str, sessions: int, trials: int, timeout: float,
                ramp: float) -> tuple[int, list[float], float]:
    from playwright.async_api import async_playwright

    latencies: list[float] = []
    async with async_playwright() as p:
        # launch() gives a fresh temporary profile; each context is an isolated session (own cookies)
        browser = await p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        contexts = [await browser.new_context() for _ in range(sessions)]
        t0 = time.perf_counter()
        tasks = [asyncio.create_task(participant(c, base, code, f"load-{k:03d}", trials, latencies,
                                                   k * ramp))
                 for k, c in enumerate(contexts)]
        done, pending = await asyncio.wait(tasks, timeout=timeout)
        for t in pending:
            t.cancel()
        wall = time.perf_counter() - t0
        ok = sum(1 for t in done if not t.cancelled() and t.exception() is None and t.result())
        for t in done:
            if not t.cancelled() and t.exception() is not None:
                print(f"session failed: {type(t.exception()).__name__}: {str(t.exception())[:200]}")
        await browser.close()
    return ok, latencies, wall


def _p95(sorted_values: list[float]) -> float:
    """Nearest-rank 95th percentile of sorted values (NaN when empty)."""
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(round(0.95 * (len(sorted_values) - 1))))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=30, help="simultaneous participants (1–60, default 30)")
    parser.add_argument("--trials", type=int, default=6, help="trials per participant (default 6)")
    parser.add_argument("--timeout", type=float, default=300.0, help="cut the run after this many seconds")
    parser.add_argument("--mode", choices=("ws", "browser"), default="ws",
                        help="ws: each participant is a raw Streamlit websocket session (measures the server); "
                             "browser: each is a context of one Debian Chromium (end to end, but on 2 cores the "
                             "browser's own rendering dominates the latency)")
    parser.add_argument("--listen", type=float, default=1.0,
                        help="ws mode: seconds a participant listens before the player reports 'ended' (at least "
                             "the clip length minus 0.5 s, or the server refuses the answers as too early)")
    parser.add_argument("--ramp", type=float, default=0.5,
                        help="seconds between two participants' arrivals (default 0.5; 0 = all at once)")
    args = parser.parse_args(argv)
    if not 1 <= args.sessions <= 60:
        parser.error("--sessions must be between 1 and 60")
    from studies import engine

    with tempfile.TemporaryDirectory(prefix="tl-bench-") as tmp:
        folder = Path(tmp)
        url = f"sqlite:///{folder / 'studies.db'}"
        code = make_study(folder, url, n_per_set=max(4, args.trials), trials=args.trials, clip_seconds=1.0)
        proc, base = start_server({"TUNELAB_STUDIES_DB": url, "TUNELAB_MEDIA_DIR": str(folder / "media")},
                                  folder / "streamlit.log")
        sampler = RssSampler(proc.pid)
        sampler.start()
        import psutil

        server = psutil.Process(proc.pid)
        try:
            base_lat = sorted(asyncio.run(baseline_ws(base)))
            cpu0, sent0 = sum(server.cpu_times()[:2]), WsSession.sent
            if args.mode == "ws":
                ok, latencies, wall = asyncio.run(drive_ws(base, code, args.sessions, args.trials, args.timeout,
                                                           args.ramp, args.listen))
            else:
                ok, latencies, wall = asyncio.run(drive(base, code, args.sessions, args.trials, args.timeout,
                                                        args.ramp))
            cpu = sum(server.cpu_times()[:2]) - cpu0
            reruns = WsSession.sent - sent0
        finally:
            sampler.stop()
            stop_server(proc)
        stored = engine.progress(code, url)
    expected = args.sessions * args.trials
    lat = sorted(latencies)
    p95 = _p95(lat)
    print(f"mode {args.mode}: {args.sessions} participants x {args.trials} trials, arrivals {args.ramp:g} s apart")
    print(f"sessions completed: {ok} / {args.sessions}   wall time: {wall:.1f} s")
    print(f"answers stored: {stored['answers']} / {expected} expected   participants completed: "
          f"{stored['completed']} / {args.sessions}")
    if lat:
        print(f"page-to-page latency (answer click → next trial shown), n={len(lat)}: "
              f"p50 {statistics.median(lat):.0f} ms   p95 {p95:.0f} ms   max {lat[-1]:.0f} ms")
    b50 = statistics.median(base_lat)
    print(f"baseline (same server, 1 session, page without a study): rerun p50 {b50:.0f} ms; "
          f"loaded p50 / baseline p50 = {statistics.median(lat) / b50:.1f}x" if lat else "")
    print(f"server CPU during the load: {cpu:.1f} s = {100 * cpu / wall:.0f}% of one core"
          + (f", {1000 * cpu / reruns:.0f} ms per rerun ({reruns} reruns)" if reruns else ""))
    print(f"server peak RSS (process tree): {sampler.peak / 2**20:.0f} MiB")
    return 0 if stored["answers"] == expected and ok == args.sessions else 1


if __name__ == "__main__":
    raise SystemExit(main())
