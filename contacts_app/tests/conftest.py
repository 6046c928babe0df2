from __future__ import annotations

from tests.fixtures_api import admin_api, anon_api, api

__all__ = ["admin_api", "anon_api", "api"]
