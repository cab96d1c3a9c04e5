"""Configuration of the alert engine, as data: threshold profiles and quality checks.

The YAML files (``profiles/*.yaml``, ``quality.yaml``) beside these modules are parsed into
pydantic models (``profile_schema``, ``quality``), validated, and compiled once per station
into the rules the detectors evaluate (``compiled_rules``, ``threshold_profiles``).
"""
