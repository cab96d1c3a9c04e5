"""What the alert engine keeps in the database: readings and flags (``store``), alerts and
their events (``lifecycle``).
"""
