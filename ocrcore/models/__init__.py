"""Models: plain `nn.Module`s with named stages (`backbone`, `sequence`, `head`) and the zoo that builds them."""

from ocrcore.models.zoo import ARCHS, Arch, ModelBundle, build, from_metadata, get_arch

__all__ = ["ARCHS", "Arch", "ModelBundle", "build", "from_metadata", "get_arch"]
