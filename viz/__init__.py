"""Officer dashboards and public display boards (built by the dashboards issue)."""
