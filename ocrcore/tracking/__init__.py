"""MLflow tracking and the model registry: where runs go, how models are logged, which model is served."""

from ocrcore.tracking.registry import (
    MIN_ACCURACY,
    ServingModel,
    compare_and_promote,
    log_model,
    model_name,
    resolve_serving_model,
    served_families,
)
from ocrcore.tracking.store import DEFAULT_DATA_DIR, configure, redact, tracking_uri

__all__ = ["DEFAULT_DATA_DIR", "MIN_ACCURACY", "ServingModel", "compare_and_promote", "configure", "log_model",
           "model_name", "redact", "resolve_serving_model", "served_families", "tracking_uri"]
