"""The HTTP service: ``create_app(settings)``; later the OpenAI-compatible compliance gateway."""

from synthguard.gateway.app import create_app

__all__ = ["create_app"]
