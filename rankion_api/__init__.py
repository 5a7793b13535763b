"""The API's request bodies and response shapes as attrs classes.

Shared by the server and the client (``rankion_client.models`` re-exports them); they
import only attrs and the core, so the client does not pull in the server.

They are the single source for validation (``rankion_server.convert``), for rendering
(``rankion_server.render``) and for the OpenAPI document (``rankion_server.jsonschema``).
Naming: request bodies end in ``Body``; response shapes end in ``Out`` (the suffix is
dropped in the OpenAPI component name). A field with a default is optional in a
request; response classes have no defaults, so every key is always present.
"""
