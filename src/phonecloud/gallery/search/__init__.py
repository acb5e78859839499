"""Search of a user's photos and videos: by capture days, place (reverse-geocoded offline), camera, file name,
album, favourite and kind, and by words over all of these (service.py; the page is gallery/web/search.py)."""
