from ocrcore.models.multihead.model import MultiHeadCNN

__all__ = ["MultiHeadCNN"]
