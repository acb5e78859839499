"""Taking everything out: export archives laid out like Google Takeout (server side), and the client's
`phonecloud export`, `phonecloud pull` and `phonecloud import-export`.

The modules the client uses (zipformat, takeout, manifest, index_page, client_api, download, progress,
export_client, pull, pull_state, archive, importer) import nothing of the server's: the base install runs them.
"""
