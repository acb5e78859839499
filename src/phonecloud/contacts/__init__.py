"""Contacts: the third kind of user data, synced live over CardDAV and imported from every vCard dialect."""
