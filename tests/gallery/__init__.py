"""The gallery: uploads of photos and videos, listings, originals, albums."""
