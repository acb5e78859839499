"""The map of the owner's photos that have a place: clusters made in the database on a Web Mercator grid
(repository), the box and zoom checked and the grid laid out (service), served at /api/v1/map/clusters
(routes) and drawn by the /map page (gallery/web/map.py)."""
