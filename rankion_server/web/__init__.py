"""The web app: the gallery, image pages, trash and the editorial calendar in the browser.

Pages are Jinja2 templates rendered by the server (``pages``), the few interactive
parts small ES modules under ``static/`` that call the same ``/v1`` API an integrator
calls, signed in by the session cookie (``session``) instead of a bearer token.
"""
