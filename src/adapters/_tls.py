"""What every network adapter needs to tell a rejected TLS certificate from a lost connection."""

from __future__ import annotations

import ssl
from typing import Optional

__all__ = ["rejected_certificate"]


def rejected_certificate(exc: BaseException) -> Optional[str]:
    """Why the peer's TLS certificate was rejected, when that is what ``exc`` (or its cause) is; else None.

    Client libraries wrap the ``ssl.SSLCertVerificationError`` in their own
    connection errors (valkey-py's ConnectionError, botocore's SSLError, which
    also stands for handshakes that broke off and are worth a retry), so the
    chain is walked; the text check catches wrappers that dropped the chain.
    """
    seen: set[int] = set()
    current: Optional[BaseException] = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            return str(current.verify_message or current.reason or current)
        current = current.__cause__ or current.__context__
    text = str(exc)
    return text if "CERTIFICATE_VERIFY_FAILED" in text else None
