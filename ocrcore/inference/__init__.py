"""Inference and export: `Recognizer` (PyTorch), `OnnxRecognizer` (onnxruntime), `Decoding` (greedy, beam, pattern,
language model; `served_decoding`: each task's measured best), `export_onnx`, `quantize_onnx` (static int8), and
`split_lines` for paragraph images (`Recognizer.read_paragraph`)."""

from ocrcore.inference.decoding import GREEDY, Decoding, served_decoding
from ocrcore.inference.export import export_int8, export_onnx, quantize_onnx
from ocrcore.inference.lines import Line, split_lines
from ocrcore.inference.recognizer import OnnxRecognizer, Recognizer

__all__ = ["GREEDY", "Decoding", "Line", "OnnxRecognizer", "Recognizer", "export_int8", "export_onnx", "quantize_onnx",
           "served_decoding", "split_lines"]
