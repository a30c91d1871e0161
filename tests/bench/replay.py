"""Replay overhead: 1,000 inputs against a local chat server that answers in 50 ms, at
concurrency 8. Ideal = 1000 * 50 ms / 8 = 6.25 s; target < 5 % over. The server (an asyncio
server in its own process) reports its own busy time, so what is left is the client's.

    .venv/bin/python -m tests.bench.replay [--inputs 1000] [--delay-ms 50] [--concurrency 8]
                                           [--runs 5]

Each run has its own server; the overhead is each run's time over the ideal, and the client's
share each run's time less its own server's busy time (paired run by run). Prints each run,
then min / median / max.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time

from tests.bench.figures import NeverHappened, spread
from tests.replay_server import ChatServer

from thirdbook.config import ReplayEndpointConfig, ReplayExtractConfig
from thirdbook.domain.events import Prompt
from thirdbook.domain.replay_payload import chat_messages
from thirdbook.forensics.replay_endpoints import HttpEndpoint
from thirdbook.forensics.replay_runner import ReplayAnswer, ReplayInput, run_replay


async def bench_once(n: int, delay_ms: float, concurrency: int) -> dict[str, float]:
    """One run against its own server: seconds taken, client CPU, failures and the server's
    own figures."""
    items = [
        ReplayInput(f"req-{i}", chat_messages(Prompt(system="score", user=f"applicant {i}")))
        for i in range(n)
    ]
    failures = 0

    async def sink(answer: ReplayAnswer) -> None:
        nonlocal failures
        failures += answer.error is not None

    server = subprocess.Popen(
        [sys.executable, "-m", "tests.bench.replay", "--serve", str(delay_ms)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdin is not None and server.stdout is not None
    try:
        said = server.stdout.readline()  # its port, once it listens (it waits for nothing else)
        if not said.strip().isdigit():
            raise NeverHappened(f"the chat server did not start (it said {said!r})")
        port = int(said)
        url = f"http://127.0.0.1:{port}/v6/v1"
        config = ReplayEndpointConfig(url=url, timeout_s=30)
        ep = HttpEndpoint("v6", config, seed=7, retries=3, max_answer_bytes=1 << 20)
        cpu = time.process_time()
        started = time.perf_counter()
        await run_replay(
            items, [ep], concurrency=concurrency, extract=ReplayExtractConfig(), sink=sink
        )
        took = time.perf_counter() - started
        cpu = time.process_time() - cpu
        await ep.aclose()
        server.stdin.close()
        stats = json.loads(server.stdout.readline())
    finally:
        server.terminate()
        server.wait()
    return {
        "took": took,
        "cpu": cpu,
        "failures": failures,
        "busy_s": stats["busy_s"],
        "requests": stats["requests"],
        "max_in_flight": stats["max_in_flight"],
        "server_cpu": stats["cpu_s"],
    }


async def bench(n: int, delay_ms: float, concurrency: int, runs: int) -> None:
    ideal = n * delay_ms / 1000 / concurrency
    print(f"inputs           {n}")
    print(f"server delay     {delay_ms:g} ms, concurrency {concurrency}")
    print(f"ideal            {ideal:.3f} s  (inputs x delay / concurrency)")
    done = []
    for run in range(runs):
        r = await bench_once(n, delay_ms, concurrency)
        done.append(r)
        over = f", overhead {100 * (r['took'] - ideal) / ideal:.2f} %" if ideal else ""
        print(
            f"run {run + 1}: took {r['took']:.3f} s{over}, {r['failures']:.0f} failures, "
            f"server busy {r['busy_s'] / concurrency:.3f} s, client CPU {r['cpu']:.3f} s "
            f"({r['requests']:.0f} requests, at most {r['max_in_flight']:.0f} at once)",
            flush=True,
        )
    took = [r["took"] for r in done]
    print(f"failures         {sum(r['failures'] for r in done):.0f} in all")
    print(f"took             {spread(took, '.3f', 's')}")
    if ideal:
        overheads = [100 * (t - ideal) / ideal for t in took]
        print(f"overhead         {spread(overheads, '.2f', '%')} (target < 5 %)")
    served = [r["busy_s"] / concurrency for r in done]
    print(f"server busy      {spread(served, '.3f', 's')}")
    rest = [t - s for t, s in zip(took, served, strict=True)]
    print(f"the rest         {spread(rest, '.3f', 's')}  (the client's, and waiting for a CPU)")
    print(f"client CPU       {spread([1000 * r['cpu'] / n for r in done], '.2f', 'ms a request')}")
    print(f"server CPU       {spread([r['server_cpu'] for r in done], '.3f', 's')}  (its life)")
    print(f"load average     {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def serve(delay_ms: float) -> None:
    """The server in its own process (so its Python does not share the client's GIL): its
    port on stdout, then, when stdin closes, what it measured as one JSON line."""
    with ChatServer(lambda v, b: "approve", delay_s=delay_ms / 1000) as chat:
        print(chat.port, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            sys.stdin.read()
        span = 0.0 if chat.first_at is None else (chat.last_at or chat.first_at) - chat.first_at
        stats = {"requests": chat.requests, "busy_s": chat.busy_s, "span_s": span}
        stats["max_in_flight"] = chat.max_in_flight
        stats["cpu_s"] = time.process_time()
        print(json.dumps(stats), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--inputs", type=int, default=1000)
    parser.add_argument("--delay-ms", type=float, default=50)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--serve", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        serve(args.serve)
        return
    if args.inputs < 1 or args.runs < 1 or args.concurrency < 1:
        parser.error("--inputs, --runs and --concurrency must each be at least 1")
    try:
        asyncio.run(bench(args.inputs, args.delay_ms, args.concurrency, args.runs))
    except NeverHappened as exc:
        sys.exit(f"replay benchmark: {exc}")


if __name__ == "__main__":
    main()
