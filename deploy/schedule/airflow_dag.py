"""Airflow: the batch pipeline every night on Dataflow, through the Apache Beam provider.

Needs ``apache-airflow-providers-apache-beam`` (and ``-google`` for Dataflow) where Airflow runs, and this
project installed in the environment that launches the pipeline (``py_requirements``).
"""

from __future__ import annotations

import pendulum
from airflow import DAG
from airflow.providers.apache.beam.operators.beam import BeamRunPythonPipelineOperator

PIPELINE_OPTIONS = {
    "input": "gs://news-raw/incoming/{{ ds }}/*.jsonl.gz",
    "output": "gs://news-dataset/dataset",
    "write_mode": "append",
    "dedupe_horizon": "30d",  # copies of articles written by the last 30 days' runs become duplicates
    "temp_location": "gs://news-dataset/tmp",
    "sdk_container_image": "europe-docker.pkg.dev/news/news/news-ingest:0.1.0",
}

with DAG(
    dag_id="news_ingest",
    schedule="30 1 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["news", "beam"],
) as dag:
    BeamRunPythonPipelineOperator(
        task_id="ingest",
        runner="DataflowRunner",
        py_file="pipelines.run",
        py_options=["-m"],  # the operator runs: python -m pipelines.run --input=... --output=...
        pipeline_options=PIPELINE_OPTIONS,
        py_requirements=["news-ingest==0.1.0"],
        py_interpreter="python3.11",
        py_system_site_packages=False,
        dataflow_config={"job_name": "news-ingest-{{ ds_nodash }}", "location": "europe-west1", "wait_until_finished": True},
    )
