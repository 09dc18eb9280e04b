"""The pretrained zoo: final trained models kept in the repository's `pretrained/` folder, loaded by name.

>>> from ocrcore.pretrained import available
>>> "captcha-crnn_cnn_small" in available()  # doctest: +SKIP
True
"""

from ocrcore.pretrained.zoo import (
                                    CARD,
                                    WEIGHTS,
                                    PretrainedError,
                                    available,
                                    family_name,
                                    load_pretrained,
                                    read_card,
                                    resolve,
                                    servable,
                                    split_family,
                                    weights_file,
                                    zoo_root,
)

__all__ = ["CARD", "WEIGHTS", "PretrainedError", "available", "family_name", "load_pretrained", "read_card",
           "resolve", "servable", "split_family", "weights_file", "zoo_root"]
