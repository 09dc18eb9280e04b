import io
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from ocrcore.tracking import compare_and_promote, configure, model_name, resolve_serving_model
from tests.prereq import require_pretrained

TINY = {"width": 80, "height": 30, "font_sizes": (24,)}
FAST = {"epochs": 1, "batch_size": 16, "workers": 0}


def test_generate_tasks_run_without_prefect(tmp_path):
    from flows.generate import finish, plan_dataset, write_shard

    plan = plan_dataset.fn("captcha", str(tmp_path), {"train": 6, "test": 3}, 0, TINY, 4)
    checksums = dict(write_shard.fn(job) for job in plan.todo)
    manifest = finish.fn(plan, checksums)
    assert manifest["status"] == "complete" and len(checksums) == 3


def test_generate_flow_reuses_its_dataset(prefect_harness, store):
    from flows.generate import generate

    first = generate("captcha", 24, 6, 6, params=TINY, shard_size=8)
    shard = Path(first) / "train" / "shard-00000.npz"
    mtime = shard.stat().st_mtime_ns
    second = generate("captcha", 24, 6, 6, params=TINY, shard_size=8)
    assert first == second and shard.stat().st_mtime_ns == mtime  # same inputs, same folder, nothing redone
    assert generate("captcha", 24, 6, 6, params=TINY, seed=1, shard_size=8) != first


def test_pipeline_registers_and_champion_moves_only_on_improvement(prefect_harness, store):
    from mlflow import MlflowClient

    from flows.pipeline import pipeline

    result = pipeline("captcha", "crnn", params=TINY, train_size=48, val_size=8, test_size=8, config=FAST,
                      min_accuracy=0.0)
    assert result["version"] == "1" and result["promoted"]
    configure()
    name = model_name("captcha", "crnn")
    client = MlflowClient()
    source = client.get_model_version(name, "1").source
    worse = compare_and_promote(name, source, score=0.1, score_champion=lambda _: 0.2)
    assert not worse.promoted and "does not beat" in worse.reason
    assert client.get_model_version(name, worse.version).tags["status"] == "challenger"
    assert resolve_serving_model("captcha", "crnn").version == "1"
    better = compare_and_promote(name, source, score=0.9, score_champion=lambda _: 0.5)
    assert better.promoted and resolve_serving_model("captcha", "crnn").version == better.version
    served = resolve_serving_model("captcha", "crnn")
    assert served.alias == "champion" and served.checkpoint.suffix == ".pt"

    # Real images: a version that beats the champion's score but reads fewer real images is not promoted.
    from ocrcore.tracking import RealGate

    champion_reads = []
    fewer = compare_and_promote(name, source, score=0.95, score_champion=lambda _: 0.9,
                                real=RealGate(10, 7, lambda path: champion_reads.append(path) or 8))
    assert not fewer.promoted and "reads 7 of the 10 real images, the champion 8" in fewer.reason
    assert client.get_model_version(name, fewer.version).tags["real_read"] == "7 of 10"
    assert champion_reads == [served.checkpoint]  # the champion counted on the same images
    as_many = compare_and_promote(name, source, score=0.95, score_champion=lambda _: 0.9,
                                  real=RealGate(10, 8, lambda _: 8))
    assert as_many.promoted and resolve_serving_model("captcha", "crnn").version == as_many.version

    # The floor: below it a version is never promoted, not even as the first one, and never served.
    low = compare_and_promote(name, source, score=0.5, score_champion=lambda _: 0.0, floor=0.9)
    assert not low.promoted and "below the floor" in low.reason
    assert client.get_model_version(name, low.version).tags["status"] == "rejected"
    first = compare_and_promote(model_name("captcha", "crnn_cnn"), source, score=0.0, score_champion=lambda _: 0.0,
                                floor=0.9)
    assert not first.promoted and "below the floor" in first.reason
    with pytest.raises(LookupError, match="floor"):
        resolve_serving_model("captcha", "crnn_cnn")
    from ocrcore.tracking import served_models

    assert served_models() == [("captcha", "crnn")]  # what retrain_all retrains: models with a champion


def test_pipeline_applies_the_task_floor(prefect_harness, store):
    from flows.pipeline import pipeline

    result = pipeline("captcha", "crnn", params=TINY, train_size=16, val_size=4, test_size=4, config=FAST)
    assert not result["promoted"] and "below the floor 0.9000" in result["reason"]  # MIN_ACCURACY["captcha"]


def test_training_that_crashes_resumes_on_retry(prefect_harness, store, captcha_dataset, monkeypatch):
    from flows.train import train
    from ocrcore.training.trainer import Trainer

    real_step, calls = Trainer._train_step, {"n": 0}

    def crash_once(self, *args):
        calls["n"] += 1
        if calls["n"] == 4:  # the process dies during the 4th step, after 3 finished
            raise RuntimeError("worker lost")
        return real_step(self, *args)

    monkeypatch.setattr(Trainer, "_train_step", crash_once)
    result = train("crnn", str(captcha_dataset), config={"epochs": 2, "batch_size": 8, "workers": 0})
    assert result["resumed_from"] == 3 and len(result["history"]) == 2
    assert Path(result["checkpoint"]).exists()


def test_no_registered_model_says_how_to_train_one(store):
    configure()
    with pytest.raises(LookupError, match="flows.pipeline"):
        resolve_serving_model("plate", "crnn")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def mlflow_server(tmp_path):
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}", "--artifacts-destination",
         str(tmp_path / "artifacts"), "--workers", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{url}/health", timeout=1)
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail("mlflow server exited at start")
                time.sleep(0.5)
        else:
            pytest.fail("mlflow server did not start in 60 s")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_registration_against_a_real_mlflow_server(mlflow_server, store, captcha_dataset, monkeypatch):
    import mlflow

    from ocrcore.data import ShardDataset
    from ocrcore.pretrained import weights_file
    from ocrcore.tracking import log_model

    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    configure()
    assert mlflow.get_tracking_uri() == mlflow_server
    require_pretrained("captcha-crnn_cnn_small")  # trained weights: readings that change with every pixel
    checkpoint = weights_file("captcha-crnn_cnn_small")
    with mlflow.start_run() as run:
        uri = log_model(checkpoint, ShardDataset(captcha_dataset, "test").image(0))
    promotion = compare_and_promote("ocr-test-crnn", uri, 0.5, lambda _: 0.0, run_id=run.info.run_id)
    assert promotion.promoted and promotion.version == "1"
    model = mlflow.pyfunc.load_model("models:/ocr-test-crnn@champion")
    import base64

    import pandas as pd
    from PIL import Image

    from ocrcore.inference import Recognizer

    images = [ShardDataset(captcha_dataset, "test").image(i) for i in range(4)]
    pngs = []
    for image in images:
        png = io.BytesIO()  # in memory: tests write only to temporary folders
        Image.fromarray(image).save(png, format="PNG")
        pngs.append(base64.b64encode(png.getvalue()).decode())
    out = model.predict(pd.DataFrame({"image": pngs}))
    expected = Recognizer.from_checkpoint(checkpoint)(images)  # the served pyfunc reads as the library does
    assert list(out["text"]) == [p.text for p in expected]
    assert list(out["confidence"]) == pytest.approx([p.confidence for p in expected], abs=1e-5)
    assert list(out.columns) == ["text", "confidence", "char_probs"] and len(out) == 4


def test_generate_on_a_local_dask_cluster(prefect_harness, store, monkeypatch):
    from distributed import LocalCluster

    from flows.generate import generate

    root = str(Path(__file__).resolve().parents[1])
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        folder = generate("captcha", 16, 0, 4, params=TINY, shard_size=4, dask_address=cluster.scheduler_address)
    from ocrcore.data import read_manifest

    manifest = read_manifest(folder)
    assert manifest["status"] == "complete" and manifest["splits"]["train"]["count"] == 16


def test_prefect_yaml_deployments_point_at_real_flows():
    import importlib
    import inspect

    import yaml

    spec = yaml.safe_load((Path(__file__).resolve().parents[1] / "prefect.yaml").read_text())
    names = {d["name"] for d in spec["deployments"]}
    assert {"captcha-crnn", "nightly"} <= names
    assert any(s.get("cron") for d in spec["deployments"] for s in d.get("schedules", []))
    for deployment in spec["deployments"]:
        path, func = deployment["entrypoint"].split(":")
        flow = getattr(importlib.import_module(path.removesuffix(".py").replace("/", ".")), func)
        accepted = inspect.signature(flow.fn).parameters
        assert set(deployment.get("parameters", {})) <= set(accepted), deployment["name"]
        pool = "ocr-gpu" if deployment["entrypoint"] == "flows/train.py:train" else "ocr-process"
        assert deployment["work_pool"]["name"] == pool, deployment["name"]
        if path == "flows/pipeline.py":  # pipelines hand their train step to the GPU pool's deployment
            assert deployment["parameters"]["train_deployment"] == "train/gpu", deployment["name"]


def test_dataloader_workers_inside_a_flow_exit_cleanly(prefect_harness, store, captcha_dataset, capfd):
    # Prefect runs tasks in threads; DataLoader workers forked from them used to exit with code 1.
    from flows.train import train

    result = train("crnn_cnn", str(captcha_dataset), config={"epochs": 2, "batch_size": 8, "workers": 2})
    assert len(result["history"]) == 2
    assert "exited unexpectedly" not in capfd.readouterr().err


def test_retrain_all_reports_a_failing_model_and_goes_on(prefect_harness, store, monkeypatch):
    import flows.pipeline as pipeline_module

    monkeypatch.setattr(pipeline_module, "served_models", lambda: [("captcha", "multihead"), ("captcha", "crnn_cnn")])
    # multihead fails: it needs one code length
    monkeypatch.setattr(pipeline_module, "TASK_PARAMS", {"captcha": {**TINY, "length": (3, 4)}})
    results = pipeline_module.retrain_all(train_size=16, val_size=4, test_size=4, epochs=1, min_accuracy=0.0)
    failed, done = results
    assert failed["state"] == "FAILED" and "fixed number of characters" in failed["error"]
    assert done["state"] == "COMPLETED" and done["promoted"]


def test_seeding_is_idempotent_and_the_pipeline_fine_tunes_the_champion(prefect_harness, store, captcha_dataset,
                                                                        tmp_path, monkeypatch):
    from mlflow import MlflowClient

    from flows.pipeline import pipeline
    from flows.seed import seed_registry
    from ocrcore.checkpoint import save_checkpoint
    from ocrcore.pretrained.ship import ship
    from tests.test_models import tiny

    monkeypatch.setenv("OCRCORE_PRETRAINED", str(tmp_path / "pretrained"))
    ship(save_checkpoint(tmp_path / "m.pt", tiny("crnn_cnn")), "captcha-crnn_cnn", captcha_dataset, "cmd",
         latency_images=2)
    first, again = seed_registry(), seed_registry()
    assert first[0]["added"] and first[0]["champion"] and "first version" in first[0]["reason"]
    assert not again[0]["added"] and again[0]["version"] == first[0]["version"]
    configure()
    name = model_name("captcha", "crnn_cnn")
    assert len(MlflowClient().search_model_versions(f"name = '{name}'")) == 1
    served = resolve_serving_model("captcha", "crnn_cnn")
    assert served.alias == "champion" and served.tags["source"] == "pretrained"

    result = pipeline("captcha", "crnn_cnn", params=TINY, train_size=48, val_size=8, test_size=8, config=FAST,
                      init_from="champion", min_accuracy=0.0)
    assert result["version"] == "2" and "champion v1" in result["reason"]  # the gate re-scored the seeded model
    client = MlflowClient()
    run = client.get_run(result["run_id"])
    assert run.data.params["init_from"] == f"{name} v1"  # named as reviewers name it, not an artifact path
    assert "champion_sequence_accuracy" in run.data.metrics and "test_sequence_accuracy" in run.data.metrics
    seeded = client.get_model_version(name, "1")
    assert "Pretrained `captcha-crnn_cnn`" in seeded.description and "synthetic:" in seeded.description
    assert "champion v1" in client.get_model_version(name, "2").description
    on_reference = [client.get_model_version(name, v).tags for v in ("1", "2")]  # one set for every version
    assert on_reference[0]["reference_set"] == on_reference[1]["reference_set"]
    assert on_reference[0]["reference_set"].startswith("500 images") and "reference_accuracy" in on_reference[1]
    assert "captcha" in client.get_registered_model(name).description


def test_a_run_reads_without_opening_its_artifacts(prefect_harness, store):
    """What a reviewer sees in MLflow: the task's own experiment opening on training runs, the dataset by name,
    sizes and generator settings, dataset inputs with fingerprints, and the errors as a gallery."""
    from mlflow import MlflowClient

    from flows.pipeline import pipeline
    from ocrcore.tracking import experiment_name

    result = pipeline("captcha", "crnn", params=TINY, train_size=48, val_size=8, test_size=8, config=FAST,
                      min_accuracy=0.0)
    client = MlflowClient()
    run = client.get_run(result["run_id"])
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.name == experiment_name("captcha") == "ocrcore-captcha"
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    params = run.data.params
    assert params["task"] == run.data.tags["task"] == "captcha" and params["init_from"] == "random weights"
    assert params["dataset"].endswith("(train 48, val 8, test 8)") and params["data.width"] == "80"
    inputs = {d.dataset.name.rsplit("/", 1)[1]: d for d in run.inputs.dataset_inputs}
    assert set(inputs) == {"train", "val", "test"} and len(inputs["test"].dataset.digest) == 16
    assert {t.value for t in inputs["test"].tags} >= {"testing", "8"}
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "evaluation/test")}
    assert "evaluation/test/failures.png" in artifacts or run.data.metrics["test_sequence_accuracy"] == 1.0
    assert "evaluation/test/accuracy_by_length.png" not in artifacts  # fixed length: one bar says nothing


def test_registry_client_fails_fast_and_leaves_a_dead_registry_alone():
    from ocrcore.tracking import RegistryClient, RegistryDown

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends: nothing listens there
    client = RegistryClient(f"http://alice:s3cret@127.0.0.1:{port}", retry_after=60)
    start = time.perf_counter()
    assert client.models() is None and client.versions("captcha", "crnn") == [] and client.down
    assert time.perf_counter() - start < 10  # no retry loop
    calls: list[int] = []
    with pytest.raises(RegistryDown):
        client.call(lambda: calls.append(1))
    assert calls == []  # not asked again within retry_after
    assert "s3cret" not in client.line() and "unreachable" in client.line() and "s3cret" not in client.health.error


def test_registry_client_answers_for_a_store(store, captcha_dataset):
    from ocrcore.tracking import RegistryClient

    client = RegistryClient()
    assert client.models() == [] and client.versions("captcha", "crnn") == [] and client.health.ok is True
    with pytest.raises(LookupError, match="train one"):
        client.resolve("captcha", "crnn")
    with pytest.raises(ValueError, match="not a model version"):
        client.resolve("captcha", "crnn", "abc")
    assert client.health.ok is True  # the registry answered: a wrong request is not an outage


def test_a_worker_without_the_dataset_draws_the_same_one(prefect_harness, store):
    """What a GPU worker does with a dataset it cannot see: generate it again from the recipe, and refuse it
    unless every split's fingerprint is the caller's."""
    import shutil

    from flows.generate import generate
    from flows.train import dataset_here
    from ocrcore.tracking.runs import dataset_record

    recipe = {"task_name": "captcha", "train": 12, "val": 4, "test": 4, "seed": 5, "params": TINY}
    made = generate(**recipe)
    spec = {"generate": recipe, "fingerprints": dataset_record(made)["fingerprints"]}
    shutil.rmtree(made)  # the worker's machine: no such folder
    assert dataset_here(made, spec) == made and dataset_record(made)["fingerprints"] == spec["fingerprints"]
    shutil.rmtree(made)
    with pytest.raises(RuntimeError, match="differs from the caller's"):
        dataset_here(made, {**spec, "fingerprints": {**spec["fingerprints"], "test": "0" * 16}})


def test_the_gate_counts_real_images_read_over_several_folders(tmp_path):
    """`real_read` (what `gate_folders` weighs): exact counts over folders of real labelled images (file name =
    label); here captchas standing in for real ones, one of four filed under a wrong label."""
    import numpy as np

    from flows.register import real_read
    from ocrcore.synth import build_generator

    require_pretrained("captcha-crnn_cnn_small")
    gen, rng = build_generator("captcha"), np.random.default_rng(7)
    folders = [tmp_path / "a", tmp_path / "b"]
    for k, folder in enumerate(folders):
        folder.mkdir()
        for i in range(4):
            image, label = gen.sample(rng)
            wrong = k == 0 and i == 3
            image.save(folder / f"{label[0] + ('AAA' if label[1:] != 'AAA' else 'BBB') if wrong else label}.png")
    read, images = real_read(Path(__file__).resolve().parents[1] / "pretrained" / "captcha-crnn_cnn_small" /
                             "model.pt", [str(f) for f in folders])
    assert images == 8 and read == 7
