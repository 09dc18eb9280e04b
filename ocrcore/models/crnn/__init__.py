from ocrcore.models.crnn.model import CRNN

__all__ = ["CRNN"]
