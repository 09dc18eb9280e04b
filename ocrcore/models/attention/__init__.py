from ocrcore.models.attention.model import AttentionReader

__all__ = ["AttentionReader"]
