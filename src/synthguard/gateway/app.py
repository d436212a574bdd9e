"""``create_app(settings)``: the FastAPI service. Routers are assembled here; each domain error maps
to its HTTP status in one handler, with the English and Chinese message."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from synthguard import __version__
from synthguard.config import Settings
from synthguard.core import Synthguard
from synthguard.errors import SynthguardError


def create_app(settings: Settings, core: Synthguard | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = core is None
        app.state.core = core or Synthguard.open(settings)
        try:
            yield
        finally:
            gateway = getattr(app.state, "gateway", None)  # the OpenAI proxy's upstream clients
            if gateway is not None:
                await gateway.aclose()
            if owned:
                app.state.core.close()

    app = FastAPI(
        title="synthguard",
        version=__version__,
        summary="GB 45438 labels and compliance for deep synthesis services",
        lifespan=lifespan,
    )
    app.state.settings = settings

    @app.exception_handler(SynthguardError)
    async def _domain_error(_request: Request, exc: SynthguardError) -> JSONResponse:
        return JSONResponse(status_code=exc.http_status, content={"error": exc.to_dict()})

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    from fastapi.staticfiles import StaticFiles

    from synthguard.console.routes import HERE as console_dir
    from synthguard.console.routes import router as console_router
    from synthguard.gateway.openai_proxy import router as openai_router
    from synthguard.gateway.routes.detect import router as detect_router
    from synthguard.gateway.routes.explicit import router as explicit_router
    from synthguard.gateway.routes.identity import router as identity_router
    from synthguard.gateway.routes.labels import router as labels_router
    from synthguard.gateway.routes.ledger import router as ledger_router
    from synthguard.gateway.routes.review import router as review_router

    app.include_router(openai_router)
    app.include_router(identity_router)
    app.include_router(labels_router)
    app.include_router(ledger_router)
    app.include_router(review_router)
    app.include_router(explicit_router)
    app.include_router(detect_router)
    app.include_router(console_router)
    from synthguard.gateway.routes.governance import FilingHeader
    from synthguard.gateway.routes.governance import router as governance_router

    app.include_router(governance_router)
    from synthguard.gateway.openai_proxy import FastRoutes

    app.add_middleware(FastRoutes)  # added first, so it runs inside FilingHeader
    app.add_middleware(FilingHeader)
    app.mount("/static", StaticFiles(directory=str(console_dir / "static")), name="static")
    return app
