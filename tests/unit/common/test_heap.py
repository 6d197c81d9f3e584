"""Start-up objects leave the garbage collector's reach once per process (in a fresh interpreter, since the
test process may already have frozen its own)."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import gc, json
from common.heap import freeze_startup_heap
start_up = [{"kept": [index]} for index in range(200_000)]
tracked_before = len(gc.get_objects())
freeze_startup_heap()
frozen, tracked_after = gc.get_freeze_count(), len(gc.get_objects())
later = [{"made": [index]} for index in range(1000)]
freeze_startup_heap()
print(json.dumps({"frozen": frozen, "again": gc.get_freeze_count(), "before": tracked_before, "after": tracked_after}))
"""


def test_the_first_call_freezes_start_up_objects_and_full_collections_skip_them() -> None:
    found = json.loads(subprocess.run([sys.executable, "-c", PROBE], capture_output=True, check=True).stdout)
    assert found["frozen"] >= 400_000  # the 200,000 dicts and their lists
    assert found["before"] >= 400_000
    assert found["after"] < 1_000  # what a collection walks: none of the start-up objects
    assert found["again"] == found["frozen"]  # a second call freezes nothing more
