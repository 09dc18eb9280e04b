"""Inference and export: `Recognizer` (PyTorch), `OnnxRecognizer` (onnxruntime), `export_onnx`."""

from ocrcore.inference.export import export_onnx
from ocrcore.inference.recognizer import OnnxRecognizer, Recognizer

__all__ = ["OnnxRecognizer", "Recognizer", "export_onnx"]
