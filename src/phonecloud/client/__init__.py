"""The client: `phonecloud login`, `sync`, `export`, `pull` and `import-export`. Pure Python, the base install
(httpx, typer, rich, watchdog): nothing here imports the server's packages or a private name from outside
this package (tests/client/test_client_package.py checks both).

- config.py: the connection (flags, environment, saved login) and the client's folder;
- errors.py: the one set of failure rules: ServerError with the server's message, what is retried, how long;
- api.py: the one API client (httpx), for every command; bulk.py: its stdlib fast path for download bodies;
- download.py: resumable, verified downloads into .partial files; progress.py: what the person sees;
- sync/: backing up folders; pull/: the mirror; export.py: an export's parts; importer.py: re-import.
"""
