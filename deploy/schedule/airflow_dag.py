"""Airflow: the batch pipeline every night on Dataflow, launched from the Flex Template of deploy/dataflow.

The template's image (deploy/dataflow/Dockerfile: this project's wheel with the [gcp] extra, at the lock's
versions) is both the launcher and the workers' image, so Airflow installs nothing of the project: it needs
only ``apache-airflow-providers-google``. Build, push and register the template first (deploy/README.md).
"""

from __future__ import annotations

import pendulum
from airflow import DAG
from airflow.providers.google.cloud.operators.dataflow import DataflowStartFlexTemplateOperator

IMAGE = "europe-docker.pkg.dev/news/news/news-ingest:0.1.0"  # built from deploy/dataflow/Dockerfile
TEMPLATE = "gs://news-dataset/templates/news-ingest.json"  # gcloud dataflow flex-template build ... (deploy/README.md)

PIPELINE_OPTIONS = {  # the template's parameters (deploy/dataflow/metadata.json), passed as --name=value
    "input": "gs://news-raw/incoming/{{ ds }}/*.jsonl.gz",
    "output": "gs://news-dataset/dataset",
    "write_mode": "append",
    "dedupe_horizon": "30d",  # copies of articles written by the last 30 days' runs become duplicates
    "sdk_container_image": IMAGE,
}

with DAG(
    dag_id="news_ingest",
    schedule="30 1 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["news", "beam"],
) as dag:
    DataflowStartFlexTemplateOperator(
        task_id="ingest",
        project_id="news",
        location="europe-west1",
        body={
            "launchParameter": {
                "jobName": "news-ingest-{{ ds_nodash }}",
                "containerSpecGcsPath": TEMPLATE,
                "parameters": PIPELINE_OPTIONS,
                "environment": {"tempLocation": "gs://news-dataset/tmp"},
            }
        },
        wait_until_finished=True,
    )
