"""Messages: SMS, MMS and call logs backed up from phones, as a kind of user data (kind.py); the backup apps'
file formats in `formats`."""
