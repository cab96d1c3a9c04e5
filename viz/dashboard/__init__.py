"""Officer dashboards and public display boards: Bokeh documents served by the API app."""

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from viz.dashboard.page import BOKEH_MOUNT, bokeh_static
from viz.dashboard.routes import router

__all__ = ["install_dashboards"]


def install_dashboards(app: FastAPI) -> None:
    """Add the dashboard and board routes, and serve BokehJS from the bokeh package."""
    app.include_router(router)
    app.mount(BOKEH_MOUNT, StaticFiles(directory=bokeh_static()), name="bokeh")
