"""Generate the OTLP JSON fixtures with real OpenTelemetry GenAI instrumentation.

    .venv-otel/bin/python tests/otlp_fixtures/generate.py [--out tests/fixtures/otlp]

Runs the OpenAI Python client against a fake OpenAI-compatible server on 127.0.0.1 three times, each
in its own process: instrumented by opentelemetry-instrumentation-openai-v2 (message content
on the spans; the agent, retrieval and tool spans through opentelemetry-util-genai) into
`openai_v2.jsonl`; the same with the content in log records instead
(`gen_ai.client.inference.operation.details`) into `openai_v2_events.jsonl`; and by
OpenLLMetry's opentelemetry-instrumentation-openai into `openllmetry.jsonl`. All export through
opentelemetry-exporter-otlp-json-file: one `TracesData` (or `LogsData`) object a line, one line
per scenario and signal (the tool turn's trace spans two lines).
Ids, timestamps and the server's port differ from run to run; the shape does not.
Needs the packages of tests/otlp_fixtures/requirements.txt (`make otlp-fixtures`).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE.parent / "fixtures" / "otlp"
RUNS = {
    "openai-v2": "openai_v2.jsonl",
    "openai-v2-events": "openai_v2_events.jsonl",
    "openllmetry": "openllmetry.jsonl",
}
SETTINGS = {
    "openai-v2": {
        "OTEL_SEMCONV_STABILITY_OPT_IN": "gen_ai_latest_experimental",
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "SPAN_ONLY",
    },
    # The content as log records (gen_ai.client.inference.operation.details) instead of on
    # the spans; logs and traces written to one file, as one Collector file exporter does.
    "openai-v2-events": {
        "OTEL_SEMCONV_STABILITY_OPT_IN": "gen_ai_latest_experimental",
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "EVENT_ONLY",
        "OTEL_INSTRUMENTATION_GENAI_EMIT_EVENT": "true",
    },
    "openllmetry": {"TRACELOOP_TRACE_CONTENT": "true", "TRACELOOP_METRICS_ENABLED": "false"},
}
SERVICE = {
    "service.name": "support-assistant",
    "service.version": "1.4.0",
    "deployment.environment.name": "fixtures",
}


def _record(run: str, out_file: Path) -> None:
    """In this process: instrument the client the `run` way and play every scenario."""
    import openai
    from fake_server import FakeOpenAI
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.json.file import FileSpanExporter
    from opentelemetry.exporter.otlp.json.file._log_exporter import FileLogExporter
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from scenarios import WeightsStamp, run_all

    resource = Resource.create(SERVICE)
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(WeightsStamp())
    # Exported only when flushed (in this thread): one line per scenario, whatever the
    # machine's speed; the spans' line before the logs' line.
    later = 3_600_000
    provider.add_span_processor(
        BatchSpanProcessor(FileSpanExporter(out_file), schedule_delay_millis=later)
    )
    trace.set_tracer_provider(provider)
    logs = LoggerProvider(resource=resource)
    logs.add_log_record_processor(
        BatchLogRecordProcessor(FileLogExporter(out_file), schedule_delay_millis=later)
    )
    genai = None
    if run.startswith("openai-v2"):
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor as V2
        from opentelemetry.util.genai.handler import TelemetryHandler

        V2().instrument(tracer_provider=provider, logger_provider=logs)
        genai = TelemetryHandler(tracer_provider=provider, logger_provider=logs)
    else:
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor as LLMetry

        LLMetry().instrument(tracer_provider=provider, logger_provider=logs)

    def flush() -> None:
        if not (provider.force_flush(30_000) and logs.force_flush(30_000)):
            raise RuntimeError("a batch processor did not flush in 30 s")

    with FakeOpenAI() as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="sk-fixture", max_retries=0)
        run_all(client, flush, genai)
    provider.shutdown()
    logs.shutdown()


def generate(out_dir: Path, runs: list[str] | None = None) -> list[Path]:
    """Each run in a fresh process of this interpreter, into `out_dir`; the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for run in runs or list(RUNS):
        out_file = out_dir / RUNS[run]
        partial = out_file.with_name(out_file.name + ".partial")
        partial.unlink(missing_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "TRACELOOP_"))}
        env.update(SETTINGS[run])
        command = [sys.executable, str(Path(__file__).resolve()), "--record", run, str(partial)]
        subprocess.run(command, env=env, check=True, timeout=300)
        if not partial.stat().st_size:
            raise RuntimeError(f"the {run} run exported no spans")
        partial.replace(out_file)
        written.append(out_file)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="directory to write into")
    parser.add_argument("--run", choices=sorted(RUNS), action="append", help="only this run")
    parser.add_argument("--record", nargs=2, metavar=("RUN", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.record:
        _record(args.record[0], Path(args.record[1]))
        return
    for path in generate(args.out, args.run):
        print(path)


if __name__ == "__main__":
    main()
