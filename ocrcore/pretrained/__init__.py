"""The pretrained models: final trained models kept in the repository's `pretrained/` folder, loaded by name.

>>> from ocrcore.pretrained import available
>>> "captcha-crnn_cnn_small" in available()  # doctest: +SKIP
True
"""

from ocrcore.pretrained.catalog import (
    CARD,
    WEIGHTS,
    PretrainedError,
    accuracy_tags,
    available,
    card_description,
    load_pretrained,
    pretrained_name,
    pretrained_root,
    read_card,
    resolve,
    servable,
    split_pretrained_name,
    weights_file,
)

__all__ = ["CARD", "WEIGHTS", "PretrainedError", "accuracy_tags", "available", "card_description", "load_pretrained",
           "pretrained_name", "pretrained_root", "read_card", "resolve", "servable", "split_pretrained_name",
           "weights_file"]
