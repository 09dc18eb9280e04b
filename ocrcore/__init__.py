"""ocrcore: recognise constrained text (captchas, licence plates, printed Chinese) from synthetic data."""

__version__ = "0.1.0"
