"""A student's phone joins a classroom by scanning the dashboard's QR code and passes a lesson
step, all through the classroom's LAN name, while the teacher's browser is on 127.0.0.1."""

import re
import textwrap

import pytest
from playwright.sync_api import expect

from tests.classroom_browser.conftest import INSTRUCTOR, LAN_NAME
from tests.qr_decode import decode_png

pytestmark = pytest.mark.browser

GREET_BY_NAME = textwrap.dedent(
    """
    def handler(event, context):
        name = event.get("name", "world")
        print("Greeting", name)
        return {"statusCode": 200, "body": f"Hello, {name}!"}
    """
).lstrip()


def scan(locator):
    """What a phone's camera reads from the QR code on the screen."""
    texts = decode_png(locator.screenshot())
    assert len(texts) == 1, f"expected one QR code, read {texts}"
    return texts[0]


def test_a_phone_scans_the_join_code_and_passes_a_step_through_the_lan_name(
    classroom_server, new_context, artifacts
):
    local = classroom_server.url  # http://127.0.0.1:<port>: the teacher's browser, on the server
    public = f"http://{LAN_NAME}:{local.rsplit(':', 1)[1]}"

    teacher = new_context(base_url=local).new_page()
    teacher.goto("/instructor/login")
    teacher.get_by_label("Username").fill(INSTRUCTOR[0])
    teacher.get_by_label("Password").fill(INSTRUCTOR[1])
    teacher.get_by_role("button", name="Sign in").click()
    teacher.get_by_label("Classroom name").fill("Room 12")
    teacher.get_by_role("button", name="Create classroom").click()
    teacher.wait_for_url(re.compile(r"/instructor/classrooms/\w+/$"))
    code = teacher.locator("#join-code").inner_text()
    join_url = f"{public}/lessons/join?code={code}"
    expect(teacher.get_by_role("link", name=join_url)).to_have_attribute("href", join_url)
    assert scan(teacher.locator(".join-qr svg")) == join_url
    for width, height in ((1366, 900), (1280, 720)):
        teacher.set_viewport_size({"width": width, "height": height})
        teacher.screenshot(path=str(artifacts / f"classroom-dashboard-lan-{width}.png"))

    phone = new_context(width=390, height=844, is_mobile=True, has_touch=True).new_page()
    errors = []
    phone.on("pageerror", lambda exc: errors.append(str(exc)))
    phone.goto(scan(teacher.locator(".join-qr svg")))
    expect(phone.get_by_label("Join code")).to_have_value(code)
    phone.screenshot(path=str(artifacts / "classroom-join-phone.png"))
    phone.get_by_label("Your name").fill("Grace Hopper")
    phone.get_by_role("button", name="Join", exact=True).click()
    phone.wait_for_url(f"{public}/lessons/")
    expect(phone.get_by_text("You joined Room 12 as Grace Hopper")).to_be_visible()

    phone.goto(f"{public}/lessons/first-function/1/")
    frame = phone.frame_locator("#playground-frame")
    expect(frame.locator("#connection[data-state=open]")).to_be_attached()  # WebSocket via the LAN name
    expect(frame.locator("#insecure-hint")).to_be_visible()  # plain HTTP on a network address
    assert phone.evaluate("window.crossOriginIsolated") is False
    frame.locator("#code").evaluate("(el, code) => window.ColdstartEditor.setValue(el, code)", GREET_BY_NAME)
    frame.locator("#event").evaluate('(el) => window.ColdstartEditor.setValue(el, \'{"name": "Ada"}\')')
    frame.locator("#invoke-btn").click()
    expect(frame.locator("#log-lines")).to_contain_text("Greeting Ada")
    phone.get_by_role("button", name="Check").click()
    expect(phone.locator("#check-result .check-pass")).to_contain_text("Passed")
    phone.screenshot(path=str(artifacts / "classroom-step-passed-phone.png"))

    # The browser mode's note, on the playground itself.
    frame.get_by_label("my browser").check()
    expect(frame.locator("#insecure-note")).to_be_visible()
    expect(frame.locator("#insecure-note")).to_contain_text("SharedArrayBuffer")
    phone.screenshot(path=str(artifacts / "classroom-browser-mode-note-phone.png"))
    slug = frame.locator(".playground").get_attribute("data-slug")
    playground = phone.context.new_page()
    playground.goto(f"{public}/functions/{slug}/")
    expect(playground.locator("#insecure-hint")).to_be_visible()
    for width, height in ((1366, 900), (1280, 720), (390, 844)):
        playground.set_viewport_size({"width": width, "height": height})
        playground.screenshot(path=str(artifacts / f"classroom-playground-lan-{width}.png"))
    playground.close()

    # The teacher projects the student's function: its URL and QR code are at the LAN name too,
    # and the phone calls it there.
    expect(teacher.locator("td.cell-passed")).to_have_count(1)
    teacher.goto(f"/demo/{slug}/")
    function_url = f"{public}/fn/{slug}/"
    expect(teacher.locator("#demo-url")).to_have_text(function_url)
    assert scan(teacher.locator(".demo-qr svg")) == function_url
    response = phone.goto(function_url)  # through Chromium, whose resolver knows the LAN name
    assert (response.status, response.text()) == (200, "Hello, world!")
    assert not errors, f"JavaScript errors on the phone: {errors}"
