"""A student completes lesson 1's first step in Chromium against a real server and sandbox; the
instructor watches the dashboard update live, then puts the function on the projector."""

import re
import textwrap

import pytest
from playwright.sync_api import expect

from tests.lessons_browser.conftest import INSTRUCTOR

pytestmark = pytest.mark.browser

GREET_BY_NAME = textwrap.dedent(
    """
    def handler(event, context):
        name = event.get("name", "world")
        print("Greeting", name)
        return {"statusCode": 200, "body": f"Hello, {name}!"}
    """
).lstrip()


def sign_in_instructor(page):
    page.goto("/instructor/login")
    page.get_by_label("Username").fill(INSTRUCTOR[0])
    page.get_by_label("Password").fill(INSTRUCTOR[1])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/instructor/$"))


def test_a_student_completes_lesson_one_step_one_while_the_instructor_watches(new_page, artifacts):
    teacher = new_page()
    sign_in_instructor(teacher)
    teacher.get_by_label("Classroom name").fill("Cloud 101 — Tuesday")
    teacher.get_by_role("button", name="Create classroom").click()
    teacher.wait_for_url(re.compile(r"/instructor/classrooms/\w+/$"))
    code = teacher.locator("#join-code").inner_text()

    student = new_page()
    student.goto("/lessons/join")
    student.get_by_label("Join code").fill(code)
    student.get_by_label("Your name").fill("Ada Lovelace")
    student.get_by_role("button", name="Join", exact=True).click()
    student.wait_for_url(re.compile(r"/lessons/$"))
    expect(student.get_by_text("You joined Cloud 101 — Tuesday as Ada Lovelace")).to_be_visible()

    student.get_by_role("link", name=re.compile("Your first function")).click()
    student.wait_for_url(re.compile(r"/lessons/first-function/1/$"))
    expect(student.locator("h1.step-title")).to_have_text("Step 1: Say hello to someone")
    expect(student.locator(".step-nav li").nth(1)).to_have_class(re.compile("locked"))
    frame = student.frame_locator("#playground-frame")
    expect(frame.locator("#connection[data-state=open]")).to_be_attached()
    expect(student.locator("body[data-playground=ready]")).to_be_attached()

    # Checking the starter fails kindly, with a hint.
    student.get_by_role("button", name="Check").click()
    failure = student.locator("#check-result .check-fail")
    expect(failure).to_contain_text("The body should greet the person in the event by name")
    expect(failure).to_contain_text("Hint:")

    # The teacher's grid picks up the attempt without a reload.
    expect(teacher.locator("td.cell-attempted")).to_have_count(1)

    # Edit in the embedded CodeMirror, set the event, invoke over the WebSocket.
    frame.locator("#code").evaluate("(el, code) => window.ColdstartEditor.setValue(el, code)", GREET_BY_NAME)
    frame.locator("#event").evaluate('(el) => window.ColdstartEditor.setValue(el, \'{"name": "Ada"}\')')
    frame.locator("#invoke-btn").click()
    expect(frame.locator("#log-lines")).to_contain_text("Greeting Ada")
    expect(frame.locator("#log-lines")).to_contain_text(re.compile(r"REPORT RequestId: .*Init Duration"))

    student.get_by_role("button", name="Check").click()
    passed = student.locator("#check-result .check-pass")
    expect(passed).to_contain_text("Passed")
    expect(student.locator(".step-nav li").nth(0)).to_have_class(re.compile("passed"))
    expect(student.locator(".step-nav li").nth(1)).not_to_have_class(re.compile("locked"))
    frame.locator("body").evaluate("() => window.scrollTo(0, 0)")
    passed.scroll_into_view_if_needed()
    student.screenshot(path=str(artifacts / "lesson-step-passed.png"))

    # The dashboard shows the pass (htmx polling, no reload) and the class's usage.
    expect(teacher.locator("td.cell-passed")).to_have_count(1)
    expect(teacher.locator('[data-stat="students"]')).to_have_text("1")
    expect(teacher.locator('[data-stat="invocations"]')).not_to_have_text("0")
    teacher.screenshot(path=str(artifacts / "lesson-dashboard.png"), full_page=True)

    # Next step unlocks and opens; the lesson list shows the lesson in progress.
    student.locator("#next-step").click()
    student.wait_for_url(re.compile(r"/lessons/first-function/2/$"))
    expect(student.locator("h1.step-title")).to_have_text("Step 2: Read the REPORT line")
    student.screenshot(path=str(artifacts / "lesson-step-two.png"))
    student.goto("/lessons/")
    expect(student.locator(".lesson-card").first).to_contain_text("In progress · 1/3")
    student.screenshot(path=str(artifacts / "lesson-list.png"), full_page=True)

    # Demo mode of the student's function, on the instructor's projector.
    slug = frame_slug(student)
    projector = new_page(1920, 1080)
    sign_in_instructor(projector)
    projector.goto(f"/demo/{slug}/")
    expect(projector.locator("#demo-url")).to_contain_text(f"/fn/{slug}/")
    expect(projector.locator(".demo-qr svg")).to_be_visible()
    expect(projector.locator('[data-stat="invocations"]')).to_have_text(re.compile(r"^[1-9]\d*$"))
    expect(projector.locator("#demo-empty")).to_be_hidden()
    projector.screenshot(path=str(artifacts / "lesson-demo-mode.png"))

    # The scaling page still draws with the shared functions of scale.js.
    student.goto(f"/functions/{slug}/scale/")
    expect(student.locator('#stats [data-stat="invocations"]')).to_have_text(re.compile(r"^[1-9]\d*$"))
    expect(student.locator("#timeline-empty")).to_be_hidden()

    # Authoring: the instructor previews a lesson directory and runs its checks.
    teacher.goto("/instructor/authoring/first-function/")
    expect(teacher.locator("#validation")).to_contain_text("Valid: 3 steps")
    teacher.get_by_role("button", name=re.compile("Run the checks")).click()
    # Solutions, starters, the authors' cheats and cheats made from the text: all as expected.
    expect(teacher.locator("#run-results li.good").first).to_be_visible(timeout=90_000)
    expect(teacher.locator("#run-results li.bad")).to_have_count(0)
    assert teacher.locator("#run-results li.good").count() >= 9
    teacher.screenshot(path=str(artifacts / "lesson-authoring.png"))


def frame_slug(page):
    page.goto("/lessons/first-function/1/")
    src = page.locator("#playground-frame").get_attribute("src")
    assert src
    frame = page.frame_locator("#playground-frame")
    return frame.locator(".playground").get_attribute("data-slug")
