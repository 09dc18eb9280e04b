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
from flows.seed import seed_registry
from flows.train import train
from ocrcore.tracking import connect, resolve_serving_model, served_models

# Generator parameters of each task's retraining data (the task's default generator otherwise).
TASK_PARAMS: dict[str, dict[str, Any]] = {"plate": {"all_class": True}}


@flow(name="pipeline")
def pipeline(task_name: str = "captcha", arch: str = "crnn", params: dict[str, Any] | None = None,
             train_size: int = 8000, val_size: int = 500, test_size: int = 1000, seed: int = 0,
             config: dict[str, Any] | None = None, extra_eval_folders: list[str] | None = None,
             tracking_uri: str | None = None, dask_address: str | None = None,
             init_from: str | None = None, min_accuracy: float | None = None) -> dict[str, Any]:
    """Generate a dataset, train `arch` on it, evaluate on its test split, register and maybe promote.

    `init_from` fine-tunes instead of training from random weights: "champion" (the registered champion of
    `ocr-<task>-<arch>`), a pretrained model's name, or a checkpoint path. `min_accuracy` is the champion gate's
    floor (default: `ocrcore.tracking.MIN_ACCURACY[task]`): below it a version is never promoted.
    """
    config = {"epochs": 4, "batch_size": 64, **(config or {})}
    dataset = generate(task_name, train_size, val_size, test_size, seed, params or {}, dask_address=dask_address)
    start, label = (init_from, None) if init_from != "champion" else champion_checkpoint(task_name, arch,
                                                                                          tracking_uri)
    trained = train(arch, dataset, config=config, tracking_uri=tracking_uri, init_from=start, start=label)
    reports = evaluate_model(trained["checkpoint"], dataset, extra_folders=extra_eval_folders,
                             run_id=trained["run_id"], tracking_uri=tracking_uri, dask_address=dask_address)
    score = reports["test"]["sequence_accuracy"]
    promotion = register(task_name, arch, trained["checkpoint"], dataset, score, trained["run_id"],
                         tracking_uri=tracking_uri, min_accuracy=min_accuracy)
    get_run_logger().info("%s %s: test accuracy %.4f; %s", task_name, arch, score, promotion["reason"])
    return {"dataset": dataset, "run_id": trained["run_id"], "test": reports["test"], **promotion}


def champion_checkpoint(task_name: str, arch: str, tracking_uri: str | None) -> tuple[str | None, str | None]:
    """The served version's checkpoint and its name ("ocr-captcha-crnn v3"); (None, None) (random weights)
    while nothing is registered under the name."""
    connect(tracking_uri)
    try:
        serving = resolve_serving_model(task_name, arch)
    except LookupError as exc:
        get_run_logger().warning("no champion to fine-tune from, training from random weights: %s", exc)
        return None, None
    get_run_logger().info("fine-tuning from %s v%s (%s)", serving.name, serving.version, serving.alias or "latest")
    return str(serving.checkpoint), f"{serving.name} v{serving.version}"


@flow(name="retrain-all")
def retrain_all(train_size: int = 20000, val_size: int = 1000, test_size: int = 2000, epochs: int = 2,
                lr: float = 5e-4, tracking_uri: str | None = None, dask_address: str | None = None,
                min_accuracy: float | None = None) -> list[dict[str, Any]]:
    """Fine-tune every served model (a registered `ocr-<task>-<arch>` with a champion) from its champion on
    fresh data; the gate decides. One failing model does not stop the others (its state says why)."""
    connect(tracking_uri)
    served = served_models()
    if not served:
        get_run_logger().warning("nothing is served (no registered champion): seed the registry with "
                                 "`python -m flows.seed` or run a pipeline first")
    results = []
    for task_name, arch in served:
        state = pipeline(task_name, arch, TASK_PARAMS.get(task_name, {}), train_size, val_size, test_size,
                         config={"epochs": epochs, "lr": lr}, tracking_uri=tracking_uri, dask_address=dask_address,
                         init_from="champion", min_accuracy=min_accuracy, return_state=True)
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
    args = parser.parse_args()
    if args.seed_pretrained:
        seed_registry(args.tracking_uri)
    config = {"epochs": args.epochs, **({"lr": args.lr} if args.lr else {})}
    result = pipeline(args.task, args.arch, train_size=args.train_size, test_size=args.test_size, config=config,
                      tracking_uri=args.tracking_uri, dask_address=args.dask_address, init_from=args.init_from,
                      min_accuracy=args.min_accuracy)
    print(json.dumps({k: result[k] for k in ("dataset", "version", "promoted", "reason")}, indent=1))
    print(f"test sequence accuracy: {result['test']['sequence_accuracy']:.4f}")


if __name__ == "__main__":
    main()
