"""The route class of every router: a sync endpoint takes one trip to a worker thread.

FastAPI runs a sync endpoint in a worker thread and then, when the endpoint returns data
rather than a `Response`, validates that data in a second trip to the thread pool
(`fastapi.routing.serialize_response`) before serialising it on the event loop. Under load
each trip waits in line for one of the worker's threads (`jiareg serve --threads`): in
bench_web on PostgreSQL a save's second wait was 56 ms at the median. `OneTrip` hands
FastAPI a coroutine that runs the sync endpoint in one trip, so the answer is checked on the
event loop, beside its serialisation. Routes that return a `Response` behave as before.

(Record writes on threads of their own, so that a save would not wait behind page views,
were tried and measured worse: bench_web on PostgreSQL, 2 workers, 290 against 500
requests/s; the saves then waited for each other.)
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

__all__ = ["OneTrip", "router"]


class OneTrip(APIRoute):
    """An `APIRoute` whose sync endpoint runs in one worker-thread trip (module docstring)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = _in_thread(endpoint)
        super().__init__(path, endpoint, **kwargs)


def _in_thread(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """`endpoint` as a coroutine function with its signature (FastAPI reads the parameters
    and their annotations through `__wrapped__`)."""

    @functools.wraps(endpoint)
    async def call(**arguments: Any) -> Any:
        return await run_in_threadpool(endpoint, **arguments)

    return call


def router(**kwargs: Any) -> APIRouter:
    """`APIRouter(**kwargs)` with `OneTrip` routes."""
    return APIRouter(route_class=OneTrip, **kwargs)
