"""`phonecloud migrate --to TARGET`: a library moved straight into another service, item by item, each
item verified on the target and recorded, so that a second run sends only what is missing or failed.

source.py reads the library being moved (a phonecloud server); record.py is the per-item record kept in the
client's folder; engine.py plans, sends and verifies; each target (to_phonecloud.py, to_rclone.py) says
what it already holds, takes an item's bytes, reads back what it stored and takes the library's metadata.
"""
