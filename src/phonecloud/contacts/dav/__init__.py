"""CardDAV: Radicale's protocol handling over phonecloud's contacts (a storage plugin), behind phonecloud's own
sign-in (front.py)."""
