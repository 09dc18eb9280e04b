from ocrcore.models.crnn.model import CRNN, narrow_from

__all__ = ["CRNN", "narrow_from"]
