"""A district (SP office) over its stations: stations' bundles imported and verified, witnessed checkpoints, district views."""
