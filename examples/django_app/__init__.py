"""A Django app with Rankion inside, through the sync facade: ``settings.py`` (the
least Django needs) and ``urls.py`` (the facade, the views, the routes)."""
