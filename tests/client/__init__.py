"""The client's commands (`phonecloud login`, `sync`, `export`, `pull`, `import-export`) run as subprocesses
against real servers, and the client package's own rules (a base install without the server's packages)."""
