"""Flow `generate`: write a dataset, one Prefect task per shard so shards generate in parallel.

Cached by its inputs: the default folder is named by a hash of (task, parameters, counts, seed), and a
complete dataset there is reused as it is; an interrupted one is finished.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task

from flows.defaults import default_dataset_dir, task_runner
from ocrcore.data.shards import DatasetPlan, ShardJob, begin_dataset, finish_dataset, make_shard
from ocrcore.synth import build_generator


@task
def plan_dataset(task_name: str, out: str, counts: dict[str, int], seed: int, params: dict[str, Any],
                 shard_size: int) -> DatasetPlan:
    return begin_dataset(out, build_generator(task_name, **params), counts, seed, shard_size)


@task(retries=2, retry_delay_seconds=2)
def write_shard(job: ShardJob) -> tuple[str, str]:
    job, sha = make_shard(job)
    return job.path, sha


@task
def finish(plan: DatasetPlan, checksums: dict[str, str]) -> dict[str, Any]:
    return finish_dataset(plan, checksums)


@flow(name="generate")
def generate(task_name: str = "captcha", train: int = 2000, val: int = 200, test: int = 500, seed: int = 0,
             params: dict[str, Any] | None = None, shard_size: int = 500, out: str | None = None,
             dask_address: str | None = None) -> str:
    """Write (or reuse) a dataset and return its folder."""
    params, counts = params or {}, {"train": train, "val": val, "test": test}
    folder = str(out or default_dataset_dir(task_name, params, counts, seed))
    plan = plan_dataset(task_name, folder, counts, seed, params, shard_size)
    if plan.manifest is not None:
        get_run_logger().info("reusing the complete dataset in %s", folder)
        return folder
    with task_runner(dask_address) as runner:
        futures = [runner.submit(write_shard, parameters={"job": job}) for job in plan.todo]
        checksums = dict(f.result() for f in futures)
    manifest = finish(plan, checksums)
    get_run_logger().info("dataset %s: %s", folder, {k: v["count"] for k, v in manifest["splits"].items()})
    return folder


if __name__ == "__main__":
    print(generate(**{}))
