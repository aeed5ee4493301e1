"""Figures the fleet scenarios measure, kept in a JSON file under .cache/fleet/ for the closing report."""

import json
from pathlib import Path


def record(path: Path, key, value):
    """Store *value* under *key* in the JSON file *path* (created when missing) and print it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(path.read_text()) if path.exists() else {}
    data[key] = value
    path.write_text(json.dumps(data, indent=2) + "\n")
    print(f"MEASURED {key}: {value}")
