"""`phonecloud sync`: backs up folders of photos and videos to a phonecloud server. Pure Python."""
