"""Presentation: the HTTP API, officer dashboards and public display boards."""

from viz.wqi import band, sub_indices, vn_wqi

__all__ = ["band", "sub_indices", "vn_wqi"]
