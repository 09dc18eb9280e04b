"""The pretrained models: final trained models kept in the repository's `pretrained/` folder, loaded by name.

>>> from ocrcore.pretrained import available
>>> "captcha-crnn_cnn_small" in available()  # doctest: +SKIP
True
"""

from ocrcore.pretrained.catalog import (
                                    CARD,
                                    WEIGHTS,
                                    PretrainedError,
                                    available,
                                    load_pretrained,
                                    pretrained_name,
                                    pretrained_root,
                                    read_card,
                                    resolve,
                                    servable,
                                    split_pretrained_name,
                                    weights_file,
)

__all__ = ["CARD", "WEIGHTS", "PretrainedError", "available", "pretrained_name", "load_pretrained", "read_card",
           "resolve", "servable", "split_pretrained_name", "weights_file", "pretrained_root"]
