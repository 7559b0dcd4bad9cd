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
# The shipped presets' sizes, trained on a 2-core CPU: windows of N = 256 with k = 64 at inference
# (the paper's k scaled from N = 1024). docs/training-records/ holds the runs that trained them.
for _scale, _preset in ((2, "sr_x2"), (3, "sr_x3"), (4, "sr")):
    register_model(
        f"semanir_light_sr_x{_scale}",
        SemanIRColumnar,
        f"Light x{_scale} super-resolution of the shipped {_preset} preset (columnar, 4 stages x 4 layers, width 48, bicubic skip)",
        tags=("sr",),
        upscale=_scale,
        embed_dim=48,
        depths=(4, 4, 4, 4),
        num_heads=3,
        window_size=16,
        upsampler_dim=48,
        topk=64,
        bicubic_skip=True,
    )
_LIGHT_UNET = dict(
    dims=(32, 64, 128, 256),
    num_heads=(1, 2, 4, 8),
    encoder_depths=(2, 2, 2, 2),
    decoder_depths=(2, 2, 2, 2),
    final_depth=2,
    window_size=16,
    ffn="gdfn",
    topk=64,
)
register_model(
    "semanir_unet_color_light",
    SemanIRUNet,
    "Light U-shaped SemanIR of the shipped denoise / jpeg / demosaic presets (channels 32-256, 2 layers per stage, GDFN)",
    tags=("denoise", "jpeg", "demosaic"),
    in_chans=3,
    **_LIGHT_UNET,
)
register_model(
    "semanir_unet_gray_light",
    SemanIRUNet,
    "The light U-shape for gray images (denoise_gray / jpeg_gray presets; starts from the color presets)",
    tags=("denoise", "jpeg"),
    in_chans=1,
    **_LIGHT_UNET,
)
register_model(
    "semanir_unet_gray",
    SemanIRUNet,
    "U-shaped SemanIR for grayscale denoising / JPEG",
    tags=("denoise", "jpeg"),
    in_chans=1,
)

__all__ = ["SemanIRBase", "SemanIRColumnar", "SemanIRUNet"]
