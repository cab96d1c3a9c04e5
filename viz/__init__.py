"""Presentation: the HTTP API, officer dashboards and public display boards."""

from viz.wqi import BANDS, Band, band, do_saturation, sub_indices, vn_wqi

__all__ = ["BANDS", "Band", "band", "do_saturation", "sub_indices", "vn_wqi"]
