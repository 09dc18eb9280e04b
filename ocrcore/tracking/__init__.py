"""MLflow tracking and the model registry: where runs go, how models are logged, which model is served."""

from ocrcore.tracking.registry import (
    MIN_ACCURACY,
    RealGate,
    ServingModel,
    VersionInfo,
    compare_and_promote,
    list_versions,
    log_model,
    model_name,
    registered_models,
    resolve_serving_model,
    served_models,
)
from ocrcore.tracking.serving import RegistryClient, RegistryDown, pretrained_model, why_served
from ocrcore.tracking.store import DEFAULT_DATA_DIR, configure, connect, experiment_name, redact, tracking_uri

__all__ = ["DEFAULT_DATA_DIR", "MIN_ACCURACY", "RealGate", "RegistryClient", "RegistryDown", "ServingModel",
           "VersionInfo", "compare_and_promote", "configure", "connect", "experiment_name", "list_versions",
           "log_model", "model_name", "redact", "registered_models", "resolve_serving_model", "served_models",
           "pretrained_model", "tracking_uri", "why_served"]
