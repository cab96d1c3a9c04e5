"""Numeric kernels of the alert engine: pure, vectorised, arrays in and arrays out.

The engine's memory (``window``), trailing-window statistics (``rolling``), water chemistry
(``chemistry``), QARTOD tests (``qartod``), threshold evaluation with hysteresis
(``hysteresis``), sun times (``sun``), the dawn DO projection (``forecast``) and the
disease-risk score (``risk``).
"""
