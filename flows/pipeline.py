"""Flows `pipeline` (generate -> train -> evaluate -> register for one task and architecture) and
`retrain_all` (fine-tunes every model the registry serves, i.e. has a champion, from that champion). Runs
with or without a Prefect server:

    python -m flows.pipeline --task captcha --arch crnn
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from prefect import flow, get_run_logger

from flows.evaluate import evaluate_model
from flows.generate import generate
from flows.register import register
from flows.remote import live_pool, train_remotely
from flows.seed import seed_registry
from flows.train import new_run, train
from ocrcore.tracking import connect, served_models
from ocrcore.tracking import tracking_uri as tracking_uri_of
from ocrcore.tracking.runs import dataset_record
from ocrcore.tracking.store import data_dir

# Generator parameters of each task's retraining data (the task's default generator otherwise).
TASK_PARAMS: dict[str, dict[str, Any]] = {"plate": {"all_class": True}}


@flow(name="pipeline")
def pipeline(task_name: str = "captcha", arch: str = "crnn", params: dict[str, Any] | None = None,
             train_size: int = 8000, val_size: int = 500, test_size: int = 1000, seed: int = 0,
             config: dict[str, Any] | None = None, extra_eval_folders: list[str] | None = None,
             tracking_uri: str | None = None, dask_address: str | None = None,
             init_from: str | None = None, min_accuracy: float | None = None,
             train_deployment: str | None = None, gate_folders: list[str] | None = None) -> dict[str, Any]:
    """Generate a dataset, train `arch` on it, evaluate on its test split, register and maybe promote.

    `init_from` fine-tunes instead of training from random weights: "champion" (the registered champion of
    `ocr-<task>-<arch>`), a pretrained model's name, or a checkpoint path. `min_accuracy` is the champion gate's
    floor (default: `ocrcore.tracking.MIN_ACCURACY[task]`): below it a version is never promoted.
    `train_deployment` (e.g. "train/gpu") sends the train step to that deployment's work pool when a worker
    polls it (`flows.remote`); otherwise it trains in process. `gate_folders`: folders of your own real labelled
    images (e.g. plate crops from your camera) the champion gate also weighs: a version that reads fewer of them
    than the champion is not promoted, however well it reads the synthetic test.
    """
    config = {"epochs": 4, "batch_size": 64, **(config or {})}
    generate_args = {"task_name": task_name, "train": train_size, "val": val_size, "test": test_size, "seed": seed,
                     "params": params or {}}
    dataset = generate(**generate_args, dask_address=dask_address)
    pool = live_pool(train_deployment) if train_deployment else None
    if pool:
        uri = tracking_uri_of(tracking_uri)  # the worker logs to this store: it must reach it
        run_id = new_run(arch, task_name, uri)
        spec = {"generate": generate_args, "fingerprints": dataset_record(dataset)["fingerprints"]}
        trained = train_remotely(str(train_deployment), run_id, {
            "arch": arch, "dataset": dataset, "config": config, "tracking_uri": uri, "init_from": init_from,
            "dataset_spec": spec}, data_dir() / "runs" / f"remote-{run_id}")
    else:
        trained = train(arch, dataset, config=config, tracking_uri=tracking_uri, init_from=init_from)
    reports = evaluate_model(trained["checkpoint"], dataset, extra_folders=extra_eval_folders,
                             run_id=trained["run_id"], tracking_uri=tracking_uri, dask_address=dask_address)
    score = reports["test"]["sequence_accuracy"]
    promotion = register(task_name, arch, trained["checkpoint"], dataset, score, trained["run_id"],
                         tracking_uri=tracking_uri, min_accuracy=min_accuracy, gate_folders=gate_folders)
    get_run_logger().info("%s %s: test accuracy %.4f; %s", task_name, arch, score, promotion["reason"])
    return {"dataset": dataset, "run_id": trained["run_id"], "test": reports["test"], "trained_on": pool or "here",
            **promotion}


@flow(name="retrain-all")
def retrain_all(train_size: int = 20000, val_size: int = 1000, test_size: int = 2000, epochs: int = 2,
                lr: float = 5e-4, tracking_uri: str | None = None, dask_address: str | None = None,
                min_accuracy: float | None = None, train_deployment: str | None = None) -> list[dict[str, Any]]:
    """Fine-tune every served model (a registered `ocr-<task>-<arch>` with a champion) from its champion on
    fresh data; the gate decides. One failing model does not stop the others (its state says why).
    `train_deployment`: see `pipeline`."""
    connect(tracking_uri)
    served = served_models()
    if not served:
        get_run_logger().warning("nothing is served (no registered champion): seed the registry with "
                                 "`python -m flows.seed` or run a pipeline first")
    results = []
    for task_name, arch in served:
        state = pipeline(task_name, arch, TASK_PARAMS.get(task_name, {}), train_size, val_size, test_size,
                         config={"epochs": epochs, "lr": lr}, tracking_uri=tracking_uri, dask_address=dask_address,
                         init_from="champion", min_accuracy=min_accuracy, train_deployment=train_deployment,
                         return_state=True)
        results.append({"task": task_name, "arch": arch, "state": state.type.value,
                        **(state.result() if state.is_completed() else {"error": str(state.message)})})
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", default="captcha")
    parser.add_argument("--arch", default="crnn")
    parser.add_argument("--train-size", type=int, default=8000)
    parser.add_argument("--test-size", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--tracking-uri", help="MLflow server (default: $MLFLOW_TRACKING_URI or data/mlflow.db)")
    parser.add_argument("--dask-address", help="run generation and evaluation on this Dask scheduler")
    parser.add_argument("--lr", type=float, help="peak learning rate (default: the trainer's)")
    parser.add_argument("--seed-pretrained", action="store_true",
                        help="first register the pretrained models (pretrained/) as the first champions")
    parser.add_argument("--init-from", help="fine-tune from 'champion', a pretrained model's name, or a checkpoint")
    parser.add_argument("--min-accuracy", type=float,
                        help="the champion gate's floor (default: ocrcore.tracking.MIN_ACCURACY of the task)")
    parser.add_argument("--gate-folder", action="append", default=[], dest="gate_folders",
                        help="a folder of real labelled images the champion gate also weighs (repeatable)")
    parser.add_argument("--train-deployment", help="send the train step to this deployment's pool (e.g. train/gpu) "
                        "when a worker polls it")
    args = parser.parse_args()
    if args.seed_pretrained:
        seed_registry(args.tracking_uri)
    config = {"epochs": args.epochs, **({"lr": args.lr} if args.lr else {})}
    result = pipeline(args.task, args.arch, train_size=args.train_size, test_size=args.test_size, config=config,
                      tracking_uri=args.tracking_uri, dask_address=args.dask_address, init_from=args.init_from,
                      min_accuracy=args.min_accuracy, train_deployment=args.train_deployment,
                      gate_folders=args.gate_folders or None)
    print(json.dumps({k: result[k] for k in ("dataset", "version", "promoted", "reason")}, indent=1))
    print(f"test sequence accuracy: {result['test']['sequence_accuracy']:.4f}")


if __name__ == "__main__":
    main()
