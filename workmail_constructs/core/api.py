"""The one way the reconcile core talks to WorkMail: calls with retries, full pages, counts.

``WorkMailApi`` wraps a boto3 ``workmail`` client. It retries what is worth retrying
(throttling, server errors, dropped connections) with exponential backoff and full
jitter, and nothing else: a client error such as ``EntityNotFoundException`` is an
answer, raised at once exactly as botocore raised it. Pagination always asks for the
largest page the service model allows, so a list costs as few calls as the API permits.
Every call is counted per operation (logical calls and attempts) for benchmarks.

botocore's own retries are switched off in clients this module builds: two layers of
retries multiply (botocore's 3 attempts times ours), and botocore's retry quota would
stop retrying throttled calls exactly when a large read needs it.

It is thread-safe: boto3 clients are, and the counters sit behind a lock, so the
reader runs calls concurrently through ``map_concurrent``.
"""

from __future__ import annotations

import math
import random as _random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, TypeVar

import boto3
from botocore import xform_name
from botocore.config import Config
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotocoreConnectionError
from botocore.model import ListShape, StructureShape

from . import service_model
from .log_safety import keep_secrets_out_of_logs

T = TypeVar("T")
R = TypeVar("R")

# Error codes AWS services use for throttling; WorkMail answers ThrottlingException, the
# others are what the shared AWS front ends and older endpoints send.
THROTTLING_CODES = frozenset({
    "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded", "Throttling",
    "ThrottledException", "RequestThrottled", "RequestThrottledException", "SlowDown",
})
# Server-side failures that say nothing about the request itself, so the same request may succeed.
TRANSIENT_CODES = frozenset({
    "InternalFailure", "InternalServerError", "InternalError", "ServiceUnavailable",
    "ServiceUnavailableException", "RequestTimeout", "RequestTimeoutException",
})

DEFAULT_MAX_ATTEMPTS = 10
DEFAULT_BASE_DELAY = 0.1
DEFAULT_MAX_DELAY = 20.0
DEFAULT_MAX_WORKERS = 8
# The most calls in flight at once when the endpoint's latency calls for it (see ConcurrencyLimit).
MAX_CONCURRENCY = 64


def is_retryable(error: BaseException) -> bool:
    """Whether repeating the same request may succeed: throttling, 5xx or a connection failure."""
    if isinstance(error, ClientError):
        code = str(error.response.get("Error", {}).get("Code", ""))
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        return code in THROTTLING_CODES or code in TRANSIENT_CODES or status >= 500
    # Connection refused/reset, timeouts and closed connections: the request may never have
    # arrived. Repeating a write is safe for the reconciler because apply is idempotent.
    return isinstance(error, BotocoreConnectionError | HTTPClientError)


def is_throttling(error: BaseException) -> bool:
    return isinstance(error, ClientError) and str(error.response.get("Error", {}).get("Code", "")) in THROTTLING_CODES


def request_page_size(operation: str, service: str = "workmail") -> int | None:
    """The ``MaxResults`` to send: the largest the model allows, or None if the operation has none."""
    input_shape = service_model.operation(operation, service).input_shape
    if not isinstance(input_shape, StructureShape) or "MaxResults" not in input_shape.members:
        return None
    maximum = service_model.member_shape(operation, "MaxResults", service).metadata.get("max")
    return int(maximum) if maximum is not None else None


def page_size(operation: str, result_key: str, service: str = "workmail") -> int | None:
    """How many items one page can hold at most: ``MaxResults``'s maximum, bounded by the
    output list's own maximum (ListImpersonationRoles takes 100 but returns at most 20).
    None when one call returns everything."""
    requested = request_page_size(operation, service)
    output_shape = service_model.operation(operation, service).output_shape
    list_max: int | None = None
    if isinstance(output_shape, StructureShape):
        member = output_shape.members.get(result_key)
        if isinstance(member, ListShape) and member.metadata.get("max") is not None:
            list_max = int(member.metadata["max"])
    if requested is None:
        return None
    return requested if list_max is None else min(requested, list_max)


def pages(operation: str, result_key: str, items: int, service: str = "workmail") -> int:
    """Calls needed to list ``items`` items: at least one, one more per full page.

    Assumes no token after a last page that is exactly full (the emulator's behaviour);
    a service that sends one costs one more call for such lists.
    """
    size = page_size(operation, result_key, service)
    if size is None or items <= 0:
        return 1
    return max(1, math.ceil(items / size))


@dataclass
class CallCounts:
    """Calls made through a WorkMailApi, per operation.

    ``calls`` are logical calls (what the code asked for), ``attempts`` the requests sent
    (calls plus retries), ``sleep_seconds`` the time spent backing off.
    """

    calls: dict[str, int] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)
    sleep_seconds: float = 0.0

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    @property
    def total_attempts(self) -> int:
        return sum(self.attempts.values())

    @property
    def retries(self) -> int:
        return self.total_attempts - self.total_calls


class ConcurrencyLimit:
    """How many calls may be in flight at once: enough to hide the endpoint's latency, fewer
    when it throttles.

    A call costs the client some CPU (boto3 signs, serializes and parses: about a millisecond)
    and then waits for the answer. With calls of ``wall`` seconds of which ``cpu`` are spent
    computing, ``wall / cpu`` of them in flight keep the client busy; more only queue. The
    limit follows that ratio (a moving average, with headroom), one step at a time, between
    the caller's ``max_workers`` and ``maximum``. A throttled call halves it (and it stays
    down until as many calls have succeeded as it fell), as in TCP's congestion control.
    """

    def __init__(self, initial: int, maximum: int) -> None:
        self.floor = max(1, min(initial, maximum))
        self.maximum = maximum
        self.limit = self.floor
        self._active = 0
        self._ratio: float | None = None
        self._hold = 0
        self._condition = threading.Condition()

    def acquire(self) -> None:
        with self._condition:
            while self._active >= self.limit:
                self._condition.wait()
            self._active += 1

    def release(self, wall: float, cpu: float, *, throttled: bool = False) -> None:
        with self._condition:
            self._active -= 1
            if throttled:
                self.limit = max(1, self.limit // 2)
                self._hold = self.limit
            elif self._hold > 0:
                self._hold -= 1
            elif cpu > 0:
                ratio = wall / cpu
                self._ratio = ratio if self._ratio is None else 0.9 * self._ratio + 0.1 * ratio
                target = min(self.maximum, max(self.floor, math.ceil(self._ratio * 1.5)))
                if self.limit < target:
                    self.limit += 1
                elif self.limit > target:
                    self.limit -= 1
            self._condition.notify_all()


class WorkMailApi:
    """A boto3 WorkMail client with retries, full-page pagination and call counts.

    ``max_attempts`` counts the first attempt. The n-th retry waits a random time in
    ``[0, min(max_delay, base_delay * 2**(n-1)))`` ("full jitter": concurrent callers that
    were throttled together spread out instead of retrying in lockstep). ``sleep`` and
    ``random`` (a function returning a float in [0, 1)) are injectable for tests.
    """

    def __init__(
        self,
        client: Any,
        *,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        base_delay: float = DEFAULT_BASE_DELAY,
        max_delay: float = DEFAULT_MAX_DELAY,
        sleep: Callable[[float], None] = time.sleep,
        random: Callable[[], float] = _random.random,
        max_workers: int = DEFAULT_MAX_WORKERS,
        service: str = "workmail",
    ) -> None:
        keep_secrets_out_of_logs()
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, not {max_attempts}")
        if base_delay < 0 or max_delay < 0:
            raise ValueError(f"base_delay and max_delay must not be negative ({base_delay}, {max_delay})")
        if max_workers < 1:
            raise ValueError(f"max_workers must be at least 1, not {max_workers}")
        self.client = client
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_workers = max_workers
        self.service = service
        self._sleep = sleep
        self._random = random
        self._lock = threading.Lock()
        self._calls: Counter[str] = Counter()
        self._attempts: Counter[str] = Counter()
        self._slept = 0.0
        self.concurrency = ConcurrencyLimit(max_workers, max(max_workers, MAX_CONCURRENCY))

    @classmethod
    def create(
        cls,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        aws_access_key_id: str | None = None,
        aws_secret_access_key: str | None = None,
        aws_session_token: str | None = None,
        session: boto3.session.Session | None = None,
        max_workers: int = DEFAULT_MAX_WORKERS,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        **options: Any,
    ) -> WorkMailApi:
        """Build the client too: botocore's retries off, a connection pool for ``max_workers``.

        ``options`` go to the constructor (max_attempts, base_delay, max_delay, sleep, random).
        """
        config = Config(
            # total_max_attempts counts the first attempt; the older "max_attempts" key counts
            # retries only, so {"max_attempts": 1} would still let botocore retry once.
            retries={"total_max_attempts": 1, "mode": "standard"},
            # One connection per call in flight, plus headroom so a call never waits for a socket.
            max_pool_connections=max(10, max_workers, MAX_CONCURRENCY) + 2,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
        )
        # A session of its own: boto3's default session is not safe to share across threads.
        session = session or boto3.session.Session()
        client = session.client(
            "workmail", region_name=region, endpoint_url=endpoint_url, config=config,
            aws_access_key_id=aws_access_key_id, aws_secret_access_key=aws_secret_access_key,
            aws_session_token=aws_session_token,
        )
        return cls(client, max_workers=max_workers, **options)

    # Calls ----------------------------------------------------------------------

    def backoff(self, retry: int) -> float:
        """The wait before the ``retry``-th retry (1-based): full jitter under an exponential cap."""
        # The exponent is bounded so a large attempt count cannot overflow a float.
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** min(retry - 1, 64))
        return self._random() * ceiling

    def call(self, operation: str, **params: Any) -> dict[str, Any]:
        """Call ``operation`` (e.g. "ListUsers") with the service's member names.

        Retries throttling, server errors and connection failures up to ``max_attempts``
        in all, then raises the last error; any other error is raised at once, unchanged.
        """
        method = getattr(self.client, xform_name(operation))
        with self._lock:
            self._calls[operation] += 1
        attempt = 0
        while True:
            attempt += 1
            with self._lock:
                self._attempts[operation] += 1
            self.concurrency.acquire()
            started, cpu = time.monotonic(), time.thread_time()
            throttled = False
            try:
                result: dict[str, Any] = method(**params)
                return result
            except (ClientError, BotocoreConnectionError, HTTPClientError) as error:
                throttled = is_throttling(error)
                if attempt >= self.max_attempts or not is_retryable(error):
                    raise
                delay = self.backoff(attempt)
            finally:
                self.concurrency.release(time.monotonic() - started, time.thread_time() - cpu, throttled=throttled)
            with self._lock:
                self._slept += delay
            self._sleep(delay)

    def paginate(self, operation: str, result_key: str, *, page_size: int | None = None,
                 **params: Any) -> Iterator[Any]:
        """Every item of a list operation, asking for the largest page the model allows (or
        ``page_size``, for a caller that expects to stop after the first few items)."""
        size = request_page_size(operation, self.service)
        if size is not None:
            params["MaxResults"] = min(size, page_size) if page_size else size
        seen: set[str] = set()
        while True:
            page = self.call(operation, **params)
            yield from page.get(result_key) or []
            token = page.get("NextToken")
            if not token:
                return
            if token in seen:
                # A service bug must not become an endless loop of calls.
                raise RuntimeError(f"{operation} returned the same NextToken twice")
            seen.add(token)
            params["NextToken"] = token

    def list_all(self, operation: str, result_key: str, **params: Any) -> list[Any]:
        return list(self.paginate(operation, result_key, **params))

    def map_concurrent(self, fn: Callable[[T], R], items: Iterable[T], max_workers: int | None = None) -> list[R]:
        """``fn`` over ``items`` on enough threads for the most calls ``concurrency`` may let run."""
        return map_concurrent(fn, items, max_workers=max_workers or self.concurrency.maximum)

    # Counts ---------------------------------------------------------------------

    def call_counts(self) -> CallCounts:
        with self._lock:
            return CallCounts(dict(self._calls), dict(self._attempts), self._slept)

    def reset_counts(self) -> None:
        with self._lock:
            self._calls.clear()
            self._attempts.clear()
            self._slept = 0.0


def map_concurrent(fn: Callable[[T], R], items: Iterable[T], max_workers: int = DEFAULT_MAX_WORKERS) -> list[R]:
    """``[fn(item) for item in items]`` with at most ``max_workers`` running at once.

    Results come in input order. If a call raises, calls not yet started are cancelled,
    the running ones are waited for (so nothing keeps running behind the caller's back),
    and the first exception raised is re-raised.
    """
    work = list(items)
    if not work:
        return []
    if max_workers <= 1 or len(work) == 1:
        return [fn(item) for item in work]
    pool = ThreadPoolExecutor(max_workers=min(max_workers, len(work)), thread_name_prefix="workmail")
    try:
        futures: list[Future[R]] = [pool.submit(fn, item) for item in work]
        first_error: BaseException | None = None
        pending: set[Future[R]] = set(futures)
        while pending and first_error is None:
            done, pending = wait(pending, return_when=FIRST_EXCEPTION)
            failed = [f for f in done if f.exception() is not None]
            if failed:
                # Of those that failed in the same instant, report the earliest in input order.
                first_error = min(failed, key=futures.index).exception()
        if first_error is not None:
            for future in pending:
                future.cancel()
    finally:
        pool.shutdown(wait=True)
    if first_error is not None:
        raise first_error
    return [future.result() for future in futures]
