"""Station simulators: realistic readings and faults over MQTT, for demos and tests."""
