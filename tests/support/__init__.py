"""Real services and helpers for tests, one module per service.

- ``common``: skip locally / fail under CI (``unavailable``), polling with a deadline.
- ``times``: the fixed times of day time-dependent tests run at (``at_times_of_day``).
- ``network``: free ports, a cuttable TCP proxy, an app served by a real uvicorn.
- ``postgres``: fresh databases on a private PostgreSQL cluster (or AQUAWATCH_TEST_ADMIN_URL).
- ``timescaledb``: the TimescaleDB WASM server and a PostgreSQL with a fake TimescaleDB.
- ``mosquitto``: a private broker (``stack.PrivateMosquitto``) and a plain publisher.
- ``kannel``: Kannel with its fake carrier.
- ``processes``: ``aquawatch ingest`` and ``aquawatch simulate`` as real subprocesses.

Where a service is missing, tests skip locally and fail under CI (CI=true), so a green CI
always means they ran.
"""
