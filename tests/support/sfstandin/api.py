"""The data API's routes, assembled from the resource modules."""

from __future__ import annotations

from sfstandin import bulk, collections, composite, queries, sobjects
from sfstandin.rest import Router


def build_router() -> Router:
    router = Router()
    sobjects.register(router)
    queries.register(router)
    collections.register(router)
    composite.register(router)
    bulk.register(router)
    return router
