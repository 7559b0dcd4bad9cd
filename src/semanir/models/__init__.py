"""The registered SemanIR models (paper parameter counts from Tables 10 and 7)."""

from ..registry import register_model
from .base import SemanIRBase
from .columnar import SemanIRColumnar
from .unet import SemanIRUNet

_SR_PAPER_PARAMS = {("s", 2): 11.87, ("s", 3): 12.05, ("s", 4): 12.02, ("b", 2): 19.90, ("b", 3): 20.08, ("b", 4): 20.04}

for (_size, _scale), _params in _SR_PAPER_PARAMS.items():
    _depth = 6 if _size == "s" else 8
    register_model(
        f"semanir_{_size}_sr_x{_scale}",
        SemanIRColumnar,
        f"SemanIR-{_size.upper()} x{_scale} super-resolution (columnar, {_depth} stages x {_depth} layers)",
        paper_params_m=_params,
        tags=("sr",),
        upscale=_scale,
        depths=(_depth,) * _depth,
    )

register_model(
    "semanir_unet_color",
    SemanIRUNet,
    "U-shaped SemanIR for color denoising / JPEG / demosaicking / deblurring / weather",
    paper_params_m=25.82,
    tags=("denoise", "jpeg", "demosaic", "deblur", "weather"),
    in_chans=3,
)
register_model(
    "semanir_unet_gray",
    SemanIRUNet,
    "U-shaped SemanIR for grayscale denoising / JPEG",
    tags=("denoise", "jpeg"),
    in_chans=1,
)

__all__ = ["SemanIRBase", "SemanIRColumnar", "SemanIRUNet"]
