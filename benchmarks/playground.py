#!/usr/bin/env python
"""Display updates per second of ``deltaprop playground`` while playing, in a real headless Chromium.

Usage (from the repository root, with the test extras and Debian's chromium + chromium-driver)::

    PYTHONPATH=src python benchmarks/playground.py                 # 3 rounds of 10 s
    PYTHONPATH=src python benchmarks/playground.py --seconds 20 --rounds 5 --steps 500

Target (issue 18): Higham & Higham's 2-2-3-2 sigmoid network, a 100 x 100 region grid, 500 SGD
steps between display updates: at least 20 display updates per second. An update is one answer
of the server (500 steps of ``deltaprop.sgd_steps``, the trace of the selected sample, the
regions and hidden-unit maps on the grid, the cost history) drawn by the page, counted by the
page itself (``window.pgStats``). The server-side share is timed alone too, in this process.
Exits with code 1 when the target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

TARGET = 20.0


def server_side(steps: int, n: int = 200) -> float:
    """Seconds per update of the server alone: the steps, the state and its JSON."""
    from deltaprop.playground.session import Session

    s = Session()
    s.tune({"steps": steps, "eta": 0.05})
    s.step()  # compiles the per-sample loop when it is not cached yet
    t0 = time.perf_counter()
    for _ in range(n):
        s.step()
        json.dumps(s.state(full=False))
    return (time.perf_counter() - t0) / n


def in_browser(seconds: float, rounds: int, steps: int) -> list[tuple[int, float, float]]:
    """(updates, seconds, milliseconds of drawing per update) of each round of playing, as the page counted them."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from deltaprop.playground.browser import find_chromium, headless_chromium
    from deltaprop.playground.server import running
    from deltaprop.playground.session import Session

    found = find_chromium()
    if found is None:
        sys.exit("no Chromium with chromedriver on PATH: apt-get install chromium chromium-driver")
    out = []
    with running(Session()) as url:
        driver = headless_chromium(*found)
        try:
            driver.get(url)
            body = driver.find_element(By.TAG_NAME, "body")
            WebDriverWait(driver, 60).until(lambda d: int(body.get_attribute("data-updates")) >= 1)
            steps_box = driver.find_element(By.ID, "steps")
            steps_box.clear()
            steps_box.send_keys(str(steps))
            play = driver.find_element(By.ID, "play")
            for k in range(rounds + 1):  # round 0 warms up (compiles the loop) and is not counted
                driver.find_element(By.ID, "rewind").click()
                time.sleep(0.5)
                play.click()
                time.sleep(seconds if k else 3.0)
                stats = driver.execute_script(
                    "return {n: window.pgStats.playFrames, ms: performance.now() - window.pgStats.playStart,"
                    " draw: window.pgStats.playDrawMs};")
                play.click()
                WebDriverWait(driver, 30).until(lambda d: play.text == "Play")
                if k:
                    out.append((int(stats["n"]), float(stats["ms"]) / 1000, float(stats["draw"]) / max(stats["n"], 1)))
        finally:
            driver.quit()
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=10.0, help="length of a round of playing (default 10)")
    p.add_argument("--rounds", type=int, default=3, help="rounds (default 3)")
    p.add_argument("--steps", type=int, default=500, help="SGD steps between display updates (default 500)")
    args = p.parse_args()
    per_update = server_side(args.steps)
    rounds = in_browser(args.seconds, args.rounds, args.steps)
    rates = [n / s for n, s, _ in rounds]
    print("| network | grid | SGD steps per update | round | updates | seconds | drawing, ms per update | updates/s |")
    print("|---|---|---|---|---|---|---|---|")
    for k, (n, s, ms) in enumerate(rounds, start=1):
        print(f"| 2-2-3-2 sigmoid, Higham's points | 100 x 100 | {args.steps} | {k} | {n} | {s:.1f} | {ms:.1f} "
              f"| {n / s:.1f} |")
    median = statistics.median(rates)
    verdict = "PASS" if min(rates) >= TARGET else "FAIL"
    print(f"\nmedian {median:.1f} updates/s (min {min(rates):.1f}, max {max(rates):.1f}); target >= {TARGET:g}: "
          f"{verdict} (every round)")
    print(f"load average during the run: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    print(f"server side alone: {1000 * per_update:.1f} ms per update ({1 / per_update:.0f} updates/s): "
          f"{args.steps} SGD steps, the trace, the grid maps and the JSON")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
