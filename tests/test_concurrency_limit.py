"""The API's concurrency limit: more calls in flight when the endpoint is slow, fewer when it throttles."""

from __future__ import annotations

import threading

from workmail_constructs.core.api import ConcurrencyLimit


def settle(limit: ConcurrencyLimit, wall: float, cpu: float, calls: int = 200) -> int:
    for _ in range(calls):
        limit.acquire()
        limit.release(wall, cpu)
    return limit.limit


def test_latency_raises_the_limit_to_what_keeps_the_client_busy() -> None:
    # 25 ms a call of which 1 ms is the client's own work: about 25 calls in flight keep it busy.
    assert settle(ConcurrencyLimit(8, 64), wall=0.025, cpu=0.001) == 38  # 25 with the 1.5 headroom
    # A fast endpoint needs no more than the caller's own number.
    assert settle(ConcurrencyLimit(8, 64), wall=0.0012, cpu=0.001) == 8
    # Never past the maximum.
    assert settle(ConcurrencyLimit(8, 64), wall=1.0, cpu=0.001) == 64


def test_throttling_halves_the_limit_and_holds_it_down_for_a_while() -> None:
    limit = ConcurrencyLimit(8, 64)
    settle(limit, wall=0.025, cpu=0.001)
    limit.acquire()
    limit.release(0.03, 0.001, throttled=True)
    assert limit.limit == 19
    # As many successes as the new limit pass before it grows again.
    assert settle(limit, wall=0.025, cpu=0.001, calls=19) == 19
    assert settle(limit, wall=0.025, cpu=0.001, calls=1) == 20
    for _ in range(10):
        limit.acquire()
        limit.release(0.03, 0.001, throttled=True)
    assert limit.limit == 1


def test_no_more_calls_run_at_once_than_the_limit() -> None:
    limit = ConcurrencyLimit(3, 3)
    running = 0
    most = 0
    lock = threading.Lock()
    release = threading.Event()

    def call() -> None:
        nonlocal running, most
        limit.acquire()
        with lock:
            running += 1
            most = max(most, running)
        release.wait(5)
        with lock:
            running -= 1
        limit.release(0.001, 0.001)

    threads = [threading.Thread(target=call) for _ in range(10)]
    for thread in threads:
        thread.start()
    release.set()
    for thread in threads:
        thread.join(10)
    assert most == 3
