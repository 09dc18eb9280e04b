"""MLflow tracking and the model registry: where runs go, how models are logged, which model is served."""

from ocrcore.tracking.registry import (
    ServingModel,
    compare_and_promote,
    log_model,
    model_name,
    resolve_serving_model,
)
from ocrcore.tracking.store import DEFAULT_DATA_DIR, configure, tracking_uri

__all__ = ["DEFAULT_DATA_DIR", "ServingModel", "compare_and_promote", "configure", "log_model", "model_name",
           "resolve_serving_model", "tracking_uri"]
