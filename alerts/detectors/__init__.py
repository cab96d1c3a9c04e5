"""Detectors: what turns a window of data into alert episodes.

Threshold, trend, pollution and risk rules (``rules``), the dawn DO forecast (``dawn``),
station silence (``silence``) and sensor-maintenance notices (``sensor_notices``).
"""
