"""Read-only web dashboard: ``create_app(store)`` (FastAPI) and ``serve(store, host, port)`` (uvicorn)."""
from __future__ import annotations

from typing import Any

__all__ = ["create_app", "serve"]


def __getattr__(name: str) -> Any:
    # FastAPI is imported only when the dashboard is actually used.
    if name in __all__:
        from . import app

        return getattr(app, name)
    raise AttributeError(name)
