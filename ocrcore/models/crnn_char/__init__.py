from ocrcore.models.crnn_char.model import CharWindowCRNN, from_classifier

__all__ = ["CharWindowCRNN", "from_classifier"]
