"""Prometheus metrics, one registry per bot so a restart in the same process starts from a clean slate."""

from __future__ import annotations

import platform

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
)

from labelbot import __version__

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0)


class Metrics:
    """What /metrics shows: commands, interaction latency, scheduled work, gateway latency."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        # The process (CPU, memory, open files), Python (version, garbage collection) collectors of the client
        # library; they read the process itself, so the same objects serve every registry.
        for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
            self.registry.register(collector)
        self.build = Info("labelbot_build", "The running Labelbot: its version and Python's.", registry=self.registry)
        self.build.info({"version": __version__, "python": platform.python_version()})
        self.command_latency = Histogram(
            "labelbot_command_latency_seconds",
            "Time from receiving a slash command to finishing handling it, by command.",
            ["command"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.commands = Counter(
            "labelbot_commands",
            "App commands and components handled, by name and outcome.",
            ["command", "outcome"],
            registry=self.registry,
        )
        self.interaction_latency = Histogram(
            "labelbot_interaction_latency_seconds",
            "Time from receiving an interaction to finishing handling it.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.jobs = Counter(
            "labelbot_jobs",
            "Scheduled jobs finished, by kind and outcome (done, failed, skipped).",
            ["kind", "outcome"],
            registry=self.registry,
        )
        self.job_delay = Histogram(
            "labelbot_job_completion_delay_seconds",
            "Time from when a scheduled job was due to when it finished, by kind.",
            ["kind"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0, 60.0, 300.0, 3600.0),
            registry=self.registry,
        )
        self.jobs_due = Gauge(
            "labelbot_jobs_due",
            "Pending jobs already due (a growing number means the dispatcher is behind).",
            registry=self.registry,
        )
        self.gateway_latency = Gauge(
            "labelbot_gateway_latency_seconds",
            "Heartbeat latency of the gateway connection (mean over shards).",
            registry=self.registry,
        )
