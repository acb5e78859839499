"""Media: recognising photos and videos by their bytes (and, later, metadata and derivatives)."""
