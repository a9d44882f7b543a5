import json
import os

import pytest

from conftest import DATA
from mixcon_tools import mixc_format as mf
from mixcon_tools.damaged import make_damaged
from mixcon_tools.errors import MixcError

DIR = os.path.join(DATA, "damaged")
MANIFEST = json.load(open(os.path.join(DIR, "manifest.json")))


@pytest.mark.parametrize("entry", MANIFEST["files"], ids=lambda e: e["file"])
def test_reader_rejects_with_manifest_status(entry):
    path = os.path.join(DIR, entry["file"])
    if entry["status"] == "OK":
        mf.read_file(path)
        return
    with pytest.raises(MixcError) as e:
        mf.read_file(path)
    assert e.value.status == entry["status"]
    assert entry["message_contains"].lower() in e.value.message.lower()
    assert entry["file"] in e.value.message          # the message names the file


def test_damaged_files_regenerate_identically(tmp_path):
    make_damaged(str(tmp_path), log=lambda m: None)
    for entry in MANIFEST["files"]:
        assert (tmp_path / entry["file"]).read_bytes() == open(os.path.join(DIR, entry["file"]), "rb").read(), entry["file"]
