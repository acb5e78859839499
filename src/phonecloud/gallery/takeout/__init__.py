"""Google Takeout imported on the server: zip parts uploaded (plain or resumable) through the general intake,
or read from a folder the administrator names, then one job reads them all in place, with the same sidecar
matching as `phonecloud import takeout` (client/importer.py), into the caller's gallery."""
