"""MLflow models-from-code entry: the network is rebuilt from ocrcore code and the logged checkpoint.

MLflow's default PyTorch flavour saves a torch.export graph, on which Grad-CAM hooks never fire; this
pyfunc keeps the real `nn.Module`. Input: a DataFrame with a column `image` of base64-encoded image files.
Output: a DataFrame with `text`, `confidence` and `char_probs` (a JSON list) per row.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel


class OcrModel(PythonModel):
    def load_context(self, context: Any) -> None:
        from ocrcore.inference import Recognizer

        self.recognizer = Recognizer.from_checkpoint(context.artifacts["checkpoint"])

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        images = [base64.b64decode(value) for value in model_input["image"]]
        preds = self.recognizer.predict(images)
        return pd.DataFrame({"text": [p.text for p in preds], "confidence": [p.confidence for p in preds],
                             "char_probs": [json.dumps(list(p.char_probs)) for p in preds]})


mlflow.models.set_model(OcrModel())
