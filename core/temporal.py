"""The one way to reach Temporal, shared by the worker, the API and the tools.

Payloads go through the pydantic converter and are encrypted by the payload codec, so the
history Temporal stores holds no child data in clear.
"""

import dataclasses

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from core.payload_crypto import codec_from_settings
from core.settings import Settings


def data_converter(settings: Settings) -> DataConverter:
    # Failure messages and stack traces can quote what failed (an outcome, a note), so they are
    # encoded into payloads too and encrypted; failure types stay readable for the API.
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=codec_from_settings(settings),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def metrics_runtime(settings: Settings) -> Runtime | None:
    """A runtime exporting the SDK's metrics, and the workflows' own, for Prometheus at
    WORKER_METRICS_HOST:WORKER_METRICS_PORT; None when no port is set."""
    if settings.worker_metrics_port is None:
        return None
    address = f"{settings.worker_metrics_host}:{settings.worker_metrics_port}"
    prometheus = PrometheusConfig(bind_address=address, durations_as_seconds=True)
    return Runtime(telemetry=TelemetryConfig(metrics=prometheus))


async def connect(
    settings: Settings, *, lazy: bool = False, runtime: Runtime | None = None
) -> Client:
    """A client; `lazy` ones connect on first use, so the API can start before Temporal."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings),
        lazy=lazy,
        runtime=runtime,
    )
