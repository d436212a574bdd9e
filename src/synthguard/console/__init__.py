"""The staff console (FastAPI + Jinja2), mounted by ``synthguard.gateway.create_app``."""

from synthguard.console.routes import router

__all__ = ["router"]
