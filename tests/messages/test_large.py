"""Large files are read in bounded memory: a child process reads one and reports its peak memory growth."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from messages.backup_files import write_large_ie, write_large_sbr

MEMORY_BOUND = 100 << 20  # generous: reading keeps one record, one tag and one attachment at a time
READ_ALL = textwrap.dedent("""
    import resource, sys
    from phonecloud.messages.formats import sms_backup_restore, sms_ie
    records = {"sms-backup-restore": sms_backup_restore.read_messages, "sms-ie": sms_ie.read_messages}[sys.argv[1]]
    records = records(sys.argv[2])
    count = 1 if next(records) else 0  # the modules are loaded and the reader is started
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    count += sum(1 for record in records)
    print(count, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024)
""")


def peak_growth_reading(reader: str, path) -> tuple[int, int]:
    """(records read, growth of the peak resident memory in bytes) of a process that reads them all."""
    done = subprocess.run([sys.executable, "-c", READ_ALL, reader, str(path)], capture_output=True, text=True,
                          check=True)
    count, growth = done.stdout.split()
    return int(count), int(growth)


@pytest.mark.parametrize(("reader", "write", "size"), [
    ("sms-backup-restore", write_large_sbr, 200 << 20),
    ("sms-ie", write_large_ie, 100 << 20),
])
def test_a_large_file_is_read_in_bounded_memory(tmp_path, reader, write, size):
    path = tmp_path / "large"
    count = write(path, size)
    assert path.stat().st_size > size // 2
    read, growth = peak_growth_reading(reader, path)
    assert read == count
    assert growth < MEMORY_BOUND, f"peak memory grew by {growth >> 20} MiB reading {path.stat().st_size >> 20} MiB"
