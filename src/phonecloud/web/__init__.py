"""The web app: server-rendered pages over the same services as the API, with a little plain JavaScript."""
