"""Models: plain `nn.Module`s with named stages (`backbone`, `sequence`, `head`) and the zoo that builds them."""

from ocrcore.models.zoo import ARCHS, FIXED_LENGTH_ARCHS, ModelBundle, build, from_metadata

__all__ = ["ARCHS", "FIXED_LENGTH_ARCHS", "ModelBundle", "build", "from_metadata"]
