"""Which runner executes a job: the one asked for, except that a DirectRunner job never waits
on the network.

Beam 2.77's DirectRunner first tries the Prism runner, whose binary it downloads from the internet,
and only falls back to the in-process FnApiRunner when that fails. Jobs here, batch and streaming, go
straight to the FnApiRunner (with the same ``--direct_num_workers`` and ``--direct_running_mode``), so a run is
offline and starts at once. Any other runner is passed through untouched.

That FnApiRunner also merges each bundle's metrics into a lazy chain of generators, one level per bundle,
evaluated when the finished job's metrics are read: after a streaming job of a few minutes (a bundle per
poll tick, more downstream) the run summary failed with RecursionError (tests/test_beam_defects.py).
``_FnApiRunner`` merges them at every bundle instead.
"""

from __future__ import annotations

from apache_beam.metrics import monitoring_infos
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions, WorkerOptions
from apache_beam.runners.portability.fn_api_runner import fn_runner

DIRECT_NAMES = {None, "DirectRunner", "direct", "SwitchingDirectRunner"}


def offline_runner(options: PipelineOptions):
    """A runner instance for DirectRunner jobs, or None to let Beam pick the requested runner."""
    standard = options.view_as(StandardOptions)
    if standard.runner not in DIRECT_NAMES:
        return None
    from apache_beam.portability.api import beam_provision_api_pb2
    from apache_beam.runners.portability.portable_runner import JobServiceHandle

    encoded = JobServiceHandle.encode_pipeline_options(options.get_all_options())
    provision = fn_runner.ExtendedProvisionInfo(beam_provision_api_pb2.ProvisionInfo(pipeline_options=encoded))
    return _FnApiRunner(provision_info=provision)


def _consolidate_now(metrics):
    return list(monitoring_infos.consolidate(metrics))


class _FnApiRunner(fn_runner.FnApiRunner):
    """The FnApiRunner, merging metrics at every bundle. ``run_stages`` builds the chain through the module's
    ``consolidate_monitoring_infos``, so that name is swapped for the run (the merge itself is unchanged)."""

    def run_stages(self, stage_context, stages):
        lazy = fn_runner.consolidate_monitoring_infos
        fn_runner.consolidate_monitoring_infos = _consolidate_now
        try:
            return super().run_stages(stage_context, stages)
        finally:
            fn_runner.consolidate_monitoring_infos = lazy


# Worker-side loggers whose set-up chatter (options the worker's Beam does not know, no persistent
# directory) says nothing about the job.
WORKER_CHATTER = {"__main__": "ERROR", "apache_beam.options.pipeline_options": "ERROR"}


def quiet_workers(options: PipelineOptions) -> None:
    """Multi-process DirectRunner workers log at INFO to the command's stderr: harness set-up, channels,
    exit, a dozen lines each. Unless the options already say, they log warnings and errors only (``-vv``
    leaves Beam's defaults alone). Other runners' workers log where their operators look: untouched."""
    if options.view_as(StandardOptions).runner not in DIRECT_NAMES:
        return
    harness = options.view_as(WorkerOptions)
    if harness.default_sdk_harness_log_level is None:
        harness.default_sdk_harness_log_level = "WARNING"
    if harness.sdk_harness_log_level_overrides is None:
        harness.sdk_harness_log_level_overrides = dict(WORKER_CHATTER)
