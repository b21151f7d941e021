"""The HTTP API: app factory, routers, request/response schemas, middleware. FastAPI stops here."""
