"""The web app (FastAPI): `jiareg.web.app.create_app(db_url)`; see docs/how-to/web.md."""
