"""The contacts kind's web pages: the list with search, a contact's card, editing, importing, downloading, and
the settings a phone needs to sync over CardDAV."""
