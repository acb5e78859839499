"""Moving a library to another service from the web app: a job inside the server that runs the client's
migration (phonecloud.client.migrate) over the gallery's own services."""
