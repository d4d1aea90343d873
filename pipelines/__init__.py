"""The pipelines: ``python -m pipelines.run`` (the command), ``pipelines.report`` (an HTML report),
``run_pipeline`` (the command as a function, for notebooks) and ``read_table`` (a committed table as Arrow)."""

import logging


class _WithoutGcpClientNotice(logging.Filter):
    """Beam warns at import that Google's bigquery client is missing; nothing here uses it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "apitools not found" not in record.getMessage()


logging.getLogger().addFilter(_WithoutGcpClientNotice())  # before any module of ours imports Beam


def __getattr__(name: str):
    if name == "run_pipeline":  # imported on use: ``import pipelines.options`` must not load the whole run
        from pipelines.run import run_pipeline

        return run_pipeline
    if name == "read_table":  # the committed version of a table, as Arrow (transforms.sink.read)
        from transforms.sink.read import read_table

        return read_table
    raise AttributeError(name)


__all__ = ["read_table", "run_pipeline"]
