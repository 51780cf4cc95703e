"""Getting the extension from the site alone: the /extension/ page, its zip, and the links to it."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import zipfile
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from accounts.extension_download import extension_zip
from accounts.models import User
from scripts.package_extension import SOURCE
from tests.factories import make_user

pytestmark = pytest.mark.django_db

PAGE = reverse("get_extension")
DOWNLOAD = reverse("download_extension")


def test_the_page_offers_the_zip_with_the_load_unpacked_steps_without_an_account(client: Client) -> None:
    page = client.get(PAGE).content.decode()

    assert "Not in the Chrome Web Store yet" in page
    assert f'href="{DOWNLOAD}"' in page
    for step in ("Unzip", "chrome://extensions", "Developer mode", "Load unpacked", "pin S.M.I.L.E", "Pair"):
        assert step in page, step
    assert "http://testserver" in page, "the server address to type in the options"


def test_the_download_is_the_extension_to_load_unpacked_with_its_development_id(client: Client) -> None:
    response = client.get(DOWNLOAD)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    source_manifest = json.loads((SOURCE / "manifest.json").read_text())
    assert f'filename="smile-extension-{source_manifest["version"]}-unpacked.zip"' in response["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert archive.testzip() is None
        assert json.loads(archive.read("manifest.json")) == source_manifest, "the key pins the id the server accepts"
        names = set(archive.namelist())
    assert {"background.js", "offscreen.js", "options.html", "lib/protocol.js", "icons/icon128.png"} <= names
    assert not any(name.startswith("tests/") or name == "package.json" for name in names)


def test_the_zip_is_built_again_when_the_extension_changes(tmp_path: Path) -> None:
    source = tmp_path / "extension"
    shutil.copytree(SOURCE, source)
    first = extension_zip(source)
    assert extension_zip(source) is first, "kept in memory between requests"

    (source / "popup.js").write_text("// changed\n")
    later = os.stat(source / "popup.js").st_mtime + 5
    os.utime(source / "popup.js", (later, later))

    rebuilt = extension_zip(source)
    assert rebuilt is not first
    with zipfile.ZipFile(io.BytesIO(rebuilt.data)) as archive:
        assert archive.read("popup.js") == b"// changed\n"


def test_a_server_that_does_not_accept_the_downloaded_extension_says_so(client: Client, settings) -> None:
    settings.SMILE_EXTENSION_IDS = ["store-id-of-another-build"]

    page = client.get(PAGE).content.decode()

    assert "does not accept the downloaded extension yet" in page
    assert "SMILE_EXTENSION_IDS" in page


@pytest.mark.parametrize("url_name", ["dashboard", "devices"])
def test_the_first_steps_link_to_the_extension_page(client: Client, url_name: str) -> None:
    user: User = make_user()
    client.force_login(user)

    page = client.get(reverse(url_name)).content.decode()

    main = page[page.index("<main") : page.index("</main>")]
    assert f'href="{PAGE}"' in main, "in the empty state, not only in the footer"


@pytest.mark.parametrize("url_name", ["home", "dashboard", "devices", "get_extension"])
def test_no_page_links_to_a_store_listing_that_does_not_exist(client: Client, url_name: str) -> None:
    client.force_login(make_user())

    page = client.get(reverse(url_name)).content.decode()

    assert not re.search(r"chrome\.google\.com/webstore|chromewebstore\.google\.com", page)
    assert f'href="{PAGE}"' in page
