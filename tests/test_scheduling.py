"""Scheduling for real: a Prefect server on a loopback port, the repository's deployments, the scheduler
service creating runs, and a worker running one. Everything lives under tmp_path (PREFECT_HOME, the
server's database, copies of prefect.yaml and flows/)."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PREFECT = str(Path(sys.executable).with_name("prefect"))

TINY_FLOW = '''
from pathlib import Path
from prefect import flow

@flow(name="tick")
def tick(out: str) -> str:
    Path(out).mkdir(parents=True, exist_ok=True)
    (Path(out) / "ran").write_text("ok")
    return "ok"
'''

# Runs in the project's environment against the test server: a 2-second interval deployment of `tick`.
DEPLOY_TICK = '''
import sys
from datetime import timedelta
from prefect import flow
deployment = flow.from_source(source=sys.argv[1], entrypoint="tick.py:tick")
deployment.deploy(name="every-2s", work_pool_name="ocr-process", interval=timedelta(seconds=2),
                  parameters={"out": sys.argv[2]}, print_next_steps=False)
'''

# Counts flow runs per deployment (and their states) on the test server; prints JSON.
COUNT_RUNS = '''
import asyncio, json
from prefect.client.orchestration import get_client

async def main():
    async with get_client() as client:
        names = {d.id: d.name for d in await client.read_deployments()}
        runs = await client.read_flow_runs(limit=200)
        out = {}
        for r in runs:
            key = names.get(r.deployment_id, "none")
            out.setdefault(key, []).append(r.state.type.value if r.state else "NONE")
        print(json.dumps(out))

asyncio.run(main())
'''


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen, grace: float = 30) -> None:
    """End a process group started with `start_new_session`: SIGTERM, then SIGKILL if it has not exited within
    `grace` seconds (a worker shutting down on a loaded machine can take longer)."""
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _wait(predicate, timeout: float, what: str, interval: float = 1.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.fixture
def prefect_server(tmp_path):
    """A real `prefect server start` on a free loopback port with its own home and database; yields env."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update({
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_ENABLED": "false",
        "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "2",
        "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED": "false",
        "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{tmp_path / 'prefect.db'}",
    })
    log = open(tmp_path / "server.log", "w")
    server = subprocess.Popen([PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                              env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def healthy() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as r:
                return r.status == 200
        except OSError:
            assert server.poll() is None, (tmp_path / "server.log").read_text()[-3000:]
            return False

    try:
        _wait(healthy, 180, "the Prefect server to answer /api/health")
        yield env
    finally:
        _stop(server)
        log.close()
        errors = server_tracebacks((tmp_path / "server.log").read_text())
        assert not errors, f"the server logged {len(errors)} tracebacks; see {tmp_path / 'server.log'}"


# SQLite lock contention on a loaded machine: the server's periodic services hit it now and then and retry on
# their next cycle (Prefect's own SQLite busy timeout is 60 s; the lock is refused at once when a reader must
# upgrade to a writer). A lock is the machine's load, not a fault of the deployment under test.
TRANSIENT = ("(sqlite3.OperationalError) database is locked", "sqlite3.OperationalError: database is locked")


def server_tracebacks(log: str) -> list[str]:
    """The traceback chains of a server log, one per log record (an exception with those it was raised from or
    while handling), but for chains that a transient SQLite lock set off: a lock during a worker's heartbeat
    closes its channel, and the close can fail in turn."""
    records = re.split(r"\n(?=\d\d:\d\d:\d\d\.\d+ \| |[A-Z]+: )", log)
    chains = [r for r in records if "Traceback (most recent call last):" in r]
    return [c for c in chains if not any(t in c for t in TRANSIENT)]


def _cli(env, *args, cwd=None, timeout=180):
    done = subprocess.run([PREFECT, "--no-prompt", *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, f"prefect {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def _runs(env) -> dict[str, list[str]]:
    done = subprocess.run([sys.executable, "-c", COUNT_RUNS], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


POOLS = ("ocr-process", "ocr-gpu")  # prefect.yaml's work pools


def _deploy_project(env, tmp_path) -> Path:
    """The repository's own deployments, as an operator registers them (from a copy: deploying writes nothing
    here), after creating their work pools; returns the copy."""
    for pool in POOLS:
        _cli(env, "work-pool", "create", pool, "--type", "process")
    project = tmp_path / "project"
    shutil.copytree(ROOT / "flows", project / "flows", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "prefect.yaml", project / "prefect.yaml")
    _cli(env | {"PYTHONPATH": str(project)}, "deploy", "--all", cwd=project, timeout=300)
    return project


def test_scheduler_creates_runs_and_a_worker_runs_one(prefect_server, tmp_path):
    env = prefect_server
    _deploy_project(env, tmp_path)
    # And a flow due every 2 seconds, for a worker to pick up.
    source = tmp_path / "tick"
    source.mkdir()
    (source / "tick.py").write_text(TINY_FLOW)
    out = tmp_path / "tick-out"
    done = subprocess.run([sys.executable, "-c", DEPLOY_TICK, str(source), str(out)], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]

    # The scheduler service creates runs for the interval deployment and for the nightly cron.
    runs = _wait(lambda: (r := _runs(env)) and len(r.get("every-2s", [])) >= 2 and r.get("nightly") and r, 90,
                 "the scheduler to create runs")
    assert set(runs["nightly"]) == {"SCHEDULED"}

    # A worker picks a due run up and runs it to completion.
    worker = subprocess.run([PREFECT, "worker", "start", "--pool", "ocr-process", "--run-once"], env=env,
                            capture_output=True, text=True, timeout=240)
    assert worker.returncode == 0, worker.stdout[-3000:] + worker.stderr[-3000:]
    assert (out / "ran").read_text() == "ok"
    assert "COMPLETED" in _runs(env)["every-2s"]


def test_the_train_step_runs_on_the_gpu_pools_worker(prefect_server, tmp_path):
    """A process worker per pool, as a CPU and a GPU machine would run them: the pipeline deployment runs on
    the CPU pool and hands its train step to `train/gpu`, which the GPU pool's worker runs."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName
    from prefect.client.schemas.objects import WorkPoolStatus
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    pools = POOLS
    data = tmp_path / "data"
    env = prefect_server | {"OCRCORE_DATA_DIR": str(data), "PREFECT_WORKER_QUERY_SECONDS": "1",
                            "PREFECT_WORKER_HEARTBEAT_SECONDS": "2"}
    env.pop("MLFLOW_TRACKING_URI", None)
    project = _deploy_project(env, tmp_path)
    workers = [subprocess.Popen([PREFECT, "worker", "start", "--pool", pool], cwd=project,
                                env=env | {"PYTHONPATH": str(project)}, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True) for pool in pools]
    try:
        with temporary_settings({PREFECT_API_URL: env["PREFECT_API_URL"]}), get_client(sync_client=True) as client:
            _wait(lambda: all(client.read_work_pool(p).status == WorkPoolStatus.READY for p in pools), 120,
                  "both workers to come online")
            run = run_deployment("pipeline/captcha-crnn", timeout=600, poll_interval=2, parameters={
                "params": {"width": 80, "height": 30, "font_sizes": [24]}, "train_size": 48, "val_size": 8,
                "test_size": 8, "config": {"epochs": 1, "batch_size": 16, "workers": 0}, "min_accuracy": 0.0})
            assert run.state.is_completed(), run.state.message
            steps = client.read_flow_runs(deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=["gpu"])))
    finally:
        for worker in workers:
            _stop(worker)
    assert run.work_pool_name == "ocr-process"
    assert len(steps) == 1 and steps[0].work_pool_name == "ocr-gpu" and steps[0].state.is_completed()
    # The CPU side registered the weights the GPU side trained, from the train step's MLflow run.
    from mlflow import MlflowClient

    from ocrcore.tracking import model_name

    version = MlflowClient(f"sqlite:///{data / 'mlflow.db'}").get_model_version(model_name("captcha", "crnn"), "1")
    assert version.tags["run_id"] == steps[0].parameters["run_id"]
