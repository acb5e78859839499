"""Taking everything out: export archives laid out like Google Takeout (server side). The client's `phonecloud
export`, `pull` and `import-export` are in phonecloud.client; the modules it shares with this package
(takeout, manifest, archive) import nothing of the server's: the base install runs them.
"""
