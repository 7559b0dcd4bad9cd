"""Demosaicking: an RGGB Bayer mosaic through MATLAB's ``demosaic`` (Malvar), which the model refines.

Inputs to restore may be the 1-channel mosaic itself in any Bayer layout: it is re-phased as RGGB
(the layout the shipped demosaicker learnt) and demosaicked the same way first. A mirror or a
quarter turn of a mosaic is a mosaic of another layout, so self-ensemble turns the mosaic itself
(not Malvar's output, whose artifacts would land on the wrong sites) and demosaics each view.
"""

from __future__ import annotations

from ..data.degradations import bayer_mosaic, demosaic_malvar, pad_to_rggb, transform_mosaic
from .base import Task
from .registry import register

DEMOSAIC_PATTERN = "RGGB"


class Demosaic(Task):
    name = "demosaic"
    description = "RGGB mosaic, then MATLAB demosaic; scored on RGB"
    title = "demosaicking (a Bayer mosaic, or its MATLAB demosaic)"
    default_preset = "demosaic"

    def degrade(self, protocol, clean, seed):
        return demosaic_malvar(bayer_mosaic(clean, DEMOSAIC_PATTERN), DEMOSAIC_PATTERN)

    def raw_views(self, pixels, bayer_pattern):
        if pixels.ndim != 2:  # already RGB: Malvar's output, or a demosaicked file
            return None

        def view(turns: int, mirror: bool):
            cfa, layout = transform_mosaic(pixels, bayer_pattern, turns, mirror)
            padded, top, left = pad_to_rggb(cfa, layout)
            return demosaic_malvar(padded, "RGGB"), top, left

        return view

    def ensemble_views(self, degraded):
        # The protocol's input is Malvar's output, which keeps every measured sample: re-mosaicking
        # it gives back the mosaic, whose 8 views raw_views demosaics.
        return self.raw_views(bayer_mosaic(degraded, DEMOSAIC_PATTERN), DEMOSAIC_PATTERN)


register(Demosaic())
