"""The least a Django app needs, and where its gallery keeps its data."""

import os
from pathlib import Path

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "change me")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
ROOT_URLCONF = "django_app.urls"
USE_TZ = True

#: Rankion's SQLite file and blob folder, the app's public URL (its signed links point
#: here), the secret that signs them
GALLERY_DATA = Path(os.environ.get("GALLERY_DATA", "gallery-data"))
GALLERY_URL = os.environ.get("GALLERY_URL", "http://127.0.0.1:8000")
GALLERY_SECRET = os.environ.get("GALLERY_SECRET", "change me: 16 bytes or more").encode()
