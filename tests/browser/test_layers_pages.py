"""Layers in Chromium against a real server: the layers page uploads a zip (and refuses a bad one
with the reason), the playground's Layers panel attaches, orders and detaches layers, and the
handler imports from them, the bundled numpy layer included. Screenshots at 1366x900, 1280x720
and 390x844 under tests/artifacts/, with nothing wider than the screen."""

import re
import stat
import textwrap
import zipfile

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import history_rows, log_line, new_function, set_editor
from tests.browser.test_pages_fit import SIZES, no_horizontal_overflow
from tests.layer_support import make_zip

pytestmark = pytest.mark.browser

USES_LAYERS = textwrap.dedent(
    """
    import greeting
    import numpy  # in the init phase, which has a full vCPU (an import in the handler at 128 MB is slow)

    def handler(event, context):
        print(greeting.hello(), "numpy", numpy.__version__)
        return {"greeting": greeting.hello()}
    """
).lstrip()


def layer_rows(page):
    return page.locator("#layers-panel .layer-row")


def upload(page, tmp_path, name, data):
    path = tmp_path / f"{name}.zip"
    path.write_bytes(data)
    page.goto("/layers/")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Zip file").set_input_files(str(path))
    page.get_by_role("button", name="Publish version").click()


def attach(page, label):
    option = page.locator("#layers-panel select[name=arn] option").filter(
        has_text=re.compile(rf"^{re.escape(label)} ")
    )
    page.locator("#layers-panel select[name=arn]").select_option(option.get_attribute("value"))
    count = layer_rows(page).count()
    page.locator("#layers-panel button[value=attach]").click()
    expect(layer_rows(page)).to_have_count(count + 1)


def invoke(page, runs):
    page.locator("#invoke-btn").click()
    expect(history_rows(page)).to_have_count(runs, timeout=30_000)
    expect(page.locator("#invoke-btn")).to_be_enabled()


def test_upload_attach_order_invoke_and_detach(page, open_page, artifacts, tmp_path):
    page.goto("/")
    page.get_by_role("link", name="Layers").first.click()
    expect(page.locator("h1")).to_have_text("Layers")
    expect(page.locator(".layer-versions")).to_contain_text("coldstart-numpy")

    link = zipfile.ZipInfo("python/passwd")
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    upload(page, tmp_path, "sneaky", make_zip((link, b"/etc/passwd")))
    expect(page.locator("#upload-error")).to_contain_text("symbolic link")
    expect(page.get_by_label("Name")).to_have_value("sneaky")  # what was typed stays
    page.screenshot(path=artifacts / "layers-refused.png", full_page=True)

    upload(page, tmp_path, "greeting", make_zip(("python/greeting.py", "def hello():\n    return 'hi'\n")))
    expect(page.locator("#published")).to_contain_text(":layer:greeting:1")
    expect(page.locator(".layer-versions").first).to_contain_text("greeting")
    assert "sneaky" not in page.locator(".layer-lists").inner_text()

    new_function(page, "layered")
    set_editor(page, "#code", USES_LAYERS)
    page.locator("#layers-panel > summary").click()
    attach(page, "greeting:1")
    attach(page, "coldstart-numpy:1")
    expect(page.locator("#layers-panel")).to_contain_text("The next invocation starts a new environment")
    names = layer_rows(page).locator(".layer-name code")
    expect(names).to_have_text(["greeting:1", "coldstart-numpy:1"])
    page.get_by_role("button", name="Move coldstart-numpy up").click()
    expect(names).to_have_text(["coldstart-numpy:1", "greeting:1"])
    expect(page.locator("#layers-panel > summary")).to_contain_text("Layers (2)")

    invoke(page, 1)
    expect(page.locator("#result-panel[data-status=ok]")).to_be_visible()
    expect(log_line(page, "hi numpy 2.4.6")).to_be_visible()
    assert "Init Duration:" in page.locator("#log-lines .log-report").inner_text()
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        page.locator("#layers-panel").scroll_into_view_if_needed()
        no_horizontal_overflow(page, f"playground with layers at {width}x{height}")
        page.screenshot(path=artifacts / f"layers-panel-{width}x{height}.png", full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})

    page.get_by_role("button", name="Detach greeting").click()
    expect(names).to_have_text(["coldstart-numpy:1"])
    invoke(page, 2)
    expect(page.locator("#result-panel[data-status=error]")).to_contain_text("Runtime.ImportModuleError")

    page.reload()  # the order and the list were saved
    page.locator("#layers-panel > summary").click()
    expect(names).to_have_text(["coldstart-numpy:1"])

    for url, name in (("/layers/", "layers-page"), ("/", "layers-home")):
        for width, height in SIZES:
            page.set_viewport_size({"width": width, "height": height})
            page.goto(url)
            no_horizontal_overflow(page, f"{url} at {width}x{height}")
            page.screenshot(path=artifacts / f"{name}-{width}x{height}.png", full_page=True)

    dark = open_page(390, 844, color_scheme="dark")
    dark.goto("/layers/")
    expect(dark.locator(".layer-versions")).to_contain_text("coldstart-numpy")
    no_horizontal_overflow(dark, "/layers/ in the dark theme")
    dark.screenshot(path=artifacts / "layers-page-390x844-dark.png", full_page=True)
