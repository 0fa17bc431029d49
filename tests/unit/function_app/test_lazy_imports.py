"""Importing a function folder does not import what only some paths need: `azure.identity`
(identity connections), twilio's REST client (the first Twilio request), azure-storage-queue
and the aiohttp it pulls in (the first event published). A structural check in a fresh
interpreter per folder; how long an import takes is the benchmark's business (`bench/`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
FOLDERS = ("send_sms", "send_call", "twiml_voice", "status_callback", "status_sweeper")
DEFERRED = ("azure.identity", "twilio.rest", "azure.storage.queue", "aiohttp")
PROBE = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
print(json.dumps(sorted(sys.modules)))
"""


def test_the_function_folders_are_the_ones_checked() -> None:
    folders = {path.parent.name for path in REPO_ROOT.glob("*/function.json")}
    assert folders == set(FOLDERS)


@pytest.mark.parametrize("folder", FOLDERS)
def test_importing_a_folder_leaves_the_deferred_packages_unimported(folder: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, folder],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    imported = set(json.loads(result.stdout))
    assert {folder, "azure.data.tables"} <= imported  # the probe sees what the folder imports
    loaded = sorted(
        name for name in imported if any(name == d or name.startswith(d + ".") for d in DEFERRED)
    )
    assert loaded == [], f"import {folder} imported {loaded}"
