"""`phonecloud pull DIR`: the library mirrored into a local folder (mirror.py), with its memory (state.py) and
the thread that makes downloads durable and records them (checkpoints.py). Pure Python."""
