"""The API server's access log never shows the SMS gateway's callback token."""

from __future__ import annotations

import logging

from viz.cli import RedactSecrets


def test_tokens_in_access_log_lines_are_masked() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/api/v1/sms/dlr?token=s3cr3t&id=4&status=1", "1.1", 200),
        None,
    )
    assert RedactSecrets().filter(record)
    assert record.getMessage() == (
        '127.0.0.1:5000 - "GET /api/v1/sms/dlr?token=***&id=4&status=1 HTTP/1.1" 200'
    )
