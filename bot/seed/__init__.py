"""Demo and fixture data for local development, demonstrations and tests."""
