"""Inference and export: `Recognizer` (PyTorch), `OnnxRecognizer` (onnxruntime), `export_onnx`, `quantize_onnx`
(static int8), and `split_lines` for paragraph images (`Recognizer.read_paragraph`)."""

from ocrcore.inference.export import export_int8, export_onnx, quantize_onnx
from ocrcore.inference.lines import Line, split_lines
from ocrcore.inference.recognizer import OnnxRecognizer, Recognizer

__all__ = ["Line", "OnnxRecognizer", "Recognizer", "export_int8", "export_onnx", "quantize_onnx", "split_lines"]
