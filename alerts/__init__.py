"""Alert engine: data-quality, threshold and trend checks (built by the alerts issue)."""
