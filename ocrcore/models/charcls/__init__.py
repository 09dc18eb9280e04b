from ocrcore.models.charcls.model import CharClassifier

__all__ = ["CharClassifier"]
