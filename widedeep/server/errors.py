"""`RequestError`: a request the server refuses, with the HTTP status and the field at fault.

The JSON body of the answer is ``{"error": message, "field": field}`` (``field`` None when
the whole request is at fault), the format of TensorFlow Serving's ``{"error": ...}`` with
the field added.
"""
from __future__ import annotations

__all__ = ["RequestError"]


class RequestError(Exception):
    """``status``: 400 bad request, 404 unknown model/version, 413 body too large, 503
    busy or no version ready; ``field``: the JSON path of the bad value, e.g.
    ``"candidates.impression_app[3]"``."""

    def __init__(self, status, message, field=None):
        super().__init__(message)
        self.status = int(status)
        self.message = message
        self.field = field

    def to_json(self):
        return {"error": self.message, "field": self.field}
