"""A job worker process for the multi-process tests: `python -m tests.jobs.worker URL LOG WORKER_ID`.

It runs the real JobQueue with short leases and appends one line per handler execution to LOG (O_APPEND, so
lines of several processes never interleave), until SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal

from labelbot.config import JobSettings
from labelbot.db import create_engine, create_sessionmaker
from labelbot.jobs import JobContext, JobQueue, store

KIND = "test.append"


async def main(
    url: str,
    log_path: str,
    worker_id: str,
    *,
    lease: float,
    sweep: float,
    handler_seconds: float,
    concurrency: int,
) -> None:
    engine = create_engine(url)
    queue = JobQueue(
        create_sessionmaker(engine),
        JobSettings(lease_seconds=lease, sweep_seconds=sweep, max_attempts=5, retry_base_seconds=0.05),
        worker_id=worker_id,
        concurrency=concurrency,
    )
    descriptor = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    async def append(ctx: JobContext) -> None:
        os.write(descriptor, f"{ctx.id} {worker_id}\n".encode())
        await asyncio.sleep(handler_seconds)

    queue.register(KIND, append)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await queue.start()
    print("ready", flush=True)
    await stop.wait()
    await queue.stop(timeout=5)
    os.close(descriptor)
    await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("log_path")
    parser.add_argument("worker_id")
    parser.add_argument("--lease", type=float, default=1.0)
    parser.add_argument("--sweep", type=float, default=0.5)
    # Stand in for a process on another machine: the survivors can't see its pid is gone, only its silent heartbeat.
    parser.add_argument("--host", default=None)
    parser.add_argument("--handler-seconds", type=float, default=0.005)
    # Batches of claims, but small enough that one process cannot take the whole table in its first claim.
    parser.add_argument("--concurrency", type=int, default=100)
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if arguments.host:
        store.HOST = arguments.host
    asyncio.run(
        main(
            arguments.url,
            arguments.log_path,
            arguments.worker_id,
            lease=arguments.lease,
            sweep=arguments.sweep,
            handler_seconds=arguments.handler_seconds,
            concurrency=arguments.concurrency,
        )
    )
